"""The messages of the open thread, with a cursor for per-message actions.

Messages come in pages (newest first from the API); older pages load when the cursor goes
past the oldest loaded message, or a scroll comes within a screen of the top. The log is
one line-drawn widget (Textual's Line API, like the thread list): each message's ``Text``
is wrapped once per width and kept, and only the lines in view are drawn, so a long page
costs no layout. It only keeps the loaded pages of one thread.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message as TMessage
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from backend.schemas import MEDIA_KINDS, DeliveryStatus, Direction, MessageKind
from tui import render
from tui.glyphs import glyphs

if TYPE_CHECKING:
    from backend.schemas import Message

# a message's left edge: the cells of Textual's "outer" and "thick" left borders
EDGE = "▌"
CURSOR_EDGE = "█"


@dataclass(frozen=True)
class Box:
    """How a block sits in the log: the cells either side, its edge and its background
    (component style names), its padding."""

    left: int = 0
    right: int = 0
    edge: str | None = None
    background: str | None = None
    padding: int = 1


FRAME_BOX = Box(padding=0)  # the earlier conversation's hint, title and divider: centred


@dataclass(eq=False)
class Block:
    """One entry of the log: a message, or a line framing the earlier conversation."""

    message: Message | None = None
    text: Text | None = None  # a frame line
    gap: int = 1  # blank lines under it
    earlier: bool = False  # of the frame (never under the cursor)
    lines: list[list[Segment]] = field(default_factory=list)  # its content, wrapped
    key: tuple[object, ...] = ()  # what ``lines`` were wrapped for


class MessageLog(ScrollView, can_focus=True):
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

    COMPONENT_CLASSES = {
        "message-log--edge-out",
        "message-log--edge-in",
        "message-log--edge-note",
        "message-log--edge-placeholder",
        "message-log--edge-cursor",
        "message-log--note",
        "message-log--cursor",
        "message-log--muted",
    }

    DEFAULT_CSS = """
    MessageLog {
        padding: 0 1;
        overflow-x: hidden;
        & > .message-log--edge-out { color: $primary 50%; }
        & > .message-log--edge-in { color: $secondary 50%; }
        & > .message-log--note { background: $warning 12%; }
        & > .message-log--edge-note { background: $warning 12%; color: $warning; }
        & > .message-log--edge-placeholder { color: $error; }
        & > .message-log--cursor { background: $boost; }
        & > .message-log--edge-cursor { background: $boost; color: $accent; }
        & > .message-log--muted { color: $text-muted; }
    }
    """

    WRAP_AHEAD = 6  # lines wrapped beyond the view (wrapping a page's every message costs)

    cursor: reactive[int] = reactive(-1, always_update=True, init=False, repaint=False)

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
        self.lines_drawn = 0  # lines drawn since the log was made (only those in view are)
        # one block per message (``messages[i]`` is drawn by ``_blocks[i]``), under the
        # frame: the earlier conversation's hint, or its title, messages and divider
        self._blocks: list[Block] = []
        self._frame: list[Block] = []
        self._expanded: set[int] = set()  # ids of the long messages shown whole
        self._tops: list[int] = []  # the first line of each block of ``_laid_out``
        self._laid_out: list[Block] = []  # the frame's blocks, then the messages', as placed
        self._width = 0  # the width the blocks were laid out for
        self._estimated_until = -1  # the last line of a block not wrapped yet (-1: none)
        self._cursor_to_view = False  # scroll the cursor into view once laid out
        # the end is in view (it stays so when the log is resized or lines come)
        self._at_end = True
        self._styles: tuple[dict[str, Style], tuple[object, ...]] | None = None

    # ----------------------------------------------------------------- content

    def clear_thread(self) -> None:
        self.search_terms = ()
        self.messages = []
        self._blocks = []
        self._frame = []
        self._expanded = set()
        self.has_older = False
        self._relayout()
        self.scroll_to(y=0, animate=False, immediate=True, force=True)
        self.cursor = -1

    def set_messages(self, newest_first: list[Message], has_older: bool) -> None:
        """Show a thread's first page (as the API returns it, newest first), the newest
        message in view."""
        self.messages = [m for m in reversed(newest_first) if not _hidden(m)]
        self._blocks = [Block(message=m) for m in self.messages]
        self._frame = []
        self._expanded = set()
        self.has_older = has_older
        self._relayout()
        self._scroll_end()
        self.cursor = len(self.messages) - 1

    def prepend_older(self, newest_first: list[Message], has_older: bool) -> None:
        known = {m.id for m in self.messages}
        older = [m for m in reversed(newest_first) if m.id not in known and not _hidden(m)]
        self.has_older = has_older
        self.loading_older = False
        if not older:
            return
        self.messages = older + self.messages
        self._blocks = [Block(message=m) for m in older] + self._blocks
        self._shift_cursor(0, len(older))
        self._keep_in_view(self._relayout)

    def upsert(self, message: Message) -> None:
        """A live or just-sent message: update it in place, or add it in its place in
        WhatsApp's timestamp order (a message delivered late is not the newest)."""
        if _hidden(message):
            return
        for index, known in enumerate(self.messages):
            if known.id == message.id:
                self.messages[index] = message
                self._blocks[index].message = message
                self._keep_in_view(self._relayout)
                return
        at_end = self.cursor >= len(self.messages) - 1
        position = len(self.messages)
        while position and _order(self.messages[position - 1]) > _order(message):
            position -= 1
        if position < len(self.messages):
            self._insert(position, message)
            return
        self.messages.append(message)
        self._blocks.append(Block(message=message))
        self._keep_in_view(self._relayout, at_end)
        if at_end:
            self.cursor = len(self.messages) - 1

    def add_answer(self, message: Message, replaces: tuple[DeliveryStatus, ...] = ()) -> None:
        """A send's own answer: the message as it was queued. Its live events may have
        come first (a relay can take a mail before the answer is read), and they are
        newer: the answer adds a message the log does not show yet, and replaces a shown
        one only while that one is still in a state of ``replaces`` (a retried failure)."""
        for known in self.messages:
            if known.id == message.id and known.status not in replaces:
                return
        self.upsert(message)

    def _insert(self, position: int, message: Message) -> None:
        """A late message among the loaded ones; the cursor stays on its message."""
        if position == 0 and self.has_older:
            return  # older than the loaded pages: it comes with them
        self.messages.insert(position, message)
        self._blocks.insert(position, Block(message=message))
        self._shift_cursor(position, 1)
        self._keep_in_view(self._relayout)

    def _shift_cursor(self, position: int, count: int) -> None:
        """Messages came in at ``position``: the cursor stays on its message, where it is
        on the screen (no scroll, as a cursor move would)."""
        if self.cursor >= position:
            self.set_reactive(MessageLog.cursor, self.cursor + count)

    def show_earlier_hint(self, hint: Text) -> None:
        """A line at the top of the thread saying an earlier conversation can be shown
        (``show_earlier`` replaces it)."""
        if self._frame:
            return
        self._frame = [Block(text=hint, gap=0, earlier=True)]
        self._keep_in_view(self._relayout)

    def show_earlier(self, title: Text, newest_first: list[Message]) -> None:
        """The contact's previous conversation above this one, read-only, ending in a
        divider (the cursor stays on this thread's messages)."""
        frame = [Block(text=title, gap=0, earlier=True)]
        frame += [Block(message=m, earlier=True) for m in reversed(newest_first) if not _hidden(m)]
        frame.append(Block(text=Text("── this conversation ──", style="bold"), earlier=True))
        self._frame = frame
        self._relayout()
        self.scroll_to(y=0, animate=False, immediate=True, force=True)

    @property
    def earlier_hint_shown(self) -> bool:
        return len(self._frame) == 1

    @property
    def earlier_shown(self) -> bool:
        """The previous conversation is shown above this one."""
        return len(self._frame) > 1

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

    def message_span(self, index: int) -> tuple[int, int]:
        """The first line and the line count of ``messages[index]`` (its gap not counted)."""
        block = self._blocks[index]
        return self._tops[len(self._frame) + index], len(block.lines)

    # ----------------------------------------------------------------- layout

    def _all_blocks(self) -> list[Block]:
        return self._frame + self._blocks

    def _relayout(self, *, whole: bool = False) -> None:
        """Place every block. Those not wrapped for this width yet are wrapped from the
        newest up until the view is filled and ``WRAP_AHEAD`` lines more (all of them when
        ``whole``); the older ones get an estimated height until a scroll or the cursor
        comes near them."""
        width = self._width = self._layout_width()
        if width <= 0:  # not laid out yet (a hidden pane): ``render_lines`` comes back
            self._tops, self._laid_out, self._estimated_until = [], [], -1
            self.virtual_size = Size(0, 0)
            return
        now = self.now()
        shared = self._shared(now)
        cursor = self._blocks[self.cursor] if 0 <= self.cursor < len(self._blocks) else None
        budget = self._view_height() + 2 * self.WRAP_AHEAD
        blocks = self._all_blocks()
        heights = [0] * len(blocks)
        filled = 0
        estimated = -1  # the newest block with an estimated height
        for index in range(len(blocks) - 1, -1, -1):
            block = blocks[index]
            room, key = self._key(block, width, shared, block is cursor)
            if key != block.key and (whole or filled < budget):
                self._wrap(block, room, key, now)
            if key == block.key:
                height = len(block.lines)
            else:
                height = _estimate(block, room)
                estimated = max(estimated, index)
            heights[index] = height + block.gap
            filled += heights[index]
        self._tops = list(accumulate(heights, initial=0))[:-1]
        self._laid_out = blocks
        self._estimated_until = self._tops[estimated] + heights[estimated] if estimated >= 0 else -1
        self.virtual_size = Size(width, filled)
        self.refresh()

    def _shared(self, now: datetime | None = None) -> tuple[object, ...]:
        """What every message's lines depend on (the day: a time shows its date when not
        today's)."""
        now = now or self.now()
        return (self.contact_name, self.is_admin, self.accent_style, glyphs(), now.date())

    def _view_height(self) -> int:
        return self.scrollable_content_region.height or self.app.size.height

    def _near_estimated(self, y: float) -> bool:
        """Is line ``y`` near (or in) the blocks still with an estimated height?"""
        return self._estimated_until >= 0 and y < self._estimated_until + self.WRAP_AHEAD

    def _layout_width(self) -> int:
        """The width of the lines: the scrollbar the blocks will need is taken off at once
        (each message takes three lines at least), rather than wrapping all again when it
        appears."""
        width = self.scrollable_content_region.width
        if (
            not self.show_vertical_scrollbar
            and self.styles.overflow_y == "auto"
            and 3 * len(self._blocks) > self.scrollable_content_region.height
        ):
            width -= self.styles.scrollbar_size_vertical
        return width

    def _keep_in_view(self, change: Callable[[], None], at_end: bool | None = None) -> None:
        """Make a change that moves lines; the end stays in view if it was (or ``at_end``),
        else what is at the top of the view stays there."""
        if at_end is None:
            at_end = self._at_end
        anchor = None
        if not at_end and self._tops:
            index = max(0, bisect_right(self._tops, int(self.scroll_y)) - 1)
            anchor = (self._laid_out[index], int(self.scroll_y) - self._tops[index])
        change()
        if at_end:
            self._scroll_end()
        elif anchor is not None:
            block, offset = anchor
            for index, other in enumerate(self._laid_out):
                if other is block:
                    self._set_scroll_y(self._tops[index] + offset)
                    break
        self._at_end = self.scroll_y >= self.max_scroll_y

    def _set_scroll_y(self, y: float) -> None:
        self.scroll_to(y=y, animate=False, immediate=True, force=True)

    def _scroll_end(self) -> None:
        # (not laid out yet: ``render_lines`` lays out with the end in view)
        if self._tops:
            self._set_scroll_y(
                max(0, self.virtual_size.height - self.scrollable_content_region.height)
            )

    def _box(self, block: Block, at_cursor: bool) -> Box:
        if block.message is None:
            return FRAME_BOX
        return box_of(block.message, at_cursor)

    def _key(
        self, block: Block, width: int, shared: tuple[object, ...], at_cursor: bool
    ) -> tuple[int, tuple[object, ...]]:
        """The width a block's text wraps to, and what its lines depend on."""
        box = self._box(block, at_cursor)
        room = max(1, width - box.left - box.right - (1 if box.edge else 0) - 2 * box.padding)
        message = block.message
        if message is None:
            return room, (room, shared)
        return room, (message, message.id in self._expanded, room, shared)

    def _wrap(self, block: Block, room: int, key: tuple[object, ...], now: datetime) -> None:
        block.key = key
        console = self.app.console
        options = self.app.console_options.update(highlight=False, width=room, height=None)
        segments = console.render(self._renderable(block, now), options)
        block.lines = [
            list(line)
            for line in Segment.split_and_crop_lines(
                segments, room, include_new_lines=False, pad=True
            )
        ]

    def _renderable(self, block: Block, now: datetime) -> RenderableType:
        message = block.message
        if message is None:
            assert block.text is not None
            text = block.text.copy()
            text.justify = "center"
            return text
        body = render.body(message, expanded=message.id in self._expanded, is_admin=self.is_admin)
        if message.kind == MessageKind.event:
            body.justify = "center"
            return body
        header = render.header_line(
            message,
            contact_name=self.contact_name,
            agent_name=self.agent_name,
            accent=self.accent_style,
            now=now,
        )
        return Group(header, body)

    # ----------------------------------------------------------------- drawing

    def notify_style_update(self) -> None:
        self._styles = None  # the theme or the CSS changed
        super().notify_style_update()

    def _look(self) -> dict[str, Style]:
        # Textual forgets a widget's component styles at every refresh; they change only
        # with the CSS or the theme (see ThreadList._make_look)
        sources = tuple(self._component_styles.values())
        cached = self._styles
        if (
            cached is None
            or len(cached[1]) != len(sources)
            or any(old is not new for old, new in zip(cached[1], sources, strict=True))
        ):
            styles = {"base": self.rich_style}
            for name in self.COMPONENT_CLASSES:
                styles[name.removeprefix("message-log--")] = self.get_component_rich_style(name)
            cached = self._styles = (styles, sources)
        return cached[0]

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.scrollable_content_region.width != self._width:
            self._keep_in_view(self._relayout)  # a resize, or the scrollbar came or went
        if self._near_estimated(self.scroll_y):
            # the view comes near the messages not wrapped yet
            self._keep_in_view(lambda: self._relayout(whole=True))
        if self._cursor_to_view and self._tops:
            self._cursor_to_view = False
            if 0 <= self.cursor < len(self._blocks):
                self._scroll_to_message(self.cursor)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self._width
        styles = self._look()
        base = styles["base"]
        line = int(self.scroll_y) + y
        blocks = self._laid_out
        index = bisect_right(self._tops, line) - 1
        if index < 0 or index >= len(blocks):
            return Strip.blank(width, base)
        block = blocks[index]
        row = line - self._tops[index]
        if row >= len(block.lines):
            return Strip.blank(width, base)
        self.lines_drawn += 1
        at_cursor = (
            block is not None and not block.earlier and index - len(self._frame) == self.cursor
        )
        box = self._box(block, at_cursor)
        background = base + styles[box.background] if box.background else base
        if block.message is None:
            background = base + styles["muted"]
        segments = [Segment(" " * box.left, base)] if box.left else []
        if box.edge:
            segments.append(
                Segment(CURSOR_EDGE if box.edge == "edge-cursor" else EDGE, styles[box.edge])
            )
        if box.padding:
            segments.append(Segment(" " * box.padding, background))
        segments.extend(Segment.apply_style(block.lines[row], background))
        if box.padding:
            segments.append(Segment(" " * box.padding, background))
        if box.right:
            segments.append(Segment(" " * box.right, base))
        if width < 14:  # too narrow for the boxes: the line may overflow
            return Strip(segments).crop_extend(0, width, base)
        return Strip(segments, width)

    # ----------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        if 0 <= new < len(self._blocks):
            top = self._tops[len(self._frame) + new] if self._tops else 0
            if self._near_estimated(top):
                self._keep_in_view(lambda: self._relayout(whole=True))  # it heads for them
        # the cursor's edge may change a message's width, and so its wrapping and height
        width, shared, now = self._width, self._shared(), self.now()
        moved = False
        for index in (old, new):
            if 0 <= index < len(self._blocks):
                block = self._blocks[index]
                room, key = self._key(block, width, shared, index == new)
                if key != block.key and block.key:
                    height = len(block.lines)
                    self._wrap(block, room, key, now)
                    moved = moved or len(block.lines) != height
        if moved:
            self._keep_in_view(self._relayout)
        self.refresh()
        if 0 <= new < len(self._blocks):
            self._scroll_to_message(new)
        self.refresh_bindings()

    def _scroll_to_message(self, index: int) -> None:
        if not self._tops:  # not laid out yet: once it is (see ``render_lines``)
            self._cursor_to_view = True
            return
        if index >= len(self._blocks):
            return
        height = self.scrollable_content_region.height
        top, lines = self.message_span(index)
        y = int(self.scroll_y)
        if index == len(self._blocks) - 1:
            lines += self._blocks[index].gap  # the newest: the end of the log in view
        if top < y or lines > height:
            self._set_scroll_y(top)
        elif top + lines > y + height:
            self._set_scroll_y(top + lines - height)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._at_end = new_value >= self.max_scroll_y
        if (
            new_value < old_value
            and new_value < self.scrollable_content_region.height
            and self.has_older
            and not self.loading_older
            and self.messages
        ):
            self.loading_older = True  # a scroll near the top: the older page on its way
            self.post_message(self.NeedOlder(self, self.messages[0].id))

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
        message = self.selected
        if message is not None:
            self._expanded ^= {message.id}
            self._keep_in_view(self._relayout, at_end=False)
            self._scroll_to_message(self.cursor)

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
            return message is not None and (
                bool(message.attachments)  # an e-mail's files, received or sent
                or (
                    message.kind in MEDIA_KINDS
                    and message.media is not None
                    and message.media.id is not None
                )
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


def box_of(message: Message, at_cursor: bool) -> Box:
    """The box of a message: the old item's CSS cascade (out, in, note, event, placeholder,
    cursor: the last that applies wins)."""
    names = _classes(message)
    left = right = 0
    edge = background = None
    if "-out" in names:
        left, right, edge = 4, 0, "edge-out"
    if "-in" in names:
        left, right, edge = 0, 4, "edge-in"
    if "-note" in names:
        left, right, edge, background = 4, 0, "edge-note", "note"
    if "-event" in names:
        left, right = 4, 4
    if "-placeholder" in names:
        edge = "edge-placeholder"
    if at_cursor:
        edge, background = "edge-cursor", "cursor"
    return Box(left, right, edge, background)


def _estimate(block: Block, room: int) -> int:
    """The lines a block not wrapped yet may take (a header, its text's lines)."""
    message = block.message
    if message is None:
        return 1
    text = message.text or (message.media.caption if message.media else None) or ""
    lines = sum(max(1, -(-len(part) // room)) for part in text.split("\n"))
    return 1 + lines + (message.reply_to is not None)
