"""Small always-visible pieces: the top bar (agent, connection, usage) and the presence line."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from backend.schemas import Agent, Presence, PresenceState, Usage
from tui.glyphs import glyphs
from tui.text import one_line

# the glyph (by its name in ``Glyphs``), the words and the style of each connection state
CONNECTION_LABELS = {
    "connecting": ("connecting", "connecting", "dim"),
    "connected": ("online", "live", "bold"),
    "reconnecting": ("connecting", "reconnecting", "bold reverse"),
    "offline": ("offline", "offline", "bold reverse"),
}


def usage_text(usage: Usage | None) -> Text:
    """``WA 812/1000`` with a warning from 80 % and a stronger one from 95 %; then the
    month's WhatsApp estimate against the budget once it passes 80 %."""
    if usage is None:
        return Text("WA –/–", style="dim")
    meter = _conversations_text(usage)
    budget = usage.budget
    if budget is not None and budget.level != "ok":
        share = budget.spent / budget.amount if budget.amount else 1
        words = "over budget" if budget.level == "exceeded" else "budget"
        style = "bold reverse" if budget.level == "exceeded" else "bold"
        meter.append(" · ")
        meter.append(f"{glyphs().warning} {words} {share:.0%}", style)
    return meter


def _conversations_text(usage: Usage) -> Text:
    share = usage.used / usage.limit if usage.limit else 1.0
    label = f"WA {usage.used}/{usage.limit}"
    if usage.level == "exhausted" or share >= 1:
        return Text(
            f"{glyphs().warning} {label} limit reached, resets {usage.resets_on:%d %b}",
            style="bold reverse",
        )
    if usage.level == "critical" or share >= 0.95:
        return Text(f"{glyphs().warning} {label} ({share:.0%})", style="bold reverse")
    if usage.level == "warning" or share >= 0.8:
        return Text(f"{glyphs().warning} {label} ({share:.0%})", style="bold")
    return Text(label)


def _joined(*parts: Text) -> Text:
    return Text(" · ").join(part for part in parts if part.plain)


class TopBar(Widget):
    """``ttydesk · Alice (admin) · All open        ● live · WA 12/1000``"""

    DEFAULT_CSS = """
    TopBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
        &.-down { background: $warning 40%; }
    }
    """

    agent: reactive[Agent | None] = reactive(None)
    title: reactive[str] = reactive("")
    connection: reactive[str] = reactive("connecting")
    connection_detail: reactive[str | None] = reactive(None)
    usage: reactive[Usage | None] = reactive(None)
    selection: reactive[int] = reactive(0)
    held: reactive[int] = reactive(0)  # list updates waiting for ``.`` (see ThreadList)

    def render(self) -> Text:
        view = Text()
        if self.title:
            view.append_text(one_line(self.title, "bold"))
        if self.selection:
            view.append(f" · {self.selection} selected", "bold")
        who = Text()
        if self.agent is not None:
            who.append_text(one_line(self.agent.name))
            if self.agent.role.value == "admin":
                who.append(" (admin)", "dim")
            if self.agent.availability.value != "available":
                who.append(f" [{self.agent.availability.value}]", "dim")
        glyph, words, style = CONNECTION_LABELS.get(self.connection, ("", self.connection, ""))
        if glyph == "connecting":  # words that go on
            words += glyphs().ellipsis
        label = f"{getattr(glyphs(), glyph)} {words}" if glyph else words
        state = Text()
        state.append(label, style)
        state.append(" · ")
        state.append_text(usage_text(self.usage))
        updates = ""
        if self.held:
            updates = "1 update" if self.held == 1 else f"{self.held} updates"
        # when room runs out the agent's own name gives way first, then "ttydesk", then
        # words of the updates' hint: the view's name, which the updates are for, stays
        rights = [state]
        if updates:
            rights = [
                Text.assemble((f"{updates} — press . to refresh", "bold"), " · ", state),
                Text.assemble((f"{updates} (press .)", "bold"), " · ", state),
            ]
        lefts = [
            _joined(Text("ttydesk", "bold"), who, view),
            _joined(Text("ttydesk", "bold"), view),
            _joined(view),
        ]
        width = self.size.width
        left, right = lefts[-1], rights[-1]
        fitting = (
            (lf, rt) for rt in rights for lf in lefts if lf.cell_len + rt.cell_len + 1 <= width
        )
        left, right = next(fitting, (left, right))
        room = max(0, width - right.cell_len - 1)
        left.truncate(room, overflow="ellipsis")
        pad = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * pad, right, no_wrap=True, overflow="ellipsis")

    def watch_connection(self, state: str) -> None:
        self.set_class(state != "connected", "-down")
        self.tooltip = self.connection_detail


class PresenceLine(Widget):
    """Who else is viewing or typing in the open thread."""

    DEFAULT_CSS = """
    PresenceLine {
        height: auto;
        max-height: 1;
        color: $text-accent;
        padding: 0 1;
        display: none;
        &.-active { display: block; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.others: dict[int, Presence] = {}
        self.me_id: int | None = None
        self.thread_id: int | None = None

    def set_thread(self, thread_id: int | None, known: Iterable[Presence] = ()) -> None:
        """Show the thread's presence from ``known`` (what the app has seen so far)."""
        self.thread_id = thread_id
        self.others = {
            p.agent_id: p
            for p in known
            if thread_id is not None
            and p.thread_id == thread_id
            and p.agent_id != self.me_id
            and p.state != PresenceState.idle
        }
        self._changed()

    def apply(self, presence: Presence) -> None:
        if presence.agent_id == self.me_id:
            return
        if presence.thread_id != self.thread_id or presence.state == PresenceState.idle:
            self.others.pop(presence.agent_id, None)
        else:
            self.others[presence.agent_id] = presence
        self._changed()

    def _changed(self) -> None:
        self.set_class(bool(self.others), "-active")
        self.refresh(layout=True)

    def render(self) -> Text:
        typing = [p for p in self.others.values() if p.state == PresenceState.typing]
        viewing = [p for p in self.others.values() if p.state == PresenceState.viewing]
        parts: list[Text] = []
        for p in typing:
            parts.append(
                Text.assemble(one_line(p.agent_name, "bold"), f" is typing{glyphs().ellipsis}")
            )
        for p in viewing:
            parts.append(Text.assemble(one_line(p.agent_name, "bold"), " is viewing"))
        line = Text("👥 ")
        line.append_text(Text(" · ").join(parts))
        return line
