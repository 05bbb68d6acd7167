"""Threads and their tickets: what the thread list draws (with the contact it shows), and ticket changes."""

from datetime import datetime

from pydantic import Field

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import (
    ChannelType,
    DeliveryStatus,
    Direction,
    TicketPriority,
    TicketStatus,
)


class ContactSummary(ResponseModel):
    id: int
    name: str
    phone: str | None = None
    wa_id: str | None = None
    wa_user_id: str | None = None
    wa_username: str | None = None


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
