"""The store's face: import from here, never from the store's own modules.

``Store`` (``store.py``) is what the rest of the backend calls; the values it takes and
gives back are in ``types.py``; ``SqliteStore`` is the embedded implementation, named only
where a store is opened. import-linter checks that nothing outside ``backend.store``
imports anything else of it (``pyproject.toml``).
"""

from backend.store.reports import ReportFilters
from backend.store.sqlite import SqliteStore
from backend.store.store import Store
from backend.store.types import (
    Call,
    Change,
    ChannelSecret,
    CommittedEvent,
    Counts,
    Echo,
    EventPage,
    FilledTemplate,
    GroupMessage,
    IdentityChange,
    InboundRecord,
    IngestResult,
    MediaFile,
    MediaJob,
    MediaSpec,
    OutboundMedia,
    OutboundRequest,
    OutboxJob,
    Outcome,
    PricingRules,
    Recipient,
    Sender,
    SendResult,
    StatusOutcome,
    StatusRecord,
    StatusResult,
    TemplateDefinition,
    TemplateStatus,
    TemplateValue,
    UsageRules,
)
from backend.store.views import COUNTS_TRIGGERS, ThreadFilter

__all__ = [
    "COUNTS_TRIGGERS",
    "Call",
    "Change",
    "Counts",
    "Echo",
    "GroupMessage",
    "TemplateDefinition",
    "TemplateStatus",
    "TemplateValue",
    "ChannelSecret",
    "CommittedEvent",
    "EventPage",
    "FilledTemplate",
    "IdentityChange",
    "InboundRecord",
    "IngestResult",
    "MediaFile",
    "MediaJob",
    "MediaSpec",
    "OutboundMedia",
    "OutboundRequest",
    "OutboxJob",
    "Outcome",
    "PricingRules",
    "Recipient",
    "ReportFilters",
    "SendResult",
    "Sender",
    "SqliteStore",
    "StatusOutcome",
    "StatusRecord",
    "StatusResult",
    "Store",
    "ThreadFilter",
    "UsageRules",
]
