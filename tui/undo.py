"""``u``: undo the last reassign, close or status/priority change for ``UNDO_SECONDS``.

``TicketUndo.before(tickets, update)`` remembers, of each ticket, the values the update is
about to change; ``restore_updates()`` gives the updates that put them back (through the
API, so the ticket's timeline records the change back like any other).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.schemas import Ticket, TicketUpdate

UNDO_SECONDS = 30


@dataclass(frozen=True)
class TicketUndo:
    label: str
    previous: dict[int, Ticket]  # ticket id → the ticket before the change
    update: TicketUpdate
    until: datetime
    # the changed thread the list's cursor was on: the undo puts the cursor back there (a
    # close took it out of the view, and the cursor to the next thread)
    cursor_thread_id: int | None = None

    @classmethod
    def before(
        cls,
        tickets: list[Ticket],
        update: TicketUpdate,
        label: str,
        now: datetime,
        cursor_thread_id: int | None = None,
    ) -> TicketUndo:
        return cls(
            label=label,
            previous={ticket.id: ticket for ticket in tickets},
            update=update,
            until=now + timedelta(seconds=UNDO_SECONDS),
            cursor_thread_id=cursor_thread_id,
        )

    def usable(self, now: datetime) -> bool:
        return now <= self.until and bool(self.previous)

    def restore_updates(self, now: datetime) -> list[tuple[int, TicketUpdate]]:
        changed = self.update.model_fields_set
        updates = []
        for ticket_id, ticket in self.previous.items():
            values: dict[str, object] = {}
            if changed & {"owner_id", "unassign"}:
                if ticket.owner_id is None:
                    values["unassign"] = True
                else:
                    values["owner_id"] = ticket.owner_id
            if "snoozed_until" in changed and ticket.snoozed_until is not None:
                # snoozed before: snoozed again until then (if still to come)
                if ticket.snoozed_until > now:
                    values["snoozed_until"] = ticket.snoozed_until
                else:
                    values.update(status=ticket.status, unsnooze=True)
            elif "snoozed_until" in changed:
                # a snooze may leave the status as it was: end it explicitly
                values.update(status=ticket.status, unsnooze=True)
            elif "status" in changed:
                values["status"] = ticket.status  # (a status change ends a snooze)
            if "priority" in changed:
                values["priority"] = ticket.priority
            updates.append((ticket_id, TicketUpdate(**values)))
        return updates
