"""Ticket statuses, priorities and the automatic status moves (SPEC §4)."""

from __future__ import annotations

from enum import StrEnum

from backend.domain.errors import InvalidField

SUBJECT_MAX_LENGTH = 120


class TicketStatus(StrEnum):
    NEW = "new"
    WAITING_ON_CONTACT = "waiting_on_contact"
    WAITING_ON_US = "waiting_on_us"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class TicketPriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return self.value.capitalize()


_STATUS_BY_VALUE: dict[str, TicketStatus] = {status.value: status for status in TicketStatus}


def _key(value: object) -> str:
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


def parse_status(value: object, *, field: str = "status") -> TicketStatus:
    """A status from its value or label ("waiting_on_us", "Waiting on us")."""
    status = _STATUS_BY_VALUE.get(value) if isinstance(value, str) else None
    if status is not None:
        return status  # the common case: a stored value (every inbound message asks)
    try:
        return TicketStatus(_key(value))
    except ValueError:
        allowed = ", ".join(s.value for s in TicketStatus)
        raise InvalidField(
            f"{str(value)[:40]!r} is not a ticket status; use one of {allowed}.", field=field
        ) from None


def parse_priority(value: object, *, field: str = "priority") -> TicketPriority:
    try:
        return TicketPriority(_key(value))
    except ValueError:
        allowed = ", ".join(p.value for p in TicketPriority)
        raise InvalidField(
            f"{str(value)[:40]!r} is not a ticket priority; use one of {allowed}.", field=field
        ) from None


def inbound_opens_new_ticket(status: TicketStatus | str) -> bool:
    """A message to a closed ticket starts a new thread and ticket instead of reopening it."""
    return parse_status(status) is TicketStatus.CLOSED


def status_after_inbound(status: TicketStatus | str) -> TicketStatus:
    """Waiting on us; a closed ticket stays closed (see `inbound_opens_new_ticket`)."""
    current = parse_status(status)
    if current is TicketStatus.CLOSED:
        return current
    return TicketStatus.WAITING_ON_US


def status_after_agent_reply(status: TicketStatus | str) -> TicketStatus:
    current = parse_status(status)
    if current is TicketStatus.CLOSED:
        return current
    return TicketStatus.WAITING_ON_CONTACT


def check_status_move(old: TicketStatus | str, new: TicketStatus | str) -> TicketStatus | None:
    """The status to record for an agent's move, or None when nothing changes."""
    current = parse_status(old)
    target = parse_status(new)
    return None if target is current else target


def subject_from_text(text: str | None, fallback: str) -> str:
    """The first non-empty line of `text`, cut to SUBJECT_MAX_LENGTH with "…"."""
    for line in (text or "").splitlines():
        subject = " ".join(line.split())
        if subject:
            if len(subject) > SUBJECT_MAX_LENGTH:
                return subject[: SUBJECT_MAX_LENGTH - 1].rstrip() + "…"
            return subject
    return fallback
