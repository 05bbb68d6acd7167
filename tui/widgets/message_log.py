"""The messages of the open thread, with a cursor for per-message actions.

Messages come in pages (newest first from the API); older pages load when the cursor goes
past the oldest loaded message. Each message is a ``MessageItem`` that renders its ``Text``;
the log only keeps the loaded pages of one thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message as TMessage
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from backend.schemas import MEDIA_KINDS, DeliveryStatus, Direction, Message, MessageKind
from tui import render


class MessageItem(Static):
    """One message."""

    DEFAULT_CSS = """
    MessageItem {
        padding: 0 1;
        margin: 0 0 1 0;
        &.-out { margin: 0 0 1 4; border-left: outer $primary 50%; }
        &.-in { margin: 0 4 1 0; border-left: outer $secondary 50%; }
        &.-note { background: $warning 12%; border-left: outer $warning; margin: 0 0 1 4; }
        &.-event { margin: 0 4 1 4; text-align: center; }
        &.-placeholder { border-left: outer $error; }
        &.-cursor { background: $boost; border-left: thick $accent; }
    }
    """

    def __init__(self, message: Message, log: MessageLog) -> None:
        super().__init__("", markup=False)
        self.message = message
        self._log = log
        self.expanded = False
        self._apply_classes()

    def _apply_classes(self) -> None:
        message = self.message
        self.set_class(message.kind == MessageKind.note, "-note")
        self.set_class(message.kind == MessageKind.event, "-event")
        self.set_class(
            message.kind in (MessageKind.unsupported, MessageKind.quarantined)
            and not message.quarantine_revealed,
            "-placeholder",
        )
        outbound = message.direction == Direction.outbound and message.kind != MessageKind.note
        self.set_class(outbound, "-out")
        self.set_class(
            message.direction == Direction.inbound and message.kind != MessageKind.event, "-in"
        )

    def update_message(self, message: Message) -> None:
        self.message = message
        self._apply_classes()
        self.refresh(layout=True)

    def render(self) -> Group | Text:
        log = self._log
        message = self.message
        body = render.body(message, expanded=self.expanded, is_admin=log.is_admin)
        if message.kind == MessageKind.event:
            return body
        header = render.header_line(
            message,
            contact_name=log.contact_name,
            agent_name=log.agent_name,
            accent=log.accent_style,
            now=log.now(),
        )
        return Group(header, body)


class MessageLog(VerticalScroll, can_focus=True):
    """The open thread's messages, oldest at the top, with a cursor."""

    BINDINGS = [
        Binding("j,down", "cursor(1)", "Next", show=False, id="log.down", tooltip="Next message"),
        Binding(
            "k,up",
            "cursor(-1)",
            "Previous",
            show=False,
            id="log.up",
            tooltip="Previous message (loads older ones at the top)",
        ),
        Binding(
            "g,home",
            "first",
            "Oldest",
            show=False,
            id="log.top",
            tooltip="Oldest loaded message (loads older ones)",
        ),
        Binding("G,end", "last", "Newest", show=False, id="log.bottom", tooltip="Newest message"),
        Binding(
            "Q", "quote", "Quote reply", id="log.quote", tooltip="Reply to this message (quoted)"
        ),
        Binding("e", "expand", "Show more", id="log.expand", tooltip="Show the whole long message"),
        Binding("y", "retry", "Retry", id="log.retry", tooltip="Send the failed message again"),
        Binding(
            "R",
            "reveal",
            "Reveal",
            id="log.reveal",
            tooltip="Reveal a quarantined message (admins)",
        ),
        Binding("x", "open_media", "Open file", id="log.open_media", tooltip="Open the attachment"),
        Binding("w", "save_media", "Save file", id="log.save_media", tooltip="Save the attachment"),
        Binding(
            "plus",
            "add_contact",
            "Add contact",
            id="log.add_contact",
            tooltip="Add the shared contact to the contacts",
        ),
    ]

    DEFAULT_CSS = """
    MessageLog { padding: 0 1; }
    """

    cursor: reactive[int] = reactive(-1, always_update=True, init=False)

    @dataclass
    class Action(TMessage):
        """A per-message action the screen carries out (``retry``, ``reveal``…)."""

        log: MessageLog
        action: str
        message: Message

        @property
        def control(self) -> MessageLog:
            return self.log

    @dataclass
    class NeedOlder(TMessage):
        log: MessageLog
        before: int

        @property
        def control(self) -> MessageLog:
            return self.log

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.messages: list[Message] = []
        self.has_older = False
        self.loading_older = False
        self.contact_name = "Contact"
        self.agent_name: Callable[[int | None], str] = lambda _id: ""
        self.is_admin = False
        self.accent_style = "bold"
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)

    # ----------------------------------------------------------------- content

    def _items(self) -> list[MessageItem]:
        return list(self.query_children(MessageItem))

    def clear_thread(self) -> None:
        self.messages = []
        self.has_older = False
        self.remove_children()
        self.cursor = -1

    def set_messages(self, newest_first: list[Message], has_older: bool) -> None:
        """Show a thread's first page (as the API returns it, newest first)."""
        self.remove_children()
        self.messages = [m for m in reversed(newest_first) if not _hidden(m)]
        self.has_older = has_older
        self.mount_all([MessageItem(m, self) for m in self.messages])
        self.cursor = len(self.messages) - 1
        self.call_after_refresh(self.scroll_end, animate=False)

    def prepend_older(self, newest_first: list[Message], has_older: bool) -> None:
        known = {m.id for m in self.messages}
        older = [m for m in reversed(newest_first) if m.id not in known and not _hidden(m)]
        self.has_older = has_older
        self.loading_older = False
        if not older:
            return
        self.messages = older + self.messages
        items = [MessageItem(m, self) for m in older]
        children = self._items()
        if children:
            self.mount_all(items, before=children[0])
        else:
            self.mount_all(items)
        self.cursor = self.cursor + len(older)

    def upsert(self, message: Message) -> None:
        """A live or just-sent message: update it in place or append it."""
        if _hidden(message):
            return
        for index, known in enumerate(self.messages):
            if known.id == message.id:
                self.messages[index] = message
                items = self._items()
                if index < len(items):
                    items[index].update_message(message)
                return
        at_end = self.cursor >= len(self.messages) - 1
        self.messages.append(message)
        self.mount(MessageItem(message, self))
        if at_end:
            self.cursor = len(self.messages) - 1
            self.call_after_refresh(self.scroll_end, animate=False)

    def jump_to(self, message_id: int) -> bool:
        for index, message in enumerate(self.messages):
            if message.id == message_id:
                self.cursor = index
                return True
        return False

    @property
    def selected(self) -> Message | None:
        if 0 <= self.cursor < len(self.messages):
            return self.messages[self.cursor]
        return None

    # ----------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        items = self._items()
        if 0 <= old < len(items):
            items[old].remove_class("-cursor")
        if 0 <= new < len(items):
            items[new].add_class("-cursor")
            self.call_after_refresh(self._scroll_to_item, items[new])
        self.refresh_bindings()

    def _scroll_to_item(self, item: Widget) -> None:
        if item.is_attached:
            self.scroll_to_widget(item, animate=False, top=False)

    def action_cursor(self, delta: int) -> None:
        if not self.messages:
            return
        new = self.cursor + delta
        if new < 0 and self.has_older and not self.loading_older:
            self.loading_older = True
            self.post_message(self.NeedOlder(self, self.messages[0].id))
        self.cursor = max(0, min(new, len(self.messages) - 1))

    def action_first(self) -> None:
        if self.has_older and not self.loading_older and self.messages:
            self.loading_older = True
            self.post_message(self.NeedOlder(self, self.messages[0].id))
        self.cursor = 0 if self.messages else -1

    def action_last(self) -> None:
        self.cursor = len(self.messages) - 1

    def action_expand(self) -> None:
        items = self._items()
        if 0 <= self.cursor < len(items):
            item = items[self.cursor]
            item.expanded = not item.expanded
            item.refresh(layout=True)

    def _post(self, action: str) -> None:
        message = self.selected
        if message is not None:
            self.post_message(self.Action(self, action, message))

    def action_quote(self) -> None:
        self._post("quote")

    def action_retry(self) -> None:
        self._post("retry")

    def action_reveal(self) -> None:
        self._post("reveal")

    def action_open_media(self) -> None:
        self._post("open_media")

    def action_save_media(self) -> None:
        self._post("save_media")

    def action_add_contact(self) -> None:
        self._post("add_contact")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        message = self.selected
        if action == "retry":
            return message is not None and message.status == DeliveryStatus.failed
        if action == "reveal":
            return (
                message is not None
                and self.is_admin
                and message.kind == MessageKind.quarantined
                and not message.quarantine_revealed
            )
        if action in ("open_media", "save_media"):
            return (
                message is not None
                and message.kind in MEDIA_KINDS
                and message.media is not None
                and message.media.id is not None
            )
        if action == "add_contact":
            return message is not None and message.kind == MessageKind.contacts
        if action == "expand":
            return message is not None and render.is_truncated(message)
        return True


def _hidden(message: Message) -> bool:
    """Reactions are shown on their target, not as messages of their own."""
    return message.kind.value == "reaction"
