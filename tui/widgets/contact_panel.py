"""The optional side panel: the contact's properties, associated records and the ticket timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from backend.schemas import Thread, TimelineEntry
from tui.glyphs import glyphs
from tui.text import clock, cut, inert, one_line

if TYPE_CHECKING:
    from backend.schemas import ContactDetail

ACTION_WORDS = {
    "created": "created the ticket",
    "owner_changed": "changed the owner",
    "status_changed": "changed the status",
    "priority_changed": "changed the priority",
    "snoozed": "snoozed the ticket",
    "snooze_ended": "woke the ticket (snooze over)",
    "unsnoozed": "ended the snooze",
}


def contact_text(contact: ContactDetail | None, thread: Thread | None) -> Text:
    out = Text()
    if contact is None:
        if thread is None:
            return Text("No thread open.", style="dim")
        out.append_text(one_line(thread.contact.name, "bold"))
        out.append(f"\nloading contact{glyphs().ellipsis}", "dim")
        return out
    out.append_text(one_line(contact.name, "bold"))
    out.append("\n")
    fields = [
        ("first name", contact.first_name),
        ("last name", contact.last_name),
        ("email", contact.email),
        ("phone", contact.phone, "phone"),
        ("mobile", contact.mobile_phone, "mobile_phone"),
        ("country", contact.country),
        ("WhatsApp id", contact.wa_id),
        ("WA user id", contact.wa_user_id),
        ("WA username", contact.wa_username),
    ]
    for label, value, *field in fields:
        if value:
            out.append(f"{label:<12}", "dim")
            out.append_text(one_line(value))
            if field and field[0] in contact.unchecked_phones:
                out.append(" (not checked)", "dim")  # a range the phone library does not know
            out.append("\n")
    for key, value in sorted(contact.properties.items()):
        out.append_text(one_line(f"{cut(key, 11):<12}", "dim"))
        out.append_text(one_line(value))
        out.append("\n")
    out.append("\nCompanies\n", "bold underline")
    if not contact.companies:
        out.append("  none\n", "dim")
    for company in contact.companies:
        out.append("  • ")
        out.append_text(one_line(company.name))
        if company.domain:
            out.append(" ")
            out.append_text(one_line(company.domain, "dim"))
        out.append("\n")
    out.append("\nDeals\n", "bold underline")
    if not contact.deals:
        out.append("  none\n", "dim")
    for deal in contact.deals:
        out.append("  • ")
        out.append_text(one_line(deal.name))
        if deal.stage:
            out.append(f" · {deal.stage}", "dim")
        if deal.amount is not None:
            out.append(f" · {deal.amount:,.2f} {deal.currency or ''}", "dim")
        out.append("\n")
    out.append("\nTickets\n", "bold underline")
    if not contact.tickets:
        out.append("  none\n", "dim")
    elif len(contact.tickets) > 1:
        out.append("  H opens an earlier one; [ shows the previous above\n", "dim")
    for ticket in contact.tickets:
        out.append(f"  #{ticket.id} ", "dim")
        out.append_text(one_line(ticket.subject))
        out.append(f" · {ticket.status.value} · {ticket.priority.value}\n", "dim")
    return out


def timeline_text(entries: list[TimelineEntry], agent_name: Callable[[int | None], str]) -> Text:
    out = Text("Ticket timeline\n", style="bold underline")
    if not entries:
        out.append("  nothing yet\n", "dim")
    for entry in entries:
        who = entry.actor_name or (agent_name(entry.actor_id) if entry.actor_id else "system")
        out.append(f"  {clock(entry.at)} ", "dim")
        out.append_text(one_line(who, "bold"))
        out.append(" ")
        out.append(ACTION_WORDS.get(entry.action, entry.action.replace("_", " ")))
        if entry.action == "snoozed" and entry.new:
            out.append(f" until {_when(entry.new)}")
        elif entry.action in ("snooze_ended", "unsnoozed"):
            pass
        elif entry.old or entry.new:
            old, new = entry.old or "—", entry.new or "—"
            if entry.action == "owner_changed":  # agents by name, never their ids
                old, new = _agent(entry.old, agent_name), _agent(entry.new, agent_name)
            elif entry.action in ("status_changed", "created"):  # "waiting on us"
                old, new = old.replace("_", " "), new.replace("_", " ")
            out.append(": ")
            out.append_text(inert(old, "dim"))
            out.append(" → ")
            out.append_text(inert(new))
        out.append("\n")
    return out


def _agent(value: str | None, agent_name: Callable[[int | None], str]) -> str:
    if not value:
        return "unassigned"
    return agent_name(int(value)) if value.isdigit() else value


def _when(value: str) -> str:
    try:
        return f"{datetime.fromisoformat(value).astimezone():%a %d %b %H:%M}"
    except ValueError:
        return value


class ContactPanel(VerticalScroll, can_focus=True):
    """Toggled with ``s``."""

    DEFAULT_CSS = """
    ContactPanel {
        width: 36;
        border-left: vkey $primary 30%;
        padding: 0 1;
        & > Static { height: auto; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="contact-info", markup=False)
        yield Static("", id="ticket-timeline", markup=False)

    def show_contact(self, contact: ContactDetail | None, thread: Thread | None) -> None:
        self.query_one("#contact-info", Static).update(contact_text(contact, thread))

    def show_timeline(
        self, entries: list[TimelineEntry], agent_name: Callable[[int | None], str]
    ) -> None:
        self.query_one("#ticket-timeline", Static).update(timeline_text(entries, agent_name))
