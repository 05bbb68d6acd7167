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
from textual.widget import AwaitMount, Widget
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
        super().__init__("", markup=False, classes=" ".join(_classes(message)))
        self.message = message
        self._log = log
        self.expanded = False

    def _apply_classes(self) -> None:
        wanted = _classes(self.message)
        for name in ITEM_CLASSES:
            self.set_class(name in wanted, name)

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
            "ctrl+d",
            "half_page(1)",
            "Half page down",
            show=False,
            id="log.half_down",
            tooltip="Half a screenful of messages down",
        ),
        Binding(
            "ctrl+u",
            "half_page(-1)",
            "Half page up",
            show=False,
            id="log.half_up",
            tooltip="Half a screenful of messages up (loads older ones at the top)",
        ),
        Binding(
            "Q", "quote", "Quote reply", id="log.quote", tooltip="Reply to this message (quoted)"
        ),
        Binding("e", "expand", "Show more", id="log.expand", tooltip="Show the whole long message"),
        Binding("E", "react", "React", id="log.react", tooltip="React to this message (emoji)"),
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
        Binding(
            "n",
            "hit(1)",
            "Next hit",
            id="log.next_hit",
            tooltip="Next message matching the search (in a thread opened from search)",
        ),
        Binding(
            "N",
            "hit(-1)",
            "Prev. hit",
            id="log.previous_hit",
            tooltip="Previous message matching the search",
        ),
    ]

    DEFAULT_CSS = """
    MessageLog {
        padding: 0 1;
        & .earlier-title, & .earlier-divider, & .earlier-hint {
            text-align: center; color: $text-muted;
        }
        & .earlier-divider { margin: 0 0 1 0; }
    }
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
        self.search_terms: tuple[str, ...] = ()  # of the search this thread was opened from
        # one item per message (``messages[i]`` is shown by ``_item_list[i]``); the oldest of
        # a fresh page may not be mounted yet (see ``set_messages``)
        self._item_list: list[MessageItem] = []
        self._generation = 0  # of the shown page: a late callback for an older one is dropped
        self._unmounted = 0  # the oldest items of the page not mounted yet (see set_messages)

    # ----------------------------------------------------------------- content

    def clear_thread(self) -> None:
        self.search_terms = ()
        self._generation += 1
        self._unmounted = 0
        self.messages = []
        self._item_list = []
        self.has_older = False
        self.remove_children()
        self.cursor = -1

    def set_messages(self, newest_first: list[Message], has_older: bool) -> AwaitMount:
        """Show a thread's first page (as the API returns it, newest first).

        The newest message is kept in view. Only the newest messages that can fill the
        screen are mounted; the older ones of the page wait until the cursor or a scroll
        heads their way (laying out and wrapping every message of the page costs a frame).
        """
        self._generation += 1
        self.remove_children()
        self.messages = [m for m in reversed(newest_first) if not _hidden(m)]
        self.has_older = has_older
        self._item_list = [MessageItem(m, self) for m in self.messages]
        self._unmounted = max(0, len(self._item_list) - (self.app.size.height // 3 + 2))
        mounted = self.mount_all(self._item_list[self._unmounted :])
        self._stick_to_end()
        self.cursor = len(self.messages) - 1
        return mounted

    def _stick_to_end(self) -> None:
        """Keep the newest message in view.

        When the messages surely overflow the log (each takes at least three rows), the log
        is anchored: the layout itself scrolls to the end, in the same frame. Otherwise
        (anchoring short content would push it to the bottom) it scrolls after the refresh.
        """
        if len(self._item_list) * 3 >= max(self.size.height, self.app.size.height // 2):
            self.anchor()
        else:
            self.anchor(False)
            self.call_after_refresh(self.scroll_end, animate=False)

    def _mount_all(self) -> None:
        """Mount the older messages of the page still waiting (see ``set_messages``)."""
        count = self._unmounted
        if not count:
            return
        self._unmounted = 0
        self.mount_all(self._item_list[:count], before=self._item_list[count])
        if self._anchored and not self._anchor_released:
            return  # the anchor keeps the end in view
        # what is in view stays in view: the messages above push it down by their height
        height, y = self.virtual_size.height, self.scroll_y
        generation = self._generation

        def keep_in_view() -> None:
            if generation == self._generation:
                added = self.virtual_size.height - height
                self.scroll_to(y=y + added, animate=False, immediate=True)

        self.call_after_refresh(keep_in_view)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if (
            self._unmounted
            and self._anchor_released  # the user scrolls (the anchor's scrolls do not count)
            and new_value < old_value
            and new_value < self.scrollable_content_region.height
        ):
            self._mount_all()

    def prepend_older(self, newest_first: list[Message], has_older: bool) -> None:
        self._mount_all()
        known = {m.id for m in self.messages}
        older = [m for m in reversed(newest_first) if m.id not in known and not _hidden(m)]
        self.has_older = has_older
        self.loading_older = False
        if not older:
            return
        self.messages = older + self.messages
        items = [MessageItem(m, self) for m in older]
        first = self._item_list[0] if self._item_list else None
        self._item_list = items + self._item_list
        if first is not None:
            self.mount_all(items, before=first)
        else:
            self.mount_all(items)
        self.cursor = self.cursor + len(older)

    def upsert(self, message: Message) -> None:
        """A live or just-sent message: update it in place, or add it in its place in
        WhatsApp's timestamp order (a message delivered late is not the newest)."""
        if _hidden(message):
            return
        for index, known in enumerate(self.messages):
            if known.id == message.id:
                self.messages[index] = message
                items = self._item_list
                if index < len(items):
                    items[index].update_message(message)
                return
        position = len(self.messages)
        while position and _order(self.messages[position - 1]) > _order(message):
            position -= 1
        if position < len(self.messages):
            self._insert(position, message)
            return
        at_end = self.cursor >= len(self.messages) - 1
        self.messages.append(message)
        item = MessageItem(message, self)
        self._item_list.append(item)
        self.mount(item)
        if at_end:
            self._stick_to_end()
            self.cursor = len(self.messages) - 1

    def show_earlier_hint(self, hint: Text) -> None:
        """A line at the top of the thread saying an earlier conversation can be shown
        (``show_earlier`` replaces it)."""
        if self.query(".earlier"):
            return
        line = Static(hint, classes="earlier earlier-hint", markup=False)
        if self.children:
            self.mount(line, before=0)
        else:
            self.mount(line)

    def show_earlier(self, title: Text, newest_first: list[Message]) -> None:
        """The contact's previous conversation above this one, read-only, ending in a
        divider (the cursor stays on this thread's messages)."""
        for widget in self.query(".earlier"):
            widget.remove()
        items: list[Widget] = [Static(title, classes="earlier earlier-title", markup=False)]
        for message in reversed(newest_first):
            if not _hidden(message):
                items.append(MessageItem(message, self))
                items[-1].add_class("earlier")
        items.append(
            Static(
                Text("── this conversation ──", style="bold"),
                classes="earlier earlier-divider",
                markup=False,
            )
        )
        first = self.children[0] if self.children else None
        if first is not None:
            self.mount_all(items, before=first)
        else:
            self.mount_all(items)
        self.release_anchor()
        self.call_after_refresh(self.scroll_home, animate=False)

    def _insert(self, position: int, message: Message) -> None:
        """A late message among the loaded ones; the cursor stays on its message."""
        if position == 0 and self.has_older:
            return  # older than the loaded pages: it comes with them
        item = MessageItem(message, self)
        self.messages.insert(position, message)
        self._item_list.insert(position, item)
        if position < self._unmounted:
            self._unmounted += 1  # mounted with the rest of the page
        else:
            self.mount(item, before=self._item_list[position + 1])
        if self.cursor >= position:
            self.cursor += 1

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
        items = self._item_list
        if 0 <= old < len(items):
            items[old].remove_class("-cursor")
        if 0 <= new < self._unmounted + 2:
            self._mount_all()  # the cursor heads for the older messages of the page
        if 0 <= new < len(items):
            items[new].add_class("-cursor")
            anchored = self._anchored and not self._anchor_released
            if new < len(items) - 1 or not anchored:
                self.call_after_refresh(self._scroll_to_item, items[new])
            # the newest, anchored: the end stays in view without a scroll of our own
        self.refresh_bindings()

    def _scroll_to_item(self, item: Widget, tries: int = 5) -> None:
        if item.parent is not self or not item.size.height:
            if tries and item in self._item_list:  # not mounted or laid out yet
                self.call_after_refresh(self._scroll_to_item, item, tries - 1)
            return
        if item.is_attached:
            # leave the end (the anchor would pull the log back); the anchor comes back when
            # the log is scrolled to the end again
            self.release_anchor()
            self.scroll_to_widget(item, animate=False, top=False)

    def action_cursor(self, delta: int) -> None:
        if not self.messages:
            return
        new = self.cursor + delta
        if new < 0 and self.has_older and not self.loading_older:
            self.loading_older = True
            self.post_message(self.NeedOlder(self, self.messages[0].id))
        self.cursor = max(0, min(new, len(self.messages) - 1))

    def _is_hit(self, message: Message) -> bool:
        text = " ".join(
            filter(None, (message.text, message.media.caption if message.media else None))
        )
        words = text.lower()
        return bool(words) and all(term in words for term in self.search_terms)

    def action_hit(self, step: int) -> None:
        """``n``/``N``: the next (older: ``N``) message that matches the search."""
        index = self.cursor + step
        while 0 <= index < len(self.messages):
            if self._is_hit(self.messages[index]):
                self.cursor = index
                return
            index += step
        self.app.bell()

    def action_half_page(self, direction: int) -> None:
        # a message takes at least three rows (a header, a line, a margin)
        self.action_cursor(direction * max(1, self.scrollable_content_region.height // 6))

    def action_first(self) -> None:
        if self.has_older and not self.loading_older and self.messages:
            self.loading_older = True
            self.post_message(self.NeedOlder(self, self.messages[0].id))
        self.cursor = 0 if self.messages else -1

    def action_last(self) -> None:
        self.cursor = len(self.messages) - 1

    def action_expand(self) -> None:
        items = self._item_list
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

    def action_react(self) -> None:
        self._post("react")

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
        if action == "react":
            # WhatsApp takes a reaction to a message it carried (not a note or an event line)
            return (
                message is not None
                and bool(message.wamid)
                and message.kind not in (MessageKind.note, MessageKind.event)
            )
        if action == "expand":
            return message is not None and render.is_truncated(message)
        if action == "hit":
            return bool(self.search_terms) and bool(self.messages)
        return True


ITEM_CLASSES = ("-note", "-event", "-placeholder", "-out", "-in")


def _classes(message: Message) -> list[str]:
    """The item's CSS classes (of ``ITEM_CLASSES``) for a message."""
    kind = message.kind
    names = []
    if kind == MessageKind.note:
        names.append("-note")
    elif kind == MessageKind.event:
        names.append("-event")
    elif kind in (MessageKind.unsupported, MessageKind.quarantined):
        if not message.quarantine_revealed:
            names.append("-placeholder")
    if message.direction == Direction.outbound and kind != MessageKind.note:
        names.append("-out")
    if message.direction == Direction.inbound and kind != MessageKind.event:
        names.append("-in")
    return names


def _order(message: Message) -> tuple[datetime, int]:
    """The log's order, the API's: WhatsApp's timestamp, arrival (the id) breaking ties."""
    return message.created_at, message.id


def _hidden(message: Message) -> bool:
    """Reactions are shown on their target, not as messages of their own."""
    return message.kind.value == "reaction"
