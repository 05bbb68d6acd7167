"""Small typed dialogs: confirm, prompt, message details, owner and priority pickers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.signal import Signal
from textual.widgets import Button, Input, OptionList, Static

from backend import schemas
from backend.schemas import Agent, Availability, TicketPriority
from tui.dialogs.picker import FuzzyPicker, PickItem
from tui.glyphs import glyphs
from tui.render import delivery_label
from tui.text import full_time, inert, one_line

if TYPE_CHECKING:
    from backend.schemas import EmailSource, Message

DIALOG_CSS = """
    align: center middle;
    & > Vertical {
        width: 64; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary 60%; background: $panel; padding: 1 2;
    }
    & .dialog-title { text-style: bold; padding-bottom: 1; }
    & .dialog-buttons { height: auto; align-horizontal: right; padding-top: 1; }
    & .dialog-buttons Button { margin-left: 1; }
    & .dialog-error { color: $text-error; height: auto; }
"""


class ConfirmDialog(ModalScreen[bool]):
    """Yes or no; ``y``/``enter`` confirm, ``n``/``escape`` cancel."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Confirm"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Cancel"),
    ]
    DEFAULT_CSS = "ConfirmDialog {" + DIALOG_CSS + "}"

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question = question
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.no} (n)", id="no")
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class PromptDialog(ModalScreen[str | None]):
    """One line of input (a file path, a name…)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Close")]
    DEFAULT_CSS = "PromptDialog {" + DIALOG_CSS + "}"

    def __init__(
        self, question: str, *, value: str = "", placeholder: str = "", password: bool = False
    ) -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.password = password

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), classes="dialog-title")
            yield Input(
                self.value, placeholder=self.placeholder, password=self.password, id="prompt-input"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class MessageDetailsDialog(ModalScreen[None]):
    """``m``: numbers, WhatsApp id and delivery times of one message; for an e-mail, its
    envelope (Message-ID, addresses, the receiving server's checks) and whole text (the
    thread folds the quoted history away)."""

    BINDINGS = [Binding("escape,q,m,enter", "close", "Close", id="details.close", tooltip="Close")]
    DEFAULT_CSS = "MessageDetailsDialog {" + DIALOG_CSS + "}"

    def __init__(self, message: Message, email: EmailSource | str | None = None) -> None:
        super().__init__()
        self.message = message
        self.email = email  # an e-mail's whole text, or why it cannot be shown

    def compose(self) -> ComposeResult:
        m = self.message
        out = Text()
        rows: list[tuple[str, object]] = [
            ("message id", m.id),
            ("kind", m.kind.value),
            ("direction", "inbound" if m.direction.value == "in" else "outbound"),
            *(
                self._email_rows()
                if m.channel_type == schemas.ChannelType.email
                else self._whatsapp_rows()
            ),
        ]
        if m.failed_at or m.error_message:
            rows.append(("failed", full_time(m.failed_at)))
            rows.append(("reason", f"{m.error_message or '—'} ({m.error_code or '?'})"))
        if m.author_name:
            rows.append(("author", m.author_name))
        if m.template_name:
            rows.append(("template", f"{m.template_name} ({m.template_language})"))
        if m.quarantine_rule:
            rows.append(("quarantine", m.quarantine_rule))
        if m.unsupported_reason:
            rows.append(("unsupported", m.unsupported_reason))
        source = self.email
        for label, value in rows:
            out.append(f"{label:<13}", "dim")
            out.append_text(one_line(value))
            out.append("\n")
        if isinstance(source, schemas.EmailSource):
            out.append("\nThe whole e-mail (quoted history and signature included)\n", "bold")
            out.append_text(inert(source.full_text))
        elif isinstance(source, str):
            out.append("\n")
            out.append_text(inert(source, "dim"))
        with Vertical():
            yield Static(Text("Message details"), classes="dialog-title")
            with VerticalScroll():
                yield Static(out, markup=False)

    def _whatsapp_rows(self) -> list[tuple[str, object]]:
        m = self.message
        rows: list[tuple[str, object]] = [
            ("from", m.from_number or "—"),
            ("to", m.to_number or "—"),
            ("WhatsApp id", m.wamid or "—"),
        ]
        if m.direction == schemas.Direction.inbound:  # never sent, delivered or read by us
            return [*rows, ("created", full_time(m.created_at))]
        return [
            *rows,
            ("status", delivery_label(m.status)),
            ("created", full_time(m.created_at)),
            ("sent", full_time(m.sent_at)),
            ("delivered", full_time(m.delivered_at)),
            ("read", full_time(m.read_at)),
        ]

    def _email_rows(self) -> list[tuple[str, object]]:
        """A mail has no WhatsApp id, phone numbers, nor delivered and read times: its
        envelope instead (the Message-ID comes with its whole text)."""
        m = self.message
        email = m.email or schemas.EmailDetails()
        rows: list[tuple[str, object]] = []
        source = self.email
        if isinstance(source, schemas.EmailSource):
            rows.append(("Message-ID", source.header_id))
            if source.in_reply_to:
                rows.append(("In-Reply-To", source.in_reply_to))
        if email.subject is not None:
            rows.append(("subject", email.subject or "(no subject)"))
        for label, addresses in (("from", [email.sender] if email.sender else []),
                                 ("to", email.to), ("cc", email.cc)):  # fmt: skip
            if addresses:
                rows.append((label, ", ".join(addresses)))
        auth = email.auth
        checks = (("SPF", auth.spf), ("DKIM", auth.dkim), ("DMARC", auth.dmarc)) if auth else ()
        verdicts = [f"{name} {verdict}" for name, verdict in checks if verdict]
        if verdicts:
            rows.append(("checks", " · ".join(verdicts)))
        if email.attachments:
            rows.append(("attachments", email.attachments))
        if email.left_out:
            rows.append(("left out", ", ".join(email.left_out)))
        if m.status is not None:
            rows.append(("status", delivery_label(m.status)))
        rows.append(("created", full_time(m.created_at)))
        if m.sent_at is not None:
            rows.append(("sent", full_time(m.sent_at)))
        return rows

    def action_close(self) -> None:
        self.dismiss(None)


# the glyph of each availability, by its name in ``Glyphs``
AVAILABILITY_MARK = {
    Availability.available: "online",
    Availability.away: "away",
    Availability.offline: "offline",
}

UNASSIGN = -1


def owner_picker(
    agents: Callable[[], list[Agent]],
    *,
    title: str = "Assign owner",
    current: int | None = None,
    live: Signal[Any] | None = None,
    languages: list[str] | None = None,
) -> OwnerPicker:
    """Result: an agent id, or ``UNASSIGN``. The agents (with their open counts) are read
    again on every ``live`` signal while the picker is open. ``languages``: the contact's
    (``Contact.languages``, best first): the agents who read them come first; ``None``
    while not known (``OwnerPicker.read_by`` gives them later)."""
    return OwnerPicker(title, agents, current=current, live=live, languages=languages or [])


class OwnerPicker(FuzzyPicker[int]):
    """The owner picker whose agents' open counts follow the live stream."""

    def __init__(
        self,
        title: str,
        agents: Callable[[], list[Agent]],
        *,
        current: int | None,
        live: Signal[Any] | None,
        languages: list[str],
    ) -> None:
        self.current = current
        self.agents = agents
        self.live = live
        self.languages = languages
        super().__init__(
            title, _owner_items(agents(), current, languages), placeholder="type an agent's name"
        )

    def on_mount(self) -> None:
        super().on_mount()
        if self.live is not None:
            self.live.subscribe(self, self._on_live)

    def on_unmount(self) -> None:
        if self.live is not None:
            self.live.unsubscribe(self)

    def _on_live(self, _event: object) -> None:
        items = _owner_items(self.agents(), self.current, self.languages)
        if [item.label for item in items] != [item.label for item in self.items]:
            self.set_items(items)

    def read_by(self, languages: list[str]) -> None:
        """The contact's languages, known once the picker is open: the agents who read them
        go first, and the highlight with the first unless the agent moved it or typed."""
        if languages == self.languages:
            return
        untouched = not self.query_one("#picker-input", Input).value and (
            self.query_one("#picker-options", OptionList).highlighted in (None, 0)
        )
        self.languages = languages
        self.set_items(_owner_items(self.agents(), self.current, languages))
        if untouched:
            self.query_one("#picker-options", OptionList).highlighted = 0
            self._show_detail()


def reads_rank(skills: list[str], languages: list[str]) -> int:
    """Where an agent stands for a contact who reads ``languages`` (best first, WhatsApp
    codes such as ``es_ES``, ``es``): the place of the first one the agent reads (a
    ``lang:es`` skill reads ``es`` and every ``es_XX``); last when none."""
    read = {
        skill.split(":", 1)[1].strip().lower().replace("-", "_").split("_", 1)[0]
        for skill in skills
        if skill.lower().startswith("lang:")
    }
    for place, code in enumerate(languages):
        if code.lower().split("_", 1)[0] in read:
            return place
    return len(languages)


def _owner_items(
    agents: list[Agent], current: int | None, languages: list[str]
) -> list[PickItem[int]]:
    items: list[PickItem[int]] = []
    order = {Availability.available: 0, Availability.away: 1, Availability.offline: 2}
    # the reachable agents who read the contact's language first; offline ones stay last
    for agent in sorted(
        agents,
        key=lambda a: (
            a.availability == Availability.offline,
            reads_rank(a.skills, languages),
            order.get(a.availability, 3),
            a.open_tickets,
            a.name.lower(),
        ),
    ):
        label = Text()
        mark = AVAILABILITY_MARK.get(agent.availability)
        label.append((getattr(glyphs(), mark) if mark else "?") + " ")
        label.append_text(one_line(agent.name, "bold" if agent.id == current else ""))
        if agent.id == current:  # beside the name: a long line wraps, and the mark with it
            label.append(" (current)", "italic")
        label.append(f"  {agent.availability.value}", "dim")
        label.append(f" · {agent.open_tickets} open", "dim")
        if agent.skills:
            label.append(" · " + ", ".join(agent.skills[:4]), "dim")
        items.append(
            PickItem(agent.id, label, f"{agent.name} {' '.join(agent.skills)} {agent.team or ''}")
        )
    items.append(
        PickItem(
            UNASSIGN,
            Text(f"{glyphs().offline} Unassigned", style="italic"),
            "unassigned nobody none",
        )
    )
    return items


def priority_picker(current: TicketPriority | None = None) -> FuzzyPicker[TicketPriority]:
    marks = {"urgent": "!!", "high": "! ", "medium": "  ", "low": "  "}
    items = []
    for priority in (
        TicketPriority.urgent,
        TicketPriority.high,
        TicketPriority.medium,
        TicketPriority.low,
    ):
        label = Text(f"{marks[priority.value]} {priority.value.capitalize()}")
        if priority == current:
            label.append("  (current)", "italic")
        items.append(PickItem(priority, label, priority.value))
    return FuzzyPicker("Priority", items, placeholder="urgent, high, medium, low")


def snooze_picker(now: datetime) -> FuzzyPicker[datetime]:
    """``z``: until when the ticket waits (pending), in the agent's local time."""
    local = now.astimezone()
    tomorrow = (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    monday = (local + timedelta(days=7 - local.weekday())).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    choices = [
        ("In 1 hour", local + timedelta(hours=1)),
        ("In 4 hours", local + timedelta(hours=4)),
        ("Tomorrow 09:00", tomorrow),
        ("Next Monday 09:00", monday),
    ]
    items = [
        PickItem(until, Text(label), label.lower(), detail=Text(f"{until:%a %d %b %H:%M}"))
        for label, until in choices
    ]
    return FuzzyPicker("Snooze until (back by itself)", items, placeholder="1 hour, tomorrow…")


# WhatsApp's quick reactions, in its order: (emoji, label, words to filter by)
REACTIONS: tuple[tuple[str, str, str], ...] = (
    ("👍", "thumbs up", "thumbs up like ok yes"),
    ("❤️", "heart", "heart love"),
    ("😂", "laughing", "laugh funny joy"),
    ("😮", "surprised", "wow surprised"),
    ("😢", "sad", "sad sorry cry"),
    ("🙏", "thank you", "thanks please pray"),
)
REMOVE_REACTION = ""  # what the API takes to remove one's reaction


def reaction_picker(current: str | None = None) -> FuzzyPicker[str]:
    """Result: an emoji, or ``REMOVE_REACTION``."""
    items = []
    for emoji, label, words in REACTIONS:
        text = Text(f"{emoji}  {label}")
        if emoji == current:
            text.append("  (yours)", "italic")
        items.append(PickItem(emoji, text, f"{label} {words}"))
    if current:
        items.append(PickItem(REMOVE_REACTION, Text("✕  remove my reaction"), "remove none"))
    return FuzzyPicker("React with", items, placeholder="type to filter: heart, thanks…")


def inert_label(value: object) -> Text:
    return inert(value)
