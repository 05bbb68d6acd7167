"""The enumerated strings of the API (``StrEnum``s)."""

from enum import StrEnum


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
    mailbox_updated = "mailbox.updated"  # a mailbox connected (again), edited or removed
    template_updated = "template.updated"
    contact_updated = "contact.updated"
    agent_updated = "agent.updated"
    resync = "resync"
    hello = "hello"  # seq 0, after the replay: {"last_seq": N}
