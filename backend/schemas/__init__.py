# ruff: noqa: F401  (the TYPE_CHECKING imports below are this package's names)
"""Wire models: every request, response and WebSocket event of the v1 API.

Shared by the backend and the TUI. This package imports nothing of the backend, so the
TUI can depend on it without pulling in the server stack. Enumerated strings are
``StrEnum``s; timestamps are timezone-aware UTC datetimes.

The models live in one module per topic (``backend.schemas.threads``, ``.messages``…) and
are imported from here, ``from backend.schemas import Thread``: a name is looked up in its
module the first time it is asked for (PEP 562), so a program makes only the models it
uses. Making a model costs (~0.4 ms each, ~100 of them): the inbox's first frame needs the
agents, threads, views, usage and live ones, not the messages, records, channels,
templates or reports ones, which it makes when it first uses them.

Annotations are evaluated as the classes are made (no ``from __future__ import
annotations``): pydantic would otherwise compile and evaluate every field's annotation from
its string, a quarter of what making these classes costs the inbox's start. A model that
names one defined further down quotes that annotation.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from backend.schemas.agents import Agent, AgentCreate, AgentCreated, MeUpdate
    from backend.schemas.audit import AuditEntry, RevealedContent
    from backend.schemas.base import (
        API_PREFIX,
        EVENT_SEQ_HEADER,
        ErrorBody,
        ErrorEnvelope,
        Health,
        Page,
        ResponseModel,
        T,
        WireModel,
    )
    from backend.schemas.channels import (
        MAIL_HOST,
        AvailablePhoneNumber,
        BusinessDetails,
        BusinessProfile,
        Channel,
        ChannelCreate,
        EmailMailbox,
        MailboxCreate,
        MailboxState,
        MailboxUpdate,
        PhoneNumber,
        PhoneNumberAdd,
        RequestCode,
        VerifyCode,
    )
    from backend.schemas.enums import (
        MEDIA_KINDS,
        Availability,
        ChannelStatus,
        ChannelType,
        DeliveryStatus,
        Direction,
        EventType,
        FilterOperator,
        InsertKind,
        MediaState,
        MessageKind,
        NotificationChoice,
        PhoneDestination,
        PresenceState,
        Role,
        TicketPriority,
        TicketStatus,
        ViewSharing,
    )
    from backend.schemas.live import ClientPresence, Event, Presence, Resync
    from backend.schemas.messages import (
        WHATSAPP_CAPTION,
        AdReferral,
        Draft,
        DraftUpdate,
        EmailAuth,
        EmailDetails,
        EmailSource,
        FormField,
        GroupSender,
        Location,
        Media,
        Message,
        MessagePricing,
        OrderItem,
        QuotedMessage,
        Reaction,
        ReferredProduct,
        SendBody,
        SendMedia,
        SendMessage,
        SendNote,
        SendReaction,
        SendRequest,
        SendTemplate,
        SendText,
        SharedContact,
        StartedConversation,
        TemplateSend,
        TemplateValues,
        UploadedMedia,
    )
    from backend.schemas.records import (
        Company,
        CompanySummary,
        Contact,
        ContactCreate,
        ContactDetail,
        ContactImportReport,
        ContactUpdate,
        Deal,
        DealSummary,
        ImportRowError,
        StartConversation,
        TicketSummary,
    )
    from backend.schemas.reports import Report, ReportColumn, ReportInfo
    from backend.schemas.search import SearchHit
    from backend.schemas.templates import (
        Insert,
        Template,
        TemplateComponent,
        TemplateMappingUpdate,
        TemplateSyncResult,
    )
    from backend.schemas.threads import (
        ContactSummary,
        Thread,
        Ticket,
        TicketBulkResult,
        TicketBulkUpdate,
        TicketUpdate,
        TimelineEntry,
    )
    from backend.schemas.usage import (
        Budget,
        SendPrice,
        SendPrices,
        Usage,
        UsageMonth,
        UsageMonthLine,
        UsageTally,
    )
    from backend.schemas.views import (
        FilterProperty,
        View,
        ViewCounts,
        ViewCreate,
        ViewFilter,
        ViewUpdate,
    )

# module → the names it defines: a new model goes in its module, here and in the imports
# above (tests/backend/test_schemas_package.py checks this map against the modules)
_MODULES: dict[str, tuple[str, ...]] = {
    "base": (
        "API_PREFIX",
        "EVENT_SEQ_HEADER",
        "T",
        "ErrorBody",
        "ErrorEnvelope",
        "Health",
        "Page",
        "ResponseModel",
        "WireModel",
    ),
    "enums": (
        "MEDIA_KINDS",
        "Availability",
        "ChannelStatus",
        "ChannelType",
        "DeliveryStatus",
        "Direction",
        "EventType",
        "FilterOperator",
        "InsertKind",
        "MediaState",
        "MessageKind",
        "NotificationChoice",
        "PhoneDestination",
        "PresenceState",
        "Role",
        "TicketPriority",
        "TicketStatus",
        "ViewSharing",
    ),
    "agents": (
        "Agent",
        "AgentCreate",
        "AgentCreated",
        "MeUpdate",
    ),
    "threads": (
        "ContactSummary",
        "Thread",
        "Ticket",
        "TicketBulkResult",
        "TicketBulkUpdate",
        "TicketUpdate",
        "TimelineEntry",
    ),
    "records": (
        "Company",
        "CompanySummary",
        "Contact",
        "ContactCreate",
        "ContactDetail",
        "ContactImportReport",
        "ContactUpdate",
        "Deal",
        "DealSummary",
        "ImportRowError",
        "StartConversation",
        "TicketSummary",
    ),
    "messages": (
        "WHATSAPP_CAPTION",
        "AdReferral",
        "Draft",
        "DraftUpdate",
        "EmailAuth",
        "EmailDetails",
        "EmailSource",
        "FormField",
        "GroupSender",
        "Location",
        "Media",
        "Message",
        "MessagePricing",
        "OrderItem",
        "QuotedMessage",
        "Reaction",
        "ReferredProduct",
        "SendBody",
        "SendMedia",
        "SendMessage",
        "SendNote",
        "SendReaction",
        "SendRequest",
        "SendTemplate",
        "SendText",
        "SharedContact",
        "StartedConversation",
        "TemplateSend",
        "TemplateValues",
        "UploadedMedia",
    ),
    "views": (
        "FilterProperty",
        "View",
        "ViewCounts",
        "ViewCreate",
        "ViewFilter",
        "ViewUpdate",
    ),
    "search": ("SearchHit",),
    "templates": (
        "Insert",
        "Template",
        "TemplateComponent",
        "TemplateMappingUpdate",
        "TemplateSyncResult",
    ),
    "usage": (
        "Budget",
        "SendPrice",
        "SendPrices",
        "Usage",
        "UsageMonth",
        "UsageMonthLine",
        "UsageTally",
    ),
    "reports": (
        "Report",
        "ReportColumn",
        "ReportInfo",
    ),
    "channels": (
        "MAIL_HOST",
        "AvailablePhoneNumber",
        "BusinessDetails",
        "BusinessProfile",
        "Channel",
        "ChannelCreate",
        "EmailMailbox",
        "MailboxCreate",
        "MailboxState",
        "MailboxUpdate",
        "PhoneNumber",
        "PhoneNumberAdd",
        "RequestCode",
        "VerifyCode",
    ),
    "audit": (
        "AuditEntry",
        "RevealedContent",
    ),
    "live": (
        "ClientPresence",
        "Event",
        "Presence",
        "Resync",
    ),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})
