"""Wire models: every request, response and WebSocket event of the v1 API.

Shared by the backend and the TUI. This module imports nothing of the backend, so the
TUI can depend on it without pulling in the server stack. Enumerated strings are
``StrEnum``s; timestamps are timezone-aware UTC datetimes.

Annotations are evaluated as the classes are made (no ``from __future__ import
annotations``): pydantic would otherwise compile and evaluate every field's annotation from
its string, a quarter of what making these classes costs the inbox's start. A model that
names one defined further down quotes that annotation.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, RootModel

API_PREFIX = "/api/v1"

T = TypeVar("T")


class WireModel(BaseModel):
    """Base of every wire model: unknown request fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, defer_build=True)


class ResponseModel(BaseModel):
    """Base of response models: tolerant of fields added by a newer server."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


# --------------------------------------------------------------------------- enums


class Role(StrEnum):
    admin = "admin"
    agent = "agent"


class Availability(StrEnum):
    available = "available"
    away = "away"
    offline = "offline"


class NotificationChoice(StrEnum):
    off = "off"
    mine = "mine"  # my tickets and unassigned ones
    all = "all"


class TicketStatus(StrEnum):
    new = "new"
    waiting_on_contact = "waiting_on_contact"
    waiting_on_us = "waiting_on_us"
    closed = "closed"


class TicketPriority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    urgent = "urgent"


class ChannelType(StrEnum):
    whatsapp = "WHATSAPP"
    email = "EMAIL"


class Direction(StrEnum):
    inbound = "in"
    outbound = "out"


class MessageKind(StrEnum):
    text = "text"
    image = "image"
    video = "video"
    audio = "audio"
    voice = "voice"
    document = "document"
    sticker = "sticker"
    location = "location"
    contacts = "contacts"
    button_reply = "button_reply"
    interactive_reply = "interactive_reply"
    order = "order"
    template = "template"
    note = "note"
    event = "event"  # system changes, request_welcome: an event line, not a message
    unsupported = "unsupported"
    quarantined = "quarantined"


MEDIA_KINDS = frozenset(
    {
        MessageKind.image,
        MessageKind.video,
        MessageKind.audio,
        MessageKind.voice,
        MessageKind.document,
        MessageKind.sticker,
    }
)


class DeliveryStatus(StrEnum):
    queued = "queued"
    sending = "sending"
    # the request reached WhatsApp but no answer came back: it may have been sent; the
    # outbox waits for a status (WHATSAPP.md) and never resends it on its own
    checking = "checking"
    sent = "sent"
    delivered = "delivered"
    read = "read"
    failed = "failed"


class MediaState(StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"


class ViewSharing(StrEnum):
    private = "private"
    team = "team"
    everyone = "everyone"


class FilterOperator(StrEnum):
    is_any_of = "is_any_of"
    is_none_of = "is_none_of"
    is_known = "is_known"
    is_unknown = "is_unknown"
    contains = "contains"
    before = "before"
    after = "after"
    within = "within"  # session expires within N hours
    at_least = "at_least"  # a count or seconds: at least the value
    at_most = "at_most"


class InsertKind(StrEnum):
    snippet = "snippet"
    kb_article = "kb_article"
    meeting_link = "meeting_link"
    quote = "quote"
    document = "document"
    video = "video"


class PresenceState(StrEnum):
    viewing = "viewing"
    typing = "typing"
    idle = "idle"


class PhoneDestination(StrEnum):
    help_desk = "help_desk"
    inbox = "inbox"


class ChannelStatus(StrEnum):
    pending = "pending"
    connected = "connected"
    unhealthy = "unhealthy"
    disconnected = "disconnected"


class EventType(StrEnum):
    message_created = "message.created"
    message_updated = "message.updated"
    thread_updated = "thread.updated"
    ticket_updated = "ticket.updated"
    view_counts = "view.counts"
    views_changed = "views.changed"
    usage_updated = "usage.updated"
    presence = "presence"
    channel_updated = "channel.updated"
    mailbox_updated = "mailbox.updated"  # a mailbox connected (again) or removed
    template_updated = "template.updated"
    contact_updated = "contact.updated"
    agent_updated = "agent.updated"
    resync = "resync"
    hello = "hello"  # seq 0, after the replay: {"last_seq": N}


# --------------------------------------------------------------------------- errors and pages


class ErrorBody(ResponseModel):
    code: str
    message: str
    field: str | None = None


class ErrorEnvelope(ResponseModel):
    """Every API error: ``{"error": {"code", "message", "field"?}}``."""

    error: ErrorBody


class Page(ResponseModel, Generic[T]):
    """A keyset-paginated list: pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None  # only when asked for (``with_total=true``): sizes virtual lists


class Health(ResponseModel):
    status: Literal["ok"] = "ok"
    version: str


# --------------------------------------------------------------------------- agents


class Agent(ResponseModel):
    id: int
    name: str
    email: str | None = None
    role: Role
    skills: list[str] = []
    availability: Availability
    notify: NotificationChoice
    bell: bool = False
    team: str | None = None
    open_tickets: int = 0
    created_at: datetime
    # the agent's own e-mail signature (None: a mail is signed with the agent's name and
    # the mailbox's); {agent} and {mailbox} are filled in when the mail is sent
    signature: str | None = None


class MeUpdate(WireModel):
    availability: Availability | None = None
    notify: NotificationChoice | None = None
    bell: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=120)
    # plain text of a few lines (domain/signatures.py); "" removes it
    signature: str | None = Field(default=None, max_length=4000)


class AgentCreate(WireModel):
    name: str = Field(min_length=1, max_length=120)
    email: str | None = None
    role: Role = Role.agent
    skills: list[str] = []
    team: str | None = None


class AgentCreated(ResponseModel):
    agent: Agent
    token: str  # shown once; only its hash is stored


# --------------------------------------------------------------------------- contacts and records


class ContactSummary(ResponseModel):
    id: int
    name: str
    phone: str | None = None
    wa_id: str | None = None
    wa_user_id: str | None = None
    wa_username: str | None = None


class Contact(ResponseModel):
    id: int
    first_name: str | None = None
    last_name: str | None = None
    name: str
    email: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    country: str | None = None
    wa_user_id: str | None = None
    wa_parent_user_id: str | None = None
    wa_id: str | None = None
    wa_username: str | None = None
    owner_id: int | None = None
    properties: dict[str, Any] = {}
    created_at: datetime
    updated_at: datetime


class CompanySummary(ResponseModel):
    id: int
    name: str
    domain: str | None = None


class DealSummary(ResponseModel):
    id: int
    name: str
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None


class TicketSummary(ResponseModel):
    id: int
    subject: str
    status: TicketStatus
    priority: TicketPriority
    owner_id: int | None = None
    thread_id: int | None = None
    created_at: datetime


class ContactDetail(Contact):
    companies: list[CompanySummary] = []
    deals: list[DealSummary] = []
    tickets: list[TicketSummary] = []


class ContactCreate(WireModel):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    mobile_phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=2)
    wa_id: str | None = Field(default=None, max_length=40)
    wa_user_id: str | None = Field(default=None, max_length=160)
    owner_id: int | None = None
    company_id: int | None = None
    properties: dict[str, Any] = {}


class ContactUpdate(WireModel):
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    mobile_phone: str | None = Field(default=None, max_length=40)
    country: str | None = Field(default=None, max_length=2)
    owner_id: int | None = None
    properties: dict[str, Any] | None = None


class Company(ResponseModel):
    id: int
    name: str
    domain: str | None = None
    properties: dict[str, Any] = {}
    contacts: list[ContactSummary] = []
    created_at: datetime


class Deal(ResponseModel):
    id: int
    name: str
    stage: str | None = None
    amount: float | None = None
    currency: str | None = None
    properties: dict[str, Any] = {}
    contacts: list[ContactSummary] = []
    created_at: datetime


class StartConversation(WireModel):
    """Start a WhatsApp conversation from a record: a template when no session is open."""

    phone_number_id: str | None = None  # business number; the first connected one if omitted
    template: "TemplateSend | None" = None
    text: str | None = Field(default=None, max_length=4096)


class ContactImportReport(ResponseModel):
    imported: int
    updated: int
    errors: "list[ImportRowError]"


class ImportRowError(ResponseModel):
    line: int
    field: str | None = None
    message: str


# --------------------------------------------------------------------------- tickets and threads


class Ticket(ResponseModel):
    id: int
    subject: str
    status: TicketStatus
    priority: TicketPriority
    owner_id: int | None = None
    pipeline: str = "support"
    original_channel_type: ChannelType = ChannelType.whatsapp
    thread_id: int | None = None
    contact_id: int | None = None
    business_number: str | None = None
    contact_wa_id: str | None = None
    needs_review: bool = False
    first_inbound_at: datetime | None = None
    last_inbound_at: datetime | None = None
    session_expires_at: datetime | None = None
    first_response_seconds: int | None = None
    inbound_count: int = 0
    outbound_count: int = 0
    last_delivery_status: DeliveryStatus | None = None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    snoozed_until: datetime | None = None  # pending until then: out of the open views
    # wall-clock seconds from opened to closed; None while open (a reopen clears it)
    resolution_seconds: int | None = None
    billable_messages: int = 0  # our messages Meta bills: what it has cost so far


class TicketUpdate(WireModel):
    owner_id: int | None = None
    unassign: bool = False  # owner_id=None is "unchanged"; unassign=true clears the owner
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    # snooze: pending (waiting on contact) and out of the open views until then, when the
    # ticket comes back by itself; a status change (reopen, close) ends a snooze
    snoozed_until: datetime | None = None
    unsnooze: bool = False  # end a snooze, keeping the status (what undoing a snooze needs)


class TicketBulkUpdate(TicketUpdate):
    ticket_ids: list[int] = Field(min_length=1, max_length=500)


class TicketBulkResult(ResponseModel):
    items: list[Ticket]


class TimelineEntry(ResponseModel):
    id: int
    ticket_id: int
    at: datetime
    actor_id: int | None = None  # None: the system (routing, inbound)
    actor_name: str | None = None
    action: str  # created, owner_changed, status_changed, priority_changed, ...
    old: str | None = None
    new: str | None = None


class Thread(ResponseModel):
    """A conversation with one contact on one business number, with its ticket."""

    id: int
    channel_type: ChannelType = ChannelType.whatsapp
    business_number: str | None = None  # display number
    phone_number_id: str | None = None
    contact: ContactSummary
    ticket: Ticket
    last_message_at: datetime | None = None
    last_message_preview: str | None = None
    last_message_direction: Direction | None = None
    unread_count: int = 0
    session_expires_at: datetime | None = None
    created_at: datetime
    from_ad: bool = False  # the conversation came from a click-to-WhatsApp ad
    group_id: str | None = None  # a WhatsApp group's thread: replies go to the group


# --------------------------------------------------------------------------- messages


class Media(ResponseModel):
    id: int | None = None  # our media id: GET /api/v1/media/{id}
    mime_type: str | None = None
    filename: str | None = None
    size: int | None = None
    sha256: str | None = None
    caption: str | None = None
    state: MediaState = MediaState.pending
    animated: bool | None = None


class Location(ResponseModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class SharedContact(ResponseModel):
    name: str
    phones: list[str] = []
    emails: list[str] = []
    org: str | None = None


class Reaction(ResponseModel):
    emoji: str
    by: Direction  # in: the contact reacted; out: an agent did
    agent_id: int | None = None
    at: datetime


class QuotedMessage(ResponseModel):
    id: int | None = None
    wamid: str | None = None
    preview: str | None = None
    direction: Direction | None = None


class AdReferral(ResponseModel):
    """Where a message came from: the click-to-WhatsApp ad (or post) the customer tapped."""

    source_type: str | None = None  # ad | post
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None  # image | video
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


class ReferredProduct(ResponseModel):
    """The catalog product a customer asked about (a product enquiry)."""

    catalog_id: str | None = None
    product_retailer_id: str | None = None


class GroupSender(ResponseModel):
    """Who sent a message in a WhatsApp group."""

    name: str | None = None
    wa_id: str | None = None
    user_id: str | None = None


class FormField(ResponseModel):
    """One field a customer submitted in a WhatsApp Flow (form)."""

    name: str
    value: str


class OrderItem(ResponseModel):
    product_retailer_id: str
    quantity: int
    item_price: float | None = None
    currency: str | None = None


class MessagePricing(ResponseModel):
    """What WhatsApp bills an outbound message as, from its statuses (lenient: a new
    category is kept as given; ``unknown`` when a status carried no pricing)."""

    category: str  # service | utility | marketing | authentication | unknown | …
    billable: bool | None = None
    pricing_model: str | None = None  # e.g. PMP
    type: str | None = None  # e.g. regular, free_customer_service


class EmailAuth(ResponseModel):
    """What the receiving server found of a received mail (Authentication-Results)."""

    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None  # "fail": the message is quarantined (rule dmarc_fail)


class EmailDetails(ResponseModel):
    """An e-mail message's envelope as shown: the body is ``Message.text`` (a received
    mail's new part; its whole text is ``GET /api/v1/messages/{id}/email``)."""

    subject: str | None = None  # None while quarantined
    sender: str | None = None
    to: list[str] = []
    cc: list[str] = []
    auth: EmailAuth | None = None
    attachments: int = 0
    left_out: list[str] = []  # attachments over the size limit, by name


class EmailSource(ResponseModel):
    """An e-mail message's whole text (the quoted history and signature the thread folds
    away) and the ids that thread it."""

    message_id: int
    header_id: str  # its Message-ID
    subject: str
    full_text: str
    in_reply_to: str | None = None
    references: list[str] = []


class Message(ResponseModel):
    id: int
    thread_id: int
    direction: Direction
    kind: MessageKind
    text: str | None = None  # body, caption-less text, note text, rendered template
    author_id: int | None = None  # agent for outbound and notes
    author_name: str | None = None
    wamid: str | None = None
    status: DeliveryStatus | None = None  # outbound only
    error_code: int | None = None
    error_message: str | None = None  # plain words for the agent
    reply_to: QuotedMessage | None = None
    forwarded: bool = False
    media: Media | None = None
    location: Location | None = None
    contacts: list[SharedContact] = []
    order: list[OrderItem] = []
    reactions: list[Reaction] = []
    template_name: str | None = None
    template_language: str | None = None
    unsupported_reason: str | None = None  # e.g. "poll_creation", "unsupported media type"
    quarantine_rule: str | None = None  # the content-policy rule that hid it
    quarantine_revealed: bool = False
    event: str | None = None  # for kind=event: user_changed_number, request_welcome, ...
    referral: AdReferral | None = None  # the message came from an ad
    referred_product: ReferredProduct | None = None  # the product asked about
    form: list[FormField] = []  # a Flow answer's submitted fields
    sent_from_phone: bool = False  # sent from the WhatsApp Business app (coexistence)
    group_sender: GroupSender | None = None  # in a group's thread: who wrote it
    from_number: str | None = None
    to_number: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    pricing: MessagePricing | None = None  # outbound, once a status came
    channel_type: ChannelType = ChannelType.whatsapp  # the channel it came or went by
    email: EmailDetails | None = None  # an e-mail's subject, addresses and verdicts
    # an e-mail's files in order, each openable (GET /api/v1/media/{id}); ``media`` is the
    # one shown first. [] on WhatsApp and while quarantined
    attachments: list[Media] = []


class TemplateValues(WireModel):
    """A template's values component by component (a header's {{1}} is not the body's)."""

    header: dict[str, str] = {}  # a TEXT header's variables; {"link": url} for a media header
    body: dict[str, str] = {}  # "1" or a named parameter → value
    buttons: dict[str, str] = {}  # a URL button's index ("0") → its variable's value


class TemplateSend(WireModel):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15)
    # Template.variables names → value ("1", "header.1", "button.0"); missing or blank
    # ones are filled from the contact; ``components`` gives the same per component
    variables: dict[str, str] = {}
    components: TemplateValues | None = None


class SendText(WireModel):
    kind: Literal["text"]
    text: str = Field(min_length=1, max_length=4096)
    reply_to: int | None = None  # our message id
    preview_url: bool = True
    client_id: str | None = Field(default=None, max_length=64)  # idempotency key
    # a reply written against this message: refused (409 thread_changed) when another
    # message (not a note or an event line) has come into the thread since
    expected_last_message_id: int | None = None
    # the channel switch: EMAIL writes to the contact's address from a WhatsApp thread
    # (the message stays in the thread, marked e-mail); None: the thread's own channel
    channel: ChannelType | None = None
    # e-mail only: the subject (None: the ticket's) and addresses copied in
    subject: str | None = Field(default=None, max_length=998)
    cc: list[str] = Field(default=[], max_length=20)


WHATSAPP_CAPTION = 1024  # characters in a WhatsApp media message's caption


class SendMedia(WireModel):
    kind: Literal["media"]
    media_id: int
    # an e-mail's text, as long as SendText's; on WhatsApp at most 1,024 (WHATSAPP_CAPTION)
    caption: str | None = Field(default=None, max_length=4096)
    reply_to: int | None = None
    client_id: str | None = Field(default=None, max_length=64)
    expected_last_message_id: int | None = None  # as in SendText
    channel: ChannelType | None = None  # as in SendText
    subject: str | None = Field(default=None, max_length=998)  # as in SendText
    cc: list[str] = Field(default=[], max_length=20)  # as in SendText
    # e-mail only: more uploaded files in the same mail, after media_id (WhatsApp takes
    # one file a message; domain/email_attachments.py says how many and how large)
    more_media_ids: list[int] = Field(default=[], max_length=50)


class SendTemplate(WireModel):
    kind: Literal["template"]
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=15)
    variables: dict[str, str] = {}  # as in TemplateSend
    components: TemplateValues | None = None
    client_id: str | None = Field(default=None, max_length=64)
    expected_last_message_id: int | None = None  # as in SendText


class SendNote(WireModel):
    kind: Literal["note"]
    text: str = Field(min_length=1, max_length=65536)
    client_id: str | None = Field(default=None, max_length=64)


class SendReaction(WireModel):
    kind: Literal["reaction"]
    message_id: int  # our id of the message reacted to
    emoji: str = Field(max_length=16)  # "" removes the reaction
    client_id: str | None = Field(default=None, max_length=64)


SendRequest = SendText | SendMedia | SendTemplate | SendNote | SendReaction


class SendBody(WireModel):
    """Discriminated wrapper used for validation of POST …/messages."""

    body: SendText | SendMedia | SendTemplate | SendNote | SendReaction = Field(
        discriminator="kind"
    )


class SendMessage(
    RootModel[
        Annotated[
            SendText | SendMedia | SendTemplate | SendNote | SendReaction,
            Field(discriminator="kind"),
        ]
    ]
):
    """The body of POST /threads/{id}/messages: one of the Send* shapes, chosen by ``kind``."""

    model_config = ConfigDict(defer_build=True)


class StartedConversation(ResponseModel):
    """The answer of POST /contacts/{id}/conversations: the thread and its queued message."""

    thread: Thread
    message: Message


class Draft(ResponseModel):
    """An agent's unsent reply or note in a thread: only that agent sees it."""

    thread_id: int
    text: str
    note: bool = False
    reply_to: int | None = None  # our message id
    updated_at: datetime


class DraftUpdate(WireModel):
    text: str = Field(min_length=1, max_length=65536)  # an empty composer: DELETE the draft
    note: bool = False
    reply_to: int | None = None


class UploadedMedia(ResponseModel):
    id: int
    mime_type: str
    kind: MessageKind
    filename: str | None = None
    size: int
    sha256: str


# --------------------------------------------------------------------------- views


class ViewFilter(WireModel):
    property: str = Field(min_length=1, max_length=64)
    operator: FilterOperator
    values: list[str] = []


class View(ResponseModel):
    id: str  # "builtin:all_open" or a number as string for custom views
    name: str
    builtin: bool = False
    sharing: ViewSharing = ViewSharing.everyone
    owner_id: int | None = None
    filters: list[ViewFilter] = []
    position: int = 0
    count: int | None = None


class ViewCreate(WireModel):
    name: str = Field(min_length=1, max_length=80)
    sharing: ViewSharing = ViewSharing.private
    filters: list[ViewFilter] = []


class ViewUpdate(WireModel):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    sharing: ViewSharing | None = None
    filters: list[ViewFilter] | None = None


class ViewCounts(ResponseModel):
    counts: dict[str, int]  # view id → thread count (for "builtin:mine": the caller's)
    mine: dict[str, int] = {}  # agent id → count of "Assigned to me", for pushed events


class FilterProperty(ResponseModel):
    name: str
    label: str
    kind: str
    operators: list[FilterOperator]
    values: list[str] = []


# --------------------------------------------------------------------------- search


class SearchHit(ResponseModel):
    thread: Thread
    message_id: int | None = None  # the matching message, when the match is in a message
    snippet: str  # plain text around the match
    matched: Literal["message", "contact", "subject"]
    message_kind: MessageKind | None = None  # of the matching message (a note is labelled so)


# --------------------------------------------------------------------------- templates and inserts


class TemplateComponent(ResponseModel):
    type: str
    format: str | None = None
    text: str | None = None
    buttons: list[dict[str, Any]] = []


class Template(ResponseModel):
    id: int
    waba_id: str | None = None
    external_id: str | None = None
    name: str
    language: str
    status: str  # Meta's status, e.g. APPROVED; anything else is not sendable
    category: str | None = None
    parameter_format: str = "POSITIONAL"
    components: list[TemplateComponent] = []
    # in order: "header" (a media header's link) or "header.1"…, the body's "1"… or
    # named ones, "button.0"… (a URL button's suffix); each component has its own
    variables: list[str] = []
    variable_mapping: dict[str, str] = {}  # variable → contact property
    sendable: bool = False
    updated_at: datetime


class TemplateMappingUpdate(WireModel):
    variable_mapping: dict[str, str]


class TemplateSyncResult(ResponseModel):
    synced: int
    templates: list[Template]


class Insert(ResponseModel):
    id: int
    kind: InsertKind
    title: str
    body: str
    url: str | None = None
    tags: list[str] = []


# --------------------------------------------------------------------------- usage


class Usage(ResponseModel):
    used: int
    limit: int
    period_start: date
    resets_on: date
    business_initiated_24h: int
    verified_business: bool = True
    level: Literal["ok", "warning", "critical", "exhausted"] = "ok"
    # the month's estimate against the ``budget`` setting (GET /usage only, with a rate card)
    budget: "Budget | None" = None


class Budget(ResponseModel):
    """The month's estimated spend against the ``budget`` setting."""

    amount: Decimal
    spent: Decimal
    currency: str
    level: Literal["ok", "warning", "exceeded"] = "ok"  # warning from 80 %


class UsageTally(ResponseModel):
    """Priced outbound messages of a month (of one number and category, or all)."""

    messages: int = 0
    billable: int = 0  # WhatsApp said billable
    free: int = 0  # WhatsApp said not billable
    unknown: int = 0  # the statuses did not say
    in_allowance: int = 0  # billable service messages the free monthly allowance covers
    charged: int = 0  # billable beyond the allowance: what the estimate prices
    unpriced: int = 0  # charged, but the rate card has no price for them
    estimate: Decimal | None = None  # in ``UsageMonth.currency``; None without a rate card


class UsageMonthLine(UsageTally):
    business_number: str
    category: str  # service | utility | marketing | authentication | unknown | …


class UsageMonth(ResponseModel):
    """What WhatsApp bills for one usage month (from the subscription's day), per
    business number and category, and the trend against the month before."""

    month: str  # YYYY-MM: the calendar month the period starts in
    period_start: date
    resets_on: date
    rate_card: bool = False
    currency: str | None = None
    free_service_messages_per_month: int
    lines: list[UsageMonthLine] = []
    total: UsageTally
    previous_month: str
    previous: UsageTally
    messages_change: int  # against the previous month
    messages_change_percent: float | None = None  # None when the previous month had none
    estimate_change: Decimal | None = None
    budget: Budget | None = None


class SendPrice(ResponseModel):
    """What one more message of a category would be billed, before it is sent."""

    category: str  # service | utility | marketing | authentication | …
    free: bool = False  # a service message the month's free allowance still covers
    price: Decimal | None = None  # in ``SendPrices.currency``; None: no rate card or no price


class SendPrices(ResponseModel):
    """What a send in one thread would be billed as: per category, by the customer's market
    (the contact's country), the rate card and the number's free allowance this month."""

    thread_id: int
    business_number: str
    market: str | None = None  # the contact's country; None when not known
    rate_card: bool = False
    currency: str | None = None
    free_service_messages_left: int  # of the number's allowance this usage month
    prices: list[SendPrice] = []
    # the mailbox the channel switch writes from (None: no mailbox in use: not offered)
    email_from: str | None = None
    # an e-mail thread whose mailbox (business_number) was removed: a reply is refused
    mailbox_removed: bool = False


# --------------------------------------------------------------------------- reports


class ReportColumn(ResponseModel):
    name: str
    label: str
    unit: Literal["day", "hour", "text", "count", "seconds", "money"]


class ReportInfo(ResponseModel):
    name: str
    title: str
    chart: Literal["bar", "line"]  # x: the first column; a series per count/seconds/money column
    columns: list[ReportColumn]


class Report(ReportInfo):
    """A report's table over whole UTC days (``date_from`` to ``date_to``, both included),
    with the filters it was asked with; ``rows`` follow ``columns`` (money as text)."""

    date_from: date
    date_to: date
    time_zone: str = "UTC"
    agent_id: int | None = None
    business_number: str | None = None
    view_id: str | None = None
    currency: str | None = None
    rows: list[list[str | int | None]]
    notes: list[str] = []


# --------------------------------------------------------------------------- channels


class BusinessDetails(WireModel):
    legal_name: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=200)
    display_name_differs: bool = False
    website: str = Field(min_length=1, max_length=500)
    email: str = Field(min_length=3, max_length=320)
    country: str = Field(min_length=2, max_length=2)
    time_zone: str = Field(min_length=1, max_length=64)


class BusinessProfile(WireModel):
    display_name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=512)


class ChannelCreate(WireModel):
    business: BusinessDetails
    access_token: str = Field(min_length=1, max_length=4096)
    waba_id: str = Field(min_length=1, max_length=64)
    profile: BusinessProfile


MAIL_HOST = r"^[A-Za-z0-9]([A-Za-z0-9.:\-]*[A-Za-z0-9])?$"  # a name, IPv4 or IPv6 address


class MailboxCreate(WireModel):
    """Connect a support mailbox: the IMAP and relay logins are tried before it is saved;
    the passwords go in and never come out."""

    address: str = Field(min_length=3, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    imap_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_tls: bool = True
    imap_user: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=4096, repr=False)
    imap_folder: str = Field(default="INBOX", min_length=1, max_length=255)
    imap_poll_seconds: int = Field(default=60, ge=10, le=3600)
    smtp_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_user: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=4096, repr=False)


class MailboxUpdate(WireModel):
    """Edit a mailbox: only the fields given change (``imap_host`` / ``smtp_host`` null:
    no more fetching / its own relay). A changed login is tried before it is saved; a
    password left out is kept."""

    address: str | None = Field(default=None, min_length=3, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    imap_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_tls: bool | None = None
    imap_user: str | None = Field(default=None, max_length=320)
    imap_password: str | None = Field(default=None, max_length=4096, repr=False)
    imap_folder: str | None = Field(default=None, min_length=1, max_length=255)
    imap_poll_seconds: int | None = Field(default=None, ge=10, le=3600)
    smtp_host: str | None = Field(default=None, max_length=255, pattern=MAIL_HOST)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_starttls: bool | None = None
    smtp_user: str | None = Field(default=None, max_length=320)
    smtp_password: str | None = Field(default=None, max_length=4096, repr=False)


class EmailMailbox(ResponseModel):
    """A support address; how it is reached when an admin connected it (no passwords)."""

    id: int
    type: ChannelType = ChannelType.email
    address: str
    display_name: str | None = None
    imap_host: str | None = None
    imap_user: str | None = None
    smtp_host: str | None = None
    smtp_user: str | None = None
    imap_port: int | None = None
    imap_tls: bool | None = None
    imap_folder: str | None = None
    imap_poll_seconds: int | None = None  # how often a server without IDLE is asked
    smtp_port: int | None = None
    smtp_starttls: bool | None = None


class MailboxState(ResponseModel):
    """``mailbox.updated``: a support address connected (again) or removed; its threads
    can (or can no longer) be replied to."""

    id: int
    address: str
    removed: bool = False


class PhoneNumber(ResponseModel):
    id: int
    channel_id: int
    phone_number_id: str
    display_phone_number: str
    verified_name: str | None = None
    code_verification_status: str | None = None
    quality_rating: str | None = None
    destination: PhoneDestination = PhoneDestination.help_desk
    status: ChannelStatus
    connected_at: datetime | None = None


class Channel(ResponseModel):
    id: int
    type: ChannelType = ChannelType.whatsapp
    waba_id: str
    legal_name: str
    display_name: str
    status: ChannelStatus
    status_reason: str | None = None
    verified_business: bool = False
    phone_numbers: list[PhoneNumber] = []
    created_at: datetime


class PhoneNumberAdd(WireModel):
    """Pick an existing verified number of the WABA, or register a new one."""

    phone_number_id: str | None = None
    cc: str | None = Field(default=None, max_length=4)
    phone_number: str | None = Field(default=None, max_length=20)
    verified_name: str | None = Field(default=None, max_length=200)
    pin: str | None = Field(default=None, pattern=r"^\d{6}$")  # registers a verified number now


class RequestCode(WireModel):
    code_method: Literal["SMS", "VOICE"]
    language: str = "en_US"


class VerifyCode(WireModel):
    code: str = Field(min_length=4, max_length=10)
    pin: str = Field(pattern=r"^\d{6}$")


class AvailablePhoneNumber(ResponseModel):
    phone_number_id: str
    display_phone_number: str
    verified_name: str | None = None
    code_verification_status: str | None = None


# --------------------------------------------------------------------------- audit


class AuditEntry(ResponseModel):
    id: int
    at: datetime
    actor_id: int | None = None
    action: str
    target: str | None = None
    detail: dict[str, Any] = {}


class RevealedContent(ResponseModel):
    message: Message
    text: str | None = None


# --------------------------------------------------------------------------- live push


class Presence(ResponseModel):
    agent_id: int
    agent_name: str
    thread_id: int | None = None
    state: PresenceState


class ClientPresence(WireModel):
    """Sent by the client on the WebSocket."""

    type: Literal["presence"]
    thread_id: int | None = None
    state: PresenceState


class Event(ResponseModel):
    """One pushed event: ``{"seq", "type", "data"}``. Presence events carry seq 0 (not logged)."""

    seq: int
    type: str
    data: dict[str, Any] = {}


class Resync(ResponseModel):
    reason: str
    oldest_seq: int | None = None
