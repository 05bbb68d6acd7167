"""The store's face: import from here, never from the store's own modules.

``Store`` (``store.py``) is what the rest of the backend calls; the values it takes and
gives back are in ``types.py``; ``SqliteStore`` is the embedded implementation, named only
where a store is opened. import-linter checks that nothing outside ``backend.store``
imports anything else of it (``pyproject.toml``).

``PostgresStore`` and ``CopyError`` are loaded on first use (PEP 562): they bring
psycopg, which a SQLite database never needs (~0.7 s of every command's start-up).
"""

import importlib
from typing import TYPE_CHECKING, Any

from backend.store.reports import ReportFilters
from backend.store.sqlite import SqliteStore
from backend.store.sqlite_library import memory_statistics_off
from backend.store.store import Store
from backend.store.types import (
    Call,
    Change,
    ChannelSecret,
    CommittedEvent,
    Counts,
    Echo,
    EmailFile,
    EmailJob,
    EmailJobFile,
    EmailRecord,
    EventPage,
    FilledTemplate,
    GroupMessage,
    IdentityChange,
    InboundRecord,
    IngestResult,
    Lease,
    Mailbox,
    MailboxConnection,
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

if TYPE_CHECKING:
    from backend.store.pg_copy import CopyError
    from backend.store.postgres import PostgresStore

_POSTGRESQL_NAMES = {"CopyError": "pg_copy", "PostgresStore": "postgres"}


def __getattr__(name: str) -> Any:
    module = _POSTGRESQL_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain one
    return value


__all__ = [
    "COUNTS_TRIGGERS",
    "Call",
    "Change",
    "CopyError",
    "Counts",
    "Echo",
    "GroupMessage",
    "TemplateDefinition",
    "TemplateStatus",
    "TemplateValue",
    "ChannelSecret",
    "CommittedEvent",
    "Mailbox",
    "MailboxConnection",
    "EmailFile",
    "EmailJob",
    "EmailJobFile",
    "EmailRecord",
    "EventPage",
    "FilledTemplate",
    "IdentityChange",
    "InboundRecord",
    "IngestResult",
    "Lease",
    "MediaFile",
    "MediaJob",
    "MediaSpec",
    "OutboundMedia",
    "OutboundRequest",
    "OutboxJob",
    "Outcome",
    "PostgresStore",
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
    "memory_statistics_off",
]
