"""The values the store takes and gives back, beside ``schemas`` (the wire models).

Part of the store's face (``backend.store``): plain data, no database. A second store
(PostgreSQL) takes and returns the same values; ``SqliteStore`` is the embedded one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backend import schemas
from backend.domain import pricing
from backend.domain import usage as usage_rules

# ------------------------------------------------------------------ the event log


@dataclass(slots=True)
class CommittedEvent:
    seq: int
    type: str
    frame: str  # the encoded {"seq","type","data"}: encoded once, sent to every client as is


@dataclass(slots=True)
class EventPage:
    frames: list[tuple[int, str]]
    last_seq: int  # the newest logged event read, sent or left out
    full: bool  # the limit was reached: there may be more


# ------------------------------------------------------------------ what a channel received


@dataclass(slots=True, kw_only=True)
class Sender:
    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    profile_name: str | None = None


@dataclass(slots=True, kw_only=True)
class MediaSpec:
    external_id: str | None
    mime_type: str | None = None
    sha256: str | None = None
    filename: str | None = None


@dataclass(slots=True, kw_only=True)
class IdentityChange:
    event: str
    new_wa_id: str | None = None
    new_user_id: str | None = None
    new_parent_user_id: str | None = None


@dataclass(slots=True, kw_only=True)
class InboundRecord:
    """A received message, ready to store."""

    wamid: str
    phone_number_id: str | None
    at: datetime | None  # Meta's timestamp; None: the transaction's time
    sender: Sender
    kind: str  # a schemas.MessageKind value
    text: str | None = None
    caption: str | None = None
    content: dict[str, Any] = field(default_factory=dict)
    unsupported_reason: str | None = None
    quarantine_rule: str | None = None
    reply_to_wamid: str | None = None
    forwarded: bool = False
    media: MediaSpec | None = None
    reaction_target: str | None = None  # set on reactions: the wamid reacted to
    reaction_emoji: str | None = None  # None or "": removal
    identity_change: IdentityChange | None = None
    revokes: str | None = None  # set on a deletion (``revoke``): the wamid deleted
    raw: str | None = None
    subject_text: str | None = None  # text for the ticket subject and routing
    fallback_subject: str = "WhatsApp conversation"
    customer_message: bool = True  # moves the ticket, (re)opens the session
    welcome: bool = False  # request_welcome: an event line that starts the conversation


class Outcome(StrEnum):
    stored = "stored"
    reaction = "reaction"
    reaction_held = "reaction_held"  # its message has not arrived yet
    identity = "identity"  # a system message with no thread to show it in
    revoke_held = "revoke_held"  # the message it deletes has not arrived yet
    revoke_without_target = "revoke_without_target"  # deletes no message of the customer's
    duplicate = "duplicate"
    dropped_unknown_number = "dropped_unknown_number"
    dropped_before_connection = "dropped_before_connection"
    # e-mail (``EmailRecord``)
    dropped_unknown_address = "dropped_unknown_address"  # to no support address of ours
    dropped_no_sender = "dropped_no_sender"  # names no sender at all: no one to answer
    automatic = "automatic"  # an auto-reply: never a ticket, never answered
    bounce = "bounce"  # a bounce: our message it names is marked failed


@dataclass(slots=True)
class IngestResult:
    outcome: Outcome
    message_id: int | None = None
    thread_id: int | None = None
    media_id: int | None = None


# ------------------------------------------------------------------ e-mail received


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailFile:
    """A received mail's attachment, already written under the media folder."""

    filename: str
    mime_type: str
    size: int
    sha256: str
    path: str  # relative to the media folder
    content_id: str | None = None
    inline: bool = False


@dataclass(slots=True, kw_only=True)
class EmailRecord:
    """A received mail, ready to store (read by the e-mail channel: the store knows
    nothing of MIME). ``text`` is the new part; ``full_text`` the whole body."""

    message_id: str  # its Message-ID: the same mail is never stored twice
    mailbox: str  # the support address it came to, lower-case (an ``Mailbox``)
    sender: str  # the From address as written (the contact is found by it, any case)
    sender_name: str | None = None
    subject: str = ""
    text: str = ""
    full_text: str = ""
    at: datetime | None = None  # its Date; None: the transaction's time
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    thread_keys: tuple[str, ...] = ()  # In-Reply-To, then References from the newest
    ticket_token: int | None = None  # [#123] in the subject
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    auth: dict[str, str | None] | None = None  # spf / dkim / dmarc verdicts
    quarantine_rule: str | None = None  # e.g. a failed DMARC: hidden as quarantined
    automatic: str | None = None  # why a machine sent it (auto-reply, bounce, …)
    bounced_message_id: str | None = None  # a bounce: the Message-ID of ours it names
    bounce_reason: str | None = None  # in words, for the agent
    files: tuple[EmailFile, ...] = ()
    left_out: tuple[str, ...] = ()  # attachments over the size limit, by name


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A support address mail is received at and sent from."""

    id: int
    address: str  # lower-case
    display_name: str | None


@dataclass(frozen=True, slots=True)
class MailboxConnection:
    """A mailbox connected by an admin, with how to reach it: ``settings`` holds the IMAP
    and relay hosts, users and passwords (secrets: never log or return them whole)."""

    mailbox: Mailbox
    settings: dict[str, Any] = field(repr=False)


# ------------------------------------------------------------------ statuses of what we sent


class StatusOutcome(StrEnum):
    applied = "applied"  # the message's state or times changed
    unchanged = "unchanged"  # a stale status (furthest state kept); receipt recorded
    duplicate = "duplicate"
    early = "early"  # no message yet: kept aside
    stale_send = "stale_send"  # the message has since been resent under another wamid
    not_ours = "not_ours"  # the wamid is an inbound message's: nothing applied
    dropped_unknown_number = "dropped_unknown_number"


@dataclass(slots=True, kw_only=True)
class StatusRecord:
    wamid: str
    status: str  # sent | delivered | read | played | failed | … (lenient)
    at: datetime | None
    phone_number_id: str | None = None
    opaque: str | None = None
    error_code: int | None = None
    error_message: str | None = None  # plain words for the agent
    pricing: dict[str, Any] | None = None  # the status's pricing block, as Meta sent it


@dataclass(slots=True)
class StatusResult:
    outcome: StatusOutcome
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class TemplateDefinition:
    """A message template as its channel lists it (a template sync), kept as synced."""

    name: str
    language: str
    external_id: str | None
    status: str  # upper case: APPROVED | PENDING | REJECTED | PAUSED | …
    category: str | None
    parameter_format: str  # POSITIONAL ({{1}}) | NAMED ({{first_name}})
    parts: list[dict[str, Any]]  # header, body, footer, buttons as the channel defines them


@dataclass(frozen=True, slots=True)
class TemplateStatus:
    """WhatsApp's verdict on one of our message templates (approved, rejected, paused…)."""

    template_id: str | None
    name: str | None
    language: str | None
    status: str
    reason: str | None


# ------------------------------------------------------------------ one notification's changes


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """A message written in a group the business is in: it goes to the group's thread."""

    record: InboundRecord
    group_id: str


@dataclass(frozen=True, slots=True)
class Echo:
    """What the business wrote from another app on the same number (``record.sender`` is
    the customer it went to)."""

    record: InboundRecord


@dataclass(frozen=True, slots=True)
class Call:
    """A customer's call starting or ending (``record.wamid`` is the call id)."""

    record: InboundRecord


@dataclass(frozen=True, slots=True)
class Counts:
    """Counters to raise (``name`` → by how much): what was ignored or refused."""

    by_name: dict[str, int]


# What ``Store.ingest`` takes. An ``InboundRecord`` alone is a customer's message (or
# reaction, or system event) in a conversation with us: the most common change comes
# unwrapped. ``Store.ingest`` gives back, in the same order, an ``IngestResult`` for a
# message, echo or call, a ``StatusResult`` for a status, a bool (the template changed)
# for a template status, None for counts, or the exception that rolled that one back.
Change = InboundRecord | GroupMessage | Echo | Call | StatusRecord | TemplateStatus | Counts


# ------------------------------------------------------------------ sending


# What an agent asked to send, as the store keeps it in the outbox until a channel delivers
# it: channel-neutral, so WhatsApp (``backend/whatsapp/graph_bodies.py`` turns it into the
# Graph API body at send time) and e-mail (issue 18: a reply's subject, In-Reply-To,
# References and cc) read the same record. Stored as JSON in ``outbox.request``
# (``store/outbox_rows.py``); a field added later needs a default, so rows queued before
# it still read.


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom a send goes to, in the channel's own addressing."""

    address: str  # digits of a phone number, a WhatsApp user id, a group id, an e-mail address
    by: str  # "phone" | "user_id" | "group" (WhatsApp); "email" (issue 18)


@dataclass(frozen=True, slots=True)
class TemplateValue:
    """One filled placeholder of a template."""

    name: str  # as the template writes it ("1", "first_name"); a URL button's index ("0")
    value: str


@dataclass(frozen=True, slots=True)
class FilledTemplate:
    """An approved template with every placeholder filled, part by part in the template's
    order (a header's {{1}} is not the body's)."""

    name: str
    language: str
    by_name: bool  # the placeholders are names ({{first_name}}), not numbers
    header_media: str | None = None  # "image" | "video" | "document": a media header …
    header_link: str | None = None  # … shows the file at this link
    header: tuple[TemplateValue, ...] = ()  # a text header's placeholders
    body: tuple[TemplateValue, ...] = ()
    url_buttons: tuple[TemplateValue, ...] = ()  # a URL button's placeholder, by button index


@dataclass(frozen=True, slots=True)
class OutboundMedia:
    """An uploaded file (``media`` row) to send; the channel uploads it at send time."""

    media_id: int
    kind: str  # image | video | audio | document | sticker (domain/media_types.py)
    filename: str | None = None


@dataclass(frozen=True, slots=True)
class OutboundRequest:
    """One send as the agent asked it. ``kind`` says which fields matter:

    - ``text``: ``text`` (and ``link_preview``), ``reply_to``;
    - ``media``: ``media``, ``text`` as its caption, ``reply_to``;
    - ``template``: ``template``;
    - ``reaction``: ``emoji`` ("" takes a reaction back) on the message ``reacts_to``.

    ``reference`` travels with the send and comes back with its statuses
    (``StatusRecord.opaque``), naming our message before its channel id is known.
    """

    kind: str  # text | media | template | reaction (e-mail will add its own)
    recipient: Recipient
    reference: str  # "ttydesk:<message id>" (store/outbox_rows.py)
    text: str | None = None  # a text's body, a file's caption
    link_preview: bool = False
    reply_to: str | None = None  # the channel's id of the message answered (wamid; Message-ID)
    media: OutboundMedia | None = None
    template: FilledTemplate | None = None
    emoji: str | None = None
    reacts_to: str | None = None  # the channel's id of the message reacted to
    # e-mail (issue 18); WhatsApp has no use for them
    subject: str | None = None
    references: tuple[str, ...] = ()  # the thread's earlier Message-IDs, oldest first
    cc: tuple[str, ...] = ()
    attachments: tuple[OutboundMedia, ...] = ()  # more files beside ``media``


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's hold on the sends it claimed (several processes, issue 16 step 3): the
    worker (``holder``, unique per worker) and when the hold lapses unless renewed
    (``until``, by the worker's clock). Only a send whose lease lapsed is taken for cut
    off (ambiguous), never one a live worker holds."""

    holder: str
    until: datetime


@dataclass(frozen=True, slots=True)
class OutboxJob:
    message_id: int
    thread_id: int
    attempts: int  # including this one
    # what to send; None on a row queued before migration 0024, whose ``legacy_body`` (the
    # Graph API body the store used to build) is sent as it is
    request: OutboundRequest | None
    legacy_body: dict[str, Any] | None
    phone_number_id: str
    access_token: str | None  # a secret: never log the job as a whole
    channel_id: int | None
    number_connected: bool
    media_id: int | None
    media_path: str | None
    media_mime: str | None
    media_filename: str | None
    media_external_id: str | None

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"OutboxJob(message_id={self.message_id}, attempts={self.attempts})"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailJobFile:
    path: str  # relative to the media folder
    mime_type: str
    filename: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailJob:
    """A claimed e-mail to send: the queued ``OutboundRequest`` and what the channel needs
    beside it to compose the mail (see ``store/mail_outbox.py``)."""

    message_id: int
    thread_id: int
    attempts: int  # including this one
    request: OutboundRequest
    header_id: str  # the Message-ID it goes out under
    sender: str  # the mailbox's address
    sender_name: str | None
    ticket_id: int  # for the token in the subject
    signature: str  # the agent's own (domain/signatures.py), else their name and the mailbox's
    files: tuple[EmailJobFile, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    message: schemas.Message
    created: bool  # False: the client_id matched an earlier send, nothing new was queued


# ------------------------------------------------------------------ media


@dataclass(frozen=True, slots=True)
class MediaJob:
    id: int
    external_id: str | None
    mime_type: str | None
    sha256: str | None
    filename: str | None
    attempts: int
    phone_number_id: str | None
    access_token: str | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class MediaFile:
    id: int
    path: str | None
    mime_type: str | None
    filename: str | None
    size: int | None
    state: str
    hidden: bool  # attached to a quarantined message, and the caller is not an admin


# ------------------------------------------------------------------ channels


@dataclass(frozen=True, slots=True)
class ChannelSecret:
    channel_id: int
    waba_id: str
    access_token: str
    profile: dict[str, Any]

    def __repr__(self) -> str:
        return f"ChannelSecret(channel_id={self.channel_id}, waba_id={self.waba_id!r})"


# ------------------------------------------------------------------ usage and pricing


@dataclass(frozen=True, slots=True)
class UsageRules:
    """The configured limit and the subscription start (settings ``usage_limit`` and
    ``subscription_start``); set on the store by the app and by the CLI."""

    limit: int = usage_rules.DEFAULT_MONTHLY_LIMIT
    subscription_start: date = date(2026, 1, 1)


@dataclass(frozen=True, slots=True)
class PricingRules:
    """The admin's rate card (None: counts only), the free service messages per number and
    month, and the monthly budget (settings ``rate_card``,
    ``free_service_messages_per_month`` and ``budget``)."""

    rate_card: pricing.RateCard | None = None
    free_service_messages: int = pricing.FREE_SERVICE_MESSAGES_PER_MONTH
    budget: Decimal | None = None
