"""Someone wrote in the thread while the agent was writing: show it, ask before sending."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from backend.schemas import Direction, Message
from tui.dialogs.simple import DIALOG_CSS, ConfirmDialog
from tui.text import clock, inert, one_line


def describe(message: Message, contact_name: str) -> Text:
    """One message as the question shows it: who, when, what (customer text stays inert)."""
    out = Text()
    who = contact_name if message.direction == Direction.inbound else message.author_name
    out.append_text(one_line(who or "Someone", "bold"))
    out.append(f" {clock(message.created_at)}\n", "dim")
    out.append_text(inert(message.text or f"[{message.kind.value}]"))
    return out


class ThreadChangedDialog(ConfirmDialog):
    """``y`` sends the reply anyway, ``n``/``escape`` keeps it as a draft."""

    DEFAULT_CSS = (
        "ThreadChangedDialog {"
        + DIALOG_CSS
        + "& #tc-messages { height: auto; max-height: 14; } & .tc-message { padding-bottom: 1; }}"
    )

    def __init__(self, messages: list[Message], contact_name: str) -> None:
        count = len(messages)
        super().__init__(
            f"{count} new message{'s' if count != 1 else ''} in this thread since you started "
            "writing:",
            yes="Send anyway",
            no="Keep my draft",
        )
        self.messages = messages
        self.contact_name = contact_name

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # enter keeps the draft: sending is a choice

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), classes="dialog-title")
            with VerticalScroll(id="tc-messages"):
                for message in self.messages:
                    yield Static(describe(message, self.contact_name), classes="tc-message")
            yield Static(Text("Send your reply anyway?"))
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.no} (n)", id="no")
                yield Button(f"{self.yes} (y)", id="yes", variant="primary")
