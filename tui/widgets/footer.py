"""The key footer: the keys that apply right now, drawn as one line of text.

Textual's ``Footer`` recomposes a widget per key whenever the bindings may have changed
(every focus change, every ``refresh_bindings``), which costs a few hundred milliseconds
with the inbox's bindings. This footer works out the shown bindings (the same rule as
``Footer``: ``show=True``, one key per action, disabled ones dimmed), compares them with
what it shows and repaints only when they differ. The palette key sits at the right edge.
A click on a key presses it; hovering shows its tooltip.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

DIM = Style(dim=True)


class FooterItem(NamedTuple):
    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str
    action: str = ""

    def narrow(self, *, pinned: bool = False) -> FooterItem:
        """The narrow form: the description's first word, none for a pinned key."""
        short = "" if pinned else self.description.split(" ", 1)[0]
        return self._replace(description=short)


#: Shown at the right edge, next to the palette, however many keys the line holds: the help
#: screen lists every key, so no key is out of reach when the line leaves some out.
PINNED_ACTIONS = frozenset({"help", "app.help"})

#: Below this width the footer takes its narrow form: the keys of ``FOOTER_FIRST`` lead,
#: descriptions are cut to their first word and the pinned keys (help, palette) show no
#: description, so the most-used keys stay visible at 60 columns. At any width a key that
#: does not fit whole is left out (and the ones after it), never cut.
NARROW_WIDTH = 70


class KeyFooter(Widget, can_focus=False):
    """One line of ``key description`` pairs for the active bindings."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {
        "key-footer--key",
        "key-footer--description",
        "key-footer--separator",
    }
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        width: 1fr;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-footer--separator { color: $foreground 20%; }
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.items: tuple[FooterItem, ...] = ()
        self.palette: FooterItem | None = None
        self.pinned: tuple[FooterItem, ...] = ()
        self._pending = False
        # (start, end, item) of each key drawn by the last render, for clicks and tooltips
        self._spans: list[tuple[int, int, FooterItem]] = []

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.sync()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # coalesce a burst of changes (focus + cursor + …) into one look at the bindings
        if not self._pending and self.is_attached and screen is self.screen:
            self._pending = True
            self.call_later(self.sync)

    def sync(self) -> None:
        """Read the active bindings; repaint only if what the footer shows has changed."""
        self._pending = False
        if not self.is_attached:
            return
        app = self.app
        palette_key = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
        items: list[FooterItem] = []
        pinned: list[FooterItem] = []
        palette: FooterItem | None = None
        seen: set[str] = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if key == palette_key:
                palette = FooterItem(
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    active.enabled,
                    binding.tooltip or binding.description,
                )
                continue
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            # a widget may name what a key does in its present state ("Save note")
            describe = getattr(active.node, "footer_description", None)
            description = (describe(binding.action) if describe else None) or binding.description
            (pinned if binding.action in PINNED_ACTIONS else items).append(
                FooterItem(
                    binding.key,
                    app.get_key_display(binding),
                    description,
                    active.enabled,
                    active.tooltip or binding.tooltip or binding.description,
                    binding.action,
                )
            )
        # a screen names the actions its footer leads with (the keys of every reply), in
        # order; the focused widget's own keys come next, then the screen's other keys
        first = tuple(getattr(self.screen, "FOOTER_FIRST", ()))
        items.sort(
            key=lambda item: first.index(item.action) if item.action in first else len(first)
        )
        shown = (tuple(items), tuple(pinned), palette)
        if shown != (self.items, self.pinned, self.palette):
            self.items, self.pinned, self.palette = shown
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        width = self.size.width
        narrow = width < NARROW_WIDTH
        separator = self.get_component_rich_style("key-footer--separator", partial=True)
        spans: list[tuple[int, int, FooterItem]] = []
        right = Text()
        right_spans: list[tuple[int, int, FooterItem]] = []
        for item in (*self.pinned, self.palette):
            if item is None:
                continue
            right.append(" " if right else "▏", None if right else separator)
            start = right.cell_len
            shown = item.narrow(pinned=True) if narrow else item
            self._append_item(right, shown, key_style, description_style)
            right_spans.append((start, right.cell_len, item))
        room = max(0, width - right.cell_len)
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        # a key is drawn whole or not at all ("t …" told nothing): the keys left out are
        # the last of the order, and ? help and the palette list them
        for item in self.items:
            label = Text()
            self._append_item(
                label, item.narrow() if narrow else item, key_style, description_style
            )
            start = line.cell_len + 1 if line else 0
            if start + label.cell_len > room:
                if not line:  # not even the first fits: it is cut rather than none shown
                    label.truncate(room, overflow="ellipsis")
                    line.append_text(label)
                    if room:
                        spans.append((0, line.cell_len, item))
                break
            if line:
                line.append(" ")
            line.append_text(label)
            spans.append((start, line.cell_len, item))
        if right:
            line.pad_right(width - line.cell_len - right.cell_len)
            offset = line.cell_len
            line.append_text(right)
            spans.extend((s + offset, e + offset, item) for s, e, item in right_spans)
        self._spans = spans
        return line

    @staticmethod
    def _append_item(line: Text, item: FooterItem, key_style: Style, description: Style) -> None:
        line.append(item.display, key_style if item.enabled else key_style + DIM)
        if item.description:
            line.append(" " + item.description, description if item.enabled else description + DIM)

    def _item_at(self, x: int) -> FooterItem | None:
        for start, end, item in self._spans:
            if start <= x < end:
                return item
        return None

    def on_click(self, event: events.Click) -> None:
        item = self._item_at(event.x)
        if item is None:
            return
        event.stop()
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._item_at(event.x)
        self.tooltip = item.tooltip if item is not None else None
