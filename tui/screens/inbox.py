"""The inbox: views, the virtual thread list, the open thread, composer and contact panel.

The screen coordinates; its widgets do not know each other. It reads shared state (agent,
agents, views, counts, usage) from the app, carries out actions through the API client and
applies live events the app publishes on ``app.live``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import shutil
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static, TextArea

from backend import schemas
from backend.schemas import (
    ChannelType,
    DeliveryStatus,
    Direction,
    EventType,
    MessageKind,
    Page,
    Presence,
    PresenceState,
    SendPrices,
    Thread,
    Ticket,
    TicketBulkUpdate,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
    View,
    ViewCreate,
    ViewUpdate,
)
from tui.client import ApiError, LiveEvent, ViewsChanged, prepare_parsing
from tui.drafts import EMPTY as EMPTY_DRAFT
from tui.drafts import DraftKeeper, DraftState
from tui.render import delivery_label
from tui.search_state import SearchState
from tui.seen import SeenMessages
from tui.text import countdown, first_problem, human_size, one_line
from tui.undo import TicketUndo
from tui.widgets.chrome import PresenceLine, TopBar
from tui.widgets.composer import Composer, email_reply_subject, reply_all_cc
from tui.widgets.contact_panel import ContactPanel
from tui.widgets.footer import KeyFooter
from tui.widgets.message_log import MessageLog
from tui.widgets.thread_list import ThreadList
from tui.widgets.views_sidebar import ViewsSidebar

if TYPE_CHECKING:
    from backend.schemas import (
        ContactDetail,
        EmailSource,
        Media,
        Message,
        SearchHit,
        SendMedia,
        SendNote,
        SendTemplate,
        SendText,
        TicketSummary,
    )
    from tui.app import TtydeskApp
    from tui.dialogs.simple import OwnerPicker

NARROW = 130
#: Opening a thread shows nothing new until its first page is in, for at most this long
OPEN_HOLD = 0.3
#: Seconds after the inbox shows when the message page's validator is built (not at an open)
PREPARE_AFTER = 1.0
#: Below this width the views column folds away (``V`` brings it back); 1–9 still switch
VIEWS_COLUMN_MIN = 90
#: ``S`` cycles these (the API's ``sort=``); the title names any but the first
SORTS = {
    "recent": "newest activity",
    "waiting": "longest waiting",
    "expiring": "session expiring first",
}
STATUS_WORDS = {
    TicketStatus.new: "New",
    TicketStatus.waiting_on_us: "Waiting on us",
    TicketStatus.waiting_on_contact: "Waiting on contact",
    TicketStatus.closed: "Closed",
}
# a sent message's statuses that say what became of it
_SETTLED = (
    DeliveryStatus.sent,
    DeliveryStatus.delivered,
    DeliveryStatus.read,
    DeliveryStatus.failed,
)


class SendRefused(Exception):
    """A reply or note was not sent (or may not have been): ``reason`` for the agent."""

    def __init__(self, reason: str, error: ApiError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


def refusal_reason(exc: ApiError) -> str:
    if exc.code == "session_expired":
        return (
            "Not sent: the 24-hour session has expired, only a template can be sent. "
            "Your draft is kept."
        )
    if exc.code == "usage_limit_reached":
        return f"Not sent: {exc.message} Your draft is kept."
    if exc.code == "timeout":
        # the server may have it: "not sent" would be false half the time
        return f"{exc.message} It may have been sent: ctrl+s again sends it once, never twice."
    where = f" ({exc.field})" if exc.field else ""
    return f"Not sent: {exc.message}{where}"


def _view_bindings() -> list[Binding]:
    return [
        Binding(
            str(n),
            f"view({n})",
            f"View {n}",
            show=False,
            id=f"inbox.view{n}",
            tooltip=f"Switch to view {n} of the views column",
        )
        for n in range(1, 10)
    ]


class InboxScreen(Screen[None]):
    """Where agents spend their day."""

    BINDING_GROUP_TITLE = "Inbox"
    # before the focused pane's own keys (of Close and Reopen, the one the ticket's state allows)
    FOOTER_FIRST = ("reply", "assign", "close_ticket", "reopen_ticket")

    BINDINGS = [
        *_view_bindings(),
        # the footer shows the focused pane's keys in this order, cut at the terminal's
        # width: the keys of every reply first (Reply, Assign, Close), rarer ones after
        Binding("r", "reply", "Reply", id="inbox.reply", tooltip="Reply (to the selected message)"),
        Binding("a", "assign", "Assign", id="inbox.assign", tooltip="Change the owner"),
        Binding(
            "c",
            "close_ticket",
            "Close",
            id="inbox.close",
            tooltip="Close the ticket (or the selection)",
        ),
        Binding(
            "M",
            "assign_to_me",
            "Take",
            id="inbox.assign_to_me",
            tooltip="Assign to me (the thread or the selection)",
        ),
        Binding("n", "note", "Note", id="inbox.note", tooltip="Write a private note"),
        Binding("t", "templates", "Template", id="inbox.templates", tooltip="Send a template"),
        Binding("slash", "search", "Search", id="inbox.search", tooltip="Full-text search"),
        Binding(
            "z",
            "snooze",
            "Snooze",
            id="inbox.snooze",
            tooltip="Pending until a time: out of the open views, back by itself",
        ),
        Binding(
            "A",
            "assign_selection",
            "Assign sel.",
            id="inbox.assign_selection",
            tooltip="Change the owner of every selected thread",
        ),
        Binding(
            "o",
            "reopen_ticket",
            "Reopen",
            id="inbox.reopen",
            tooltip="Reopen the ticket (or the selection)",
        ),
        Binding(
            "p",
            "priority",
            "Priority",
            id="inbox.priority",
            tooltip="Set the priority (of the selection)",
        ),
        Binding(
            "i", "inserts", "Insert", id="inbox.insert", tooltip="Insert a snippet, article, link…"
        ),
        Binding(
            "s",
            "toggle_panel",
            "Contact",
            id="inbox.contact_panel",
            tooltip="Show or hide the contact panel",
        ),
        Binding(
            "m", "details", "Details", id="inbox.details", tooltip="Details of the selected message"
        ),
        Binding(
            "U",
            "toggle_unread",
            "Unread",
            show=False,
            id="inbox.unread",
            tooltip="Mark the thread read or unread",
        ),
        Binding(
            "V",
            "toggle_views",
            "Views",
            id="inbox.views",
            tooltip="Show or hide the views column (folded away below 90 columns)",
        ),
        Binding(
            "u",
            "undo",
            "Undo",
            id="inbox.undo",
            tooltip="Undo the last reassign, close, reopen or priority change (for 30 s)",
        ),
        Binding(
            "N",
            "new_conversation",
            "New conv.",
            id="inbox.new_conversation",
            tooltip="Start a conversation from a contact, company, deal or ticket",
        ),
        Binding("v", "new_view", "New view", id="inbox.new_view", tooltip="Create a view"),
        Binding(
            "left_square_bracket",
            "previous_conversation",
            "Earlier",
            show=False,
            id="inbox.previous_conversation",
            tooltip="Show the contact's previous conversation above this one",
        ),
        Binding(
            "H",
            "earlier_threads",
            "History",
            show=False,
            id="inbox.earlier_threads",
            tooltip="Open one of the contact's earlier conversations",
        ),
        Binding(
            "S",
            "cycle_sort",
            "Sort",
            id="inbox.sort",
            tooltip="Sort: newest activity, longest waiting, session expiring first",
        ),
        Binding(
            "J",
            "next_unread",
            "Next unread",
            show=False,
            id="inbox.next_unread",
            tooltip="Open the next thread with unread messages",
        ),
        Binding(
            "escape", "back", "Back", show=False, id="inbox.back", tooltip="Back to the thread list"
        ),
        Binding(
            "q",
            "leave_thread",
            "Back",
            id="inbox.leave",
            tooltip="Back from the thread: to the list, or to the search results it came from",
        ),
        Binding(
            "q",
            "app.quit",
            "Quit",
            id="inbox.quit",
            tooltip="Leave ttydesk (asks first if a send, a draft or typed text would be lost)",
        ),
    ]

    narrow: reactive[bool] = reactive(False)
    views_hidden: reactive[bool] = reactive(False)
    thread_open: reactive[bool] = reactive(False)
    panel_open: reactive[bool] = reactive(False)

    def __init__(self) -> None:
        super().__init__()
        self.view: View | None = None
        self.sort = "recent"
        self._views_choice: bool | None = None  # V: shown (True) or hidden, whatever the width
        self._shown_before = False
        self._owner: int | None = None
        self.thread: Thread | None = None
        self._template_sending: tuple[int, str] | None = None  # message id, template name
        self.contact: ContactDetail | None = None
        self.drafts: dict[int, str] = {}
        self.seen = SeenMessages()  # what a reply is written against (see tui.seen)
        self._draft_keeper: DraftKeeper | None = None
        self._was_disconnected = False
        self._loaded_thread_id: int | None = None  # whose messages the log shows
        self._search_return: SearchState | None = None  # the search the open thread came from
        self._undo: TicketUndo | None = None  # the last ticket change, for ``u``
        # the last send not answered with a message, and the id the server knows it by
        self._unanswered_send: tuple[tuple[object, ...], str] | None = None
        self._typing_sent = 0.0
        self._idle_timer: Timer | None = None
        self._pending_jump: int | None = None
        self.earlier_checked: int | None = None  # the thread last asked for an earlier one
        self._had_target = (False, False)  # what the footer last saw (see ``_target_changed``)
        self._frames_held: contextlib.AbstractContextManager[None] | None = None
        # the screen keeps its widgets (made here, mounted by compose): ``check_action``
        # (called for every binding whenever the footer looks at the keys) and the many
        # callbacks must not query the DOM
        self._topbar = TopBar(id="topbar")
        self._views = ViewsSidebar(id="views")
        self._threads = ThreadList(id="threads", owner_names=self._owner_short)
        self._header = Static("", id="thread-header", markup=False)
        self._log = MessageLog(id="log")
        self._presence = PresenceLine(id="presence")
        self._composer = Composer(id="composer")
        self._panel = ContactPanel(id="contact-panel")
        self._pane = Vertical(id="thread-pane")

    @property
    def _composed(self) -> bool:
        """Callbacks from the app (watchers, signals) may arrive while the screen is not (or no
        longer) composed."""
        return self._threads.is_attached

    @property
    def tapp(self) -> TtydeskApp:
        return self.app  # type: ignore[return-value]

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        # the width's classes before the widgets are styled: each class set on the screen
        # later restyles every widget on it (~20 ms at start-up)
        self._fit(self.app.size.width)
        yield self._topbar
        with Horizontal(id="inbox-body"):
            yield self._views
            yield self._threads
            with self._pane:
                yield self._header
                yield self._log
                yield self._presence
                yield self._composer
            yield self._panel
        yield KeyFooter()

    @property
    def threads(self) -> ThreadList:
        return self._threads

    @property
    def log_widget(self) -> MessageLog:
        return self._log

    @property
    def composer(self) -> Composer:
        return self._composer

    @property
    def sidebar(self) -> ViewsSidebar:
        return self._views

    @property
    def topbar(self) -> TopBar:
        return self._topbar

    @property
    def presence(self) -> PresenceLine:
        return self._presence

    @property
    def panel(self) -> ContactPanel:
        return self._panel

    def on_mount(self) -> None:
        app = self.tapp
        app.live.subscribe(self, self.on_live)
        app.reloaded.subscribe(self, self._on_reloaded)
        self.watch(app, "me", self._me_changed)
        self.watch(app, "conn_state", self._conn_changed)
        self.watch(app, "usage", self._usage_changed)
        log = self.log_widget
        log.agent_name = self._owner_name
        log.now = app.clock
        accent = getattr(app.current_theme, "accent", None)
        log.accent_style = f"bold {accent}" if accent else "bold"
        self.threads.now = app.clock
        log.is_admin = app.is_admin
        self.presence.me_id = app.me.id if app.me else None
        self.sidebar.set_views(app.views, app.counts)
        self._fit(self.size.width)
        if app.views:
            self.select_view(app.views[0])
        self.threads.focus()
        self._render_thread_header()
        self.set_interval(30, self._tick)
        self._load_draft_list()
        self.call_after_refresh(gc.freeze)  # the inbox's own long-lived objects too (see app)
        self.call_after_refresh(setattr, self, "_shown_before", True)
        # while the agent reads the list, not when the first thread opens
        self.set_timer(PREPARE_AFTER, lambda: prepare_parsing(Page[schemas.Message]))

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # before its first frame (a new mode's screen is sent two resumes), every widget was
        # just styled as it mounted: restyling them all again (~15 ms a time) is for a screen
        # shown again
        if not self._shown_before:
            event.refresh_styles = False

    def on_resize(self) -> None:
        self._fit(self.size.width)

    def _fit(self, width: int) -> None:
        self.narrow = width < NARROW
        self._fold_views(width)

    def _fold_views(self, width: int) -> None:
        """The views column folds away on a narrow terminal unless ``V`` asked for it."""
        choice = self._views_choice
        self.views_hidden = width < VIEWS_COLUMN_MIN if choice is None else not choice

    def action_toggle_views(self) -> None:
        self._views_choice = self.views_hidden
        self._fold_views(self.size.width)

    def watch_views_hidden(self, hidden: bool) -> None:
        self.set_class(hidden, "-views-hidden")

    def watch_narrow(self, narrow: bool) -> None:
        self.set_class(narrow, "-narrow")
        self._layout_thread_open()

    def watch_thread_open(self, value: bool) -> None:
        self._layout_thread_open()
        self._had_target = self._target_state()
        self.refresh_bindings()

    def _target_state(self) -> tuple[bool, bool]:
        """Whether a thread is under the actions, and whether its ticket is closed."""
        target = self.target_thread() if self._threads.is_mounted else self.thread
        return (
            target is not None,
            target is not None and target.ticket.status == TicketStatus.closed,
        )

    def _target_changed(self) -> None:
        """The thread actions (reply, assign…) apply once a thread is under the cursor, and
        Close or Reopen as its ticket is: the keys are looked at again when that changes."""
        state = self._target_state()
        if state != self._had_target:
            self._had_target = state
            self.refresh_bindings()

    def _layout_thread_open(self) -> None:
        # on a narrow screen the open thread replaces the list and the views column: shown
        # and hidden on these widgets, as a class on the screen would restyle every widget
        # on it (20-40 ms at each open and close)
        replaced = self.narrow and self.thread_open
        for widget, shown in (
            (self._views, not replaced),
            (self._threads, not replaced),
            (self._pane, replaced),
        ):
            if replaced:
                widget.display = shown
            else:
                widget.styles.display = None  # the stylesheet decides again

    def watch_panel_open(self, value: bool) -> None:
        self.set_class(value, "-panel-open")

    def _me_changed(self) -> None:
        if not self._composed:
            return
        me = self.tapp.me
        self.topbar.agent = me
        self.presence.me_id = me.id if me else None
        self.log_widget.is_admin = self.tapp.is_admin

    def _conn_changed(self) -> None:
        if not self._composed:
            return
        state = self.tapp.conn_state
        self.topbar.connection_detail = self.tapp.conn_detail
        self.topbar.connection = state
        if state == "connected" and self._was_disconnected:
            self._refetch_open()
        self._was_disconnected = state in ("reconnecting", "offline")

    @work(group="reconnect-refetch", exclusive=True, exit_on_error=False)
    async def _refetch_open(self) -> None:
        """Back after the server was away: what failed to load meanwhile is fetched again
        (the replayed events bring what changed; what loaded is not fetched twice)."""
        if self.threads.load_failed:
            self.threads.reload()
        thread, client = self.thread, self.tapp.client
        if thread is None or client is None or self._loaded_thread_id == thread.id:
            return
        self._load_thread(thread.id, keep_cursor=True)
        self._restore_draft(thread.id)
        if self.panel_open:
            self._load_panel()
        try:
            fresh = await client.thread(thread.id)
        except ApiError:
            return
        if self.thread is not None and self.thread.id == fresh.id:
            self.thread = fresh
            self._render_thread_header()

    def _usage_changed(self) -> None:
        if not self._composed:
            return
        self.topbar.usage = self.tapp.usage

    def _tick(self) -> None:
        if not self._composed:
            return
        self.threads.refresh()
        self._render_thread_header()

    def _owner_name(self, agent_id: int | None) -> str:
        if agent_id is None:
            return ""
        agent = self.tapp.agents.get(agent_id)
        return agent.name if agent else f"agent #{agent_id}"

    def _owner_short(self, agent_id: int | None) -> str:
        if agent_id is None:
            return ""
        me = self.tapp.me
        if me is not None and me.id == agent_id:
            return "me"
        return self._owner_name(agent_id).split(" ")[0]

    # ----------------------------------------------------------------- views

    def select_view(self, view: View, *, owner: int | None = None) -> None:
        self.view = view
        self._owner = owner
        self.sidebar.set_active(view.id)
        self.sidebar.focus_view(view.id)
        title = view.name
        if owner is not None:
            title += f" · owner {self._owner_name(owner)}"
        if self.sort != "recent":
            title += f" · {SORTS[self.sort]}"
        self.topbar.title = title
        client = self.tapp.client
        assert client is not None
        sort = None if self.sort == "recent" else self.sort
        # the first page asked for at start-up, together with the views: when it is in
        # already, the list draws it in its very first frame
        asked = self.tapp.take_first_page(view.id) if owner is None and sort is None else None
        first_page: tuple[list[Thread], int | None] | None = None
        if asked is not None and asked.done() and not asked.cancelled() and not asked.exception():
            page, asked = asked.result(), None
            self.tapp.remember_threads(page.items)
            first_page = (page.items, page.total)

        async def fetch(
            offset: int, limit: int, with_total: bool
        ) -> tuple[list[Thread], int | None]:
            nonlocal asked
            first, asked = asked, None
            if first is not None and offset == 0 and limit == ThreadList.PAGE_SIZE and with_total:
                page = await first
            else:
                page = await client.threads(
                    view=view.id,
                    owner=owner,
                    offset=offset,
                    limit=limit,
                    with_total=with_total,
                    sort=sort,
                )
            self.tapp.remember_threads(page.items)
            return page.items, page.total

        async def member(thread_id: int) -> bool:
            page = await client.threads(view=view.id, owner=owner, ids=[thread_id], limit=1)
            return bool(page.items)

        self.threads.set_source(fetch, member=member, first_page=first_page)

    def action_cycle_sort(self) -> None:
        names = list(SORTS)
        self.sort = names[(names.index(self.sort) + 1) % len(names)]
        if self.view is not None:
            self.select_view(self.view, owner=self._owner)
        self.notify(f"Sorted by {SORTS[self.sort]}.", markup=False)

    def action_next_unread(self) -> None:
        """Open the next loaded thread below the cursor with unread messages."""
        threads = self.threads
        current = self.thread.id if self.thread is not None else None
        start = threads.cursor + 1
        for index in [*range(start, threads.total or 0), *range(0, start)]:
            thread = threads.thread_at(index)
            if thread is not None and thread.unread_count and thread.id != current:
                threads.cursor = index
                self.open_thread(thread)
                self.log_widget.focus()
                return
        self.notify("No unread threads.", markup=False)

    def action_assign_to_me(self) -> None:
        me = self.tapp.me
        ticket_ids, _ = self._selection_or_target()
        if me is not None and ticket_ids:
            self._update_tickets(ticket_ids, TicketUpdate(owner_id=me.id), "Assigned to me")

    def action_view(self, number: int) -> None:
        view = self.sidebar.view_at(number)
        if view is not None:
            self.select_view(view)
            if self.narrow and self.thread_open:
                self.close_thread()
            self.threads.focus()

    @on(ViewsSidebar.Chosen)
    def _view_chosen(self, event: ViewsSidebar.Chosen) -> None:
        self.select_view(event.view)
        self.threads.focus()

    def show_owner(self, agent_id: int) -> None:
        """Palette ``agent: …``: the current view narrowed to one owner."""
        views = self.tapp.views
        base = next((v for v in views if v.id == "builtin:all_open"), views[0] if views else None)
        if base is not None:
            self.select_view(base, owner=agent_id)
            self.threads.focus()

    def _on_reloaded(self, _: object) -> None:
        if not self._composed:
            return
        """After a resync or reconnect that needed it: everything from the server again."""
        self.sidebar.set_views(self.tapp.views, self.tapp.counts)
        if self.view is not None:
            fresh = next((v for v in self.tapp.views if v.id == self.view.id), None)
            if fresh is None and self.tapp.views:
                self.select_view(self.tapp.views[0])
            else:
                self.threads.reload()
        if self.thread is not None:
            self._load_thread(self.thread.id, keep_cursor=True)
        self._load_draft_list()

    # ----------------------------------------------------------------- thread

    @on(ThreadList.Opened)
    def _opened(self, event: ThreadList.Opened) -> None:
        self.open_thread(event.thread)
        self.log_widget.focus()

    @on(ThreadList.Highlighted)
    def _highlighted(self, event: ThreadList.Highlighted) -> None:
        self._target_changed()

    @on(ThreadList.HeldChanged)
    def _held_changed(self, event: ThreadList.HeldChanged) -> None:
        self.topbar.held = event.count
        self.refresh_bindings()

    @on(ThreadList.SelectionChanged)
    def _selection_changed(self, event: ThreadList.SelectionChanged) -> None:
        self.topbar.selection = event.count
        self.refresh_bindings()

    def open_thread(self, thread: Thread, *, jump_to: int | None = None) -> None:
        previous = self.thread
        self._search_return = None  # (set again by a search that opens it)
        if previous is not None and previous.id != thread.id:
            self.drafts[previous.id] = self.composer.text
            self._keep_draft(previous.id, left=True)
            self._send_presence(previous.id, PresenceState.idle)
        self.thread = thread
        self.contact = None
        self.thread_open = True
        self.tapp.remember_recent(thread)
        log = self.log_widget
        log.contact_name = thread.contact.name
        self.presence.set_thread(thread.id, self.tapp.presence.values())
        composer = self.composer
        composer.reset()
        if draft := self.drafts.pop(thread.id, ""):
            composer.restore(draft)
        elif previous is None or previous.id != thread.id:
            self._restore_draft(thread.id)
        self._render_thread_header()
        self._pending_jump = jump_to
        if previous is None or previous.id != thread.id or jump_to is not None:
            self._hold_frames()
            log.clear_thread()
            self._load_thread(thread.id)
        self._send_presence(thread.id, PresenceState.viewing)
        if thread.unread_count:
            self._mark_read(thread.id)
        if self.panel_open:
            self._load_panel()

    def close_thread(self) -> None:
        if self.thread is not None:
            self.drafts[self.thread.id] = self.composer.text
            self._keep_draft(self.thread.id, left=True)
            self._send_presence(self.thread.id, PresenceState.idle)
        self.thread = None
        self.thread_open = False
        self.log_widget.clear_thread()
        self.presence.set_thread(None)
        self._render_thread_header()
        self.threads.focus()

    def action_back(self) -> None:
        if self._in_thread():
            self.action_leave_thread()
        elif self.threads.selected:
            self.threads.clear_selection()

    def _in_thread(self) -> bool:
        focused = self.focused
        return self.thread_open and (
            self.narrow or (focused is not None and self._in_pane(focused))
        )

    def action_leave_thread(self) -> None:
        """``q``/``escape`` in a thread: back where it was opened from."""
        if self._search_return is not None:
            state, self._search_return = self._search_return, None
            self.close_thread()
            self._open_search(state)
        elif self.narrow:
            self.close_thread()
        else:
            self.threads.focus()

    async def save_drafts(self) -> None:
        """Before quitting: keep every typed draft on the server now."""
        if self.thread is not None:
            self._keep_draft(self.thread.id, left=True)
        if self._draft_keeper is not None:
            await self._draft_keeper.flush()

    def unsent_drafts(self) -> list[int]:
        """Threads whose typed text the server does not keep (yet): quitting would lose it."""
        typed = dict(self.drafts)
        if self.thread is not None:
            typed[self.thread.id] = self.composer.text
        keeper = self._draft_keeper
        return sorted(
            thread_id
            for thread_id, text in typed.items()
            if text.strip() and (keeper is None or keeper.kept_text(thread_id) != text)
        )

    def unsent_attachments(self) -> list[str]:
        """The files attached to the open reply (a draft keeps its text only), unless that
        reply is on its way: quitting would lose them."""
        if self.thread is None or self.composer.sending:
            return []
        return [path.name for path in self.composer.attachments]

    def _in_pane(self, widget: object) -> bool:
        pane = self._pane
        node = widget
        while node is not None:
            if node is pane:
                return True
            node = getattr(node, "parent", None)
        return False

    def _render_thread_header(self) -> None:
        header = self._header
        thread = self.thread
        if thread is None:
            hint = Text("No thread open. ", style="dim")
            hint.append("j/k move · enter open · space select · ? help", "dim")
            header.update(hint)
            self.composer.session_open = True
            return
        ticket = thread.ticket
        out = Text()
        out.append_text(one_line(thread.contact.name, "bold"))
        number = thread.contact.phone or thread.contact.wa_id or thread.contact.wa_username or ""
        if number:
            out.append(" ")
            out.append_text(one_line(number, "dim"))
        if thread.business_number:  # before the subject, which a narrow screen cuts instead
            out.append(" via ", "dim")
            out.append_text(one_line(thread.business_number, "dim"))
        out.append("  ")
        out.append(f"#{ticket.id} ", "dim")
        out.append_text(one_line(ticket.subject))
        out.append("\n")
        out.append(STATUS_WORDS.get(ticket.status, ticket.status.value), "bold")
        if ticket.snoozed_until is not None:
            out.append(f" (snoozed until {ticket.snoozed_until.astimezone():%a %d %b %H:%M})")
        # the session timer right after the status: narrow terminals cut the line's end
        left = countdown(thread.session_expires_at, self.tapp.clock())
        by_email = thread.channel_type == ChannelType.email  # no 24-hour session
        out.append(" · ")
        prices = self.composer.send_prices
        removed = prices is not None and prices.thread_id == thread.id and prices.mailbox_removed
        if by_email:  # a removed mailbox said early: narrow terminals cut the line's end
            out.append("by e-mail (mailbox disconnected)" if removed else "by e-mail")
        elif left:
            out.append(f"session {left} left")
        else:
            out.append("session expired: template only", "bold reverse")
        out.append(f" · {ticket.priority.value}")
        owner = self._owner_name(ticket.owner_id) or "unassigned"
        out.append(" · owner ")
        out.append_text(one_line(owner, "bold"))
        out.no_wrap = True
        out.overflow = "ellipsis"
        header.update(out)
        self._target_changed()  # closed or reopened: Close or Reopen
        self.composer.session_open = by_email or left is not None
        self.composer.email_subject = email_reply_subject(ticket) if by_email else None

    def _hold_frames(self) -> None:
        """Opening a thread changes the header, the composer, the log (and on a narrow
        screen the layout) at once; drawn as each change comes, that is several frames,
        each laying the screen out again, before the messages arrive. Frames are held
        until the first page is shown, or for OPEN_HOLD at most (a slow server)."""
        if self._frames_held is None:
            self._frames_held = self.app.batch_update()
            self._frames_held.__enter__()
            self.app.set_timer(OPEN_HOLD, self._release_frames)

    def _release_frames(self) -> None:
        held, self._frames_held = self._frames_held, None
        if held is not None:
            held.__exit__(None, None, None)

    @work(group="thread-load", exclusive=True, exit_on_error=False)
    async def _load_thread(self, thread_id: int, keep_cursor: bool = False) -> None:
        try:
            await self._load_first_page(thread_id, reload=keep_cursor)
        finally:
            self._release_frames()

    async def _load_first_page(self, thread_id: int, *, reload: bool = False) -> None:
        client = self.tapp.client
        assert client is not None
        self._loaded_thread_id = None
        try:
            page = await client.messages(thread_id, limit=50)
        except ApiError as exc:
            self.notify(
                exc.message, title="Could not load the messages", severity="error", markup=False
            )
            return
        if self.thread is None or self.thread.id != thread_id:
            return
        log = self.log_widget
        log.set_messages(page.items, page.next_cursor is not None)
        self._loaded_thread_id = thread_id
        self._offer_reply_all()
        if page.next_cursor is None:  # the thread's start is shown: is there one before it?
            self._hint_earlier(self.thread)
        if reload:  # the agent has not been shown what another agent wrote meanwhile
            self.seen.reloaded(thread_id, page.items, self.tapp.me.id if self.tapp.me else None)
        else:
            self.seen.loaded(thread_id, page.items)
        jump = self._pending_jump
        self._pending_jump = None
        if jump is not None:
            for _ in range(20):
                if log.jump_to(jump) or not log.has_older:
                    break
                older = await client.messages(thread_id, before=log.messages[0].id, limit=100)
                log.prepend_older(older.items, older.next_cursor is not None)

    @on(MessageLog.NeedOlder)
    def _need_older(self, event: MessageLog.NeedOlder) -> None:
        self._load_older(event.before)

    @work(group="thread-older", exclusive=True, exit_on_error=False)
    async def _load_older(self, before: int) -> None:
        thread = self.thread
        client = self.tapp.client
        if thread is None or client is None:
            return
        try:
            page = await client.messages(thread.id, before=before, limit=50)
        except ApiError as exc:
            self.log_widget.loading_older = False
            self.notify(exc.message, severity="error", markup=False)
            return
        if self.thread is not None and self.thread.id == thread.id:
            self.log_widget.prepend_older(page.items, page.next_cursor is not None)

    @work(group="mark-read", exit_on_error=False)
    async def _mark_read(self, thread_id: int) -> None:
        client = self.tapp.client
        if client is None:
            return
        with contextlib.suppress(ApiError):
            await client.mark_read(thread_id)

    # ----------------------------------------------------------------- target of an action

    def target_thread(self) -> Thread | None:
        focused = self.focused
        if self.thread is not None and (focused is None or self._in_pane(focused) or self.narrow):
            return self.thread
        current = self.threads.current
        return current or self.thread

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        threads = self._threads
        if not self.is_mounted or not threads.is_mounted:
            return True
        has_target = self.thread is not None or threads.current is not None
        if action in ("previous_conversation", "earlier_threads"):
            return self.thread is not None
        if action in ("reply", "note", "templates", "inserts", "toggle_unread", "toggle_panel"):
            return has_target
        if action == "details":
            return self.thread is not None and self.log_widget.selected is not None
        if action == "assign_selection":
            return bool(threads.selected)
        if action in ("close_ticket", "reopen_ticket") and not threads.selected:
            target = self.target_thread()
            closed = target is not None and target.ticket.status == TicketStatus.closed
            return target is not None and closed == (action == "reopen_ticket")
        if action in (
            "assign",
            "assign_to_me",
            "close_ticket",
            "reopen_ticket",
            "priority",
            "snooze",
        ):
            return has_target or bool(threads.selected)
        if action == "back":
            return self.thread_open or bool(threads.selected)
        if action == "leave_thread":
            return self._in_thread()
        if action == "undo":
            return self._undo is not None
        return True

    # ----------------------------------------------------------------- composing

    def _ensure_open(self) -> bool:
        if self.thread is None:
            current = self.threads.current
            if current is None:
                return False
            self.open_thread(current)
        return True

    def action_reply(self) -> None:
        if self._ensure_open():
            self.composer.begin(note=False)
            self._price_reply()

    async def _send_prices(self, thread_id: int) -> SendPrices | None:
        """What a send in the thread is billed (None on error: then only the category)."""
        client = self.tapp.client
        if client is None:
            return None
        with contextlib.suppress(ApiError):
            return await client.send_prices(thread_id)
        return None

    @work(group="send-price", exclusive=True, exit_on_error=False)
    async def _price_reply(self) -> None:
        """What a reply here is billed as, and whether it can go by e-mail instead (the
        contact's address), for the composer's bar."""
        thread = self.thread
        if thread is None:
            return
        prices = await self._send_prices(thread.id)
        if prices is not None and self.thread is not None and self.thread.id == thread.id:
            self.composer.send_prices = prices
            self._render_thread_header()  # a removed mailbox says so
        contact, client = self.contact, self.tapp.client
        if client is None:
            return
        if contact is None or contact.id != thread.contact.id:
            with contextlib.suppress(ApiError):
                contact = await client.contact(thread.contact.id)
        if contact is not None and self.thread is not None and self.thread.id == thread.id:
            self.contact = contact
            if thread.channel_type == ChannelType.email:
                self._offer_reply_all()  # (the reply's recipient is known now)
                return
            # offered when a mailbox is in use to write from (the server says which)
            by_email = prices is None or prices.email_from is not None
            self.composer.email_address = (contact.email or None) if by_email else None

    def _offer_reply_all(self) -> None:
        """An e-mail thread's reply is copied to whoever else its newest mail was for
        (``reply_all_cc``), shown in the composer's bar, until the agent sets the Cc."""
        thread, contact, composer = self.thread, self.contact, self.composer
        if (
            thread is None
            or thread.channel_type != ChannelType.email
            or contact is None
            or contact.id != thread.contact.id
            or self._loaded_thread_id != thread.id
            or composer.cc_chosen
        ):
            return
        composer.cc = reply_all_cc(self.log_widget.messages, contact.email, thread.business_number)

    def _follow_free_allowance(self, message: Message) -> None:
        """A service message WhatsApp priced used one of the month's free ones (billable or
        not, as the server counts): the composer's "N left" is asked again."""
        pricing = message.pricing
        if (
            self.composer.send_prices is not None
            and message.direction == Direction.outbound
            and pricing is not None
            and pricing.category == "service"
            and pricing.billable is not None
        ):
            self._price_reply()

    @on(MessageLog.Action)
    def _quote_reply(self, event: MessageLog.Action) -> None:
        if event.action != "quote":
            return
        message = event.message
        if message.kind in (MessageKind.note, MessageKind.event):
            self.notify("Notes and events cannot be replied to.", markup=False)
            return
        self.composer.begin(note=False, reply_to=message)
        self._price_reply()

    def action_note(self) -> None:
        if self._ensure_open():
            self.composer.begin(note=True)

    def action_templates(self) -> None:
        if self._ensure_open():
            self._open_templates()

    def action_inserts(self) -> None:
        if self._ensure_open():
            self._open_inserts()

    @on(Composer.Request)
    def _composer_request(self, event: Composer.Request) -> None:
        if event.what == "templates":
            self._open_templates()
        elif event.what == "inserts":
            self._open_inserts()
        elif event.what == "attach":
            self._ask_attachment()

    @on(Composer.Left)
    def _composer_left(self) -> None:
        self.log_widget.focus()

    @on(Composer.Typing)
    def _typing(self) -> None:
        thread = self.thread
        if thread is None or self.composer.note_mode:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now - self._typing_sent > 3:
            self._typing_sent = now
            self._send_presence(thread.id, PresenceState.typing)
        if self._idle_timer is not None:
            self._idle_timer.stop()
        thread_id = thread.id
        self._idle_timer = self.set_timer(
            5, lambda: self._send_presence(thread_id, PresenceState.viewing)
        )

    def _send_presence(self, thread_id: int | None, state: PresenceState) -> None:
        stream = self.tapp.stream
        if stream is not None:
            self.run_worker(
                stream.send_presence(thread_id, state), group="presence", exit_on_error=False
            )
        if state != PresenceState.typing:
            self._typing_sent = 0.0

    @on(Composer.Submitted)
    def _submitted(self, event: Composer.Submitted) -> None:
        thread, composer = self.thread, event.composer
        # the composer state sent: a save of it (or of an older one) arriving after the
        # send is refused by the server instead of making the sent text a draft again
        revision = None
        if thread is not None and self.tapp.client is not None:
            state = DraftState(composer.text, composer.note_mode)
            revision = self.draft_keeper.revision(thread.id, state)
            self.draft_keeper.sent(thread.id, revision)
        self._send(event, revision)

    def _client_id_for(self, thread_id: int, event: Composer.Submitted) -> str:
        """The id the server knows a send by: the same when the same message is sent again
        after a send that got no answer (a lost connection: it may be stored, and the
        server stores and sends one message per id), a new one after an answered send."""
        reply_to = event.reply_to.id if event.reply_to else None
        key = (thread_id, event.note, event.text, event.attachments, event.by_email)
        key += (event.subject, event.cc, reply_to)
        if self._unanswered_send is None or self._unanswered_send[0] != key:
            self._unanswered_send = (key, uuid.uuid4().hex)
        return self._unanswered_send[1]

    @work(group="send", exclusive=False, exit_on_error=False)
    async def _send(self, event: Composer.Submitted, revision: int | None = None) -> None:
        thread = self.thread
        client = self.tapp.client
        composer = event.composer
        if thread is None or client is None:
            composer.refused("No thread open.")
            return
        client_id = self._client_id_for(thread.id, event)
        try:
            message = await self._send_body(thread, event, client_id, revision)
        except SendRefused as refusal:
            self._send_refused(thread, refusal.reason, refusal.error)
            return
        self._unanswered_send = None
        if self._showing(thread.id):
            composer.sent(event.text)
            self._offer_reply_all()  # (the sent mail's Cc was this one's)
            self.draft_keeper.known(thread.id, EMPTY_DRAFT)  # the send removed it
            self._keep_draft(thread.id)  # what was written meanwhile, if anything
            if message.thread_id == thread.id:
                self.log_widget.add_answer(message)
            self._send_presence(thread.id, PresenceState.viewing)
        else:
            # the agent opened another thread meanwhile: its composer is not this one's
            # draft; what the agent left here was the sent text, which is no draft now
            left = self.drafts.get(thread.id, "").strip("\n")
            rest = left[len(event.text) :].lstrip() if left.startswith(event.text) else left
            self.drafts[thread.id] = rest
            self.draft_keeper.known(thread.id, DraftState(left))
            self.draft_keeper.left(thread.id, DraftState(rest))

    def _showing(self, thread_id: int) -> bool:
        return self.thread is not None and self.thread.id == thread_id

    def _send_refused(self, thread: Thread, reason: str, error: ApiError | None) -> None:
        """A refusal of a send said where the agent is: in the thread, under its kept draft;
        after opening another one, as a notice naming the thread (its draft is kept)."""
        if not self._showing(thread.id):
            self.notify(
                f"{reason} (to {one_line(thread.contact.name).plain})",
                title="Not sent",
                severity="error",
                markup=False,
            )
            return
        if error is not None and error.code == "session_expired":
            self.composer.session_open = False
            self._open_templates()
        self.composer.refused(reason)

    async def _send_body(
        self, thread: Thread, event: Composer.Submitted, client_id: str, revision: int | None
    ) -> Message:
        """The send of what the composer submitted (raises ``SendRefused``)."""
        client = self.tapp.client
        assert client is not None
        try:
            if event.note:
                body: SendText | SendMedia | SendNote = schemas.SendNote(
                    kind="note", text=event.text, client_id=client_id, draft_revision=revision
                )
            elif event.attachments:
                first, *more = [await client.upload(path) for path in event.attachments]
                body = schemas.SendMedia(
                    kind="media",
                    media_id=first.id,
                    more_media_ids=[uploaded.id for uploaded in more],
                    caption=event.text.strip() or None,
                    reply_to=event.reply_to.id if event.reply_to else None,
                    client_id=client_id,
                    channel=ChannelType.email if event.by_email else None,
                    subject=event.subject,
                    cc=list(event.cc),
                    draft_revision=revision,
                )
            else:
                body = schemas.SendText(
                    kind="text",
                    text=event.text,
                    reply_to=event.reply_to.id if event.reply_to else None,
                    client_id=client_id,
                    channel=ChannelType.email if event.by_email else None,
                    subject=event.subject,
                    cc=list(event.cc),
                    draft_revision=revision,
                )
            if isinstance(body, schemas.SendNote):
                return await client.send(thread.id, body)
            reply = await self._send_reply(thread, body)
        except ApiError as exc:
            raise SendRefused(refusal_reason(exc), exc) from exc
        except ValidationError as exc:  # the body cannot be sent as typed (too long…)
            raise SendRefused(f"Not sent: {first_problem(exc)}. Your draft is kept.") from exc
        if reply is None:
            raise SendRefused("Not sent: your draft is kept.")
        return reply

    # ----------------------------------------------------------------- drafts (tui.drafts)

    @property
    def draft_keeper(self) -> DraftKeeper:
        if self._draft_keeper is None:
            assert self.tapp.client is not None
            self._draft_keeper = DraftKeeper(self.tapp.client, on_kept=self._draft_kept)
        return self._draft_keeper

    def _draft_kept(self, thread_id: int, kept: bool) -> None:
        threads = self.threads.drafts
        self.threads.set_drafts(threads | {thread_id} if kept else threads - {thread_id})

    @work(group="draft-list", exclusive=True, exit_on_error=False)
    async def _load_draft_list(self) -> None:
        """Which threads the agent left a draft in (saved from any terminal): marked in
        the thread list. Read at the start and after a resync."""
        client = self.tapp.client
        if client is None:
            return
        with contextlib.suppress(ApiError):
            drafts = await client.drafts()
            self.threads.set_drafts(frozenset(draft.thread_id for draft in drafts))

    def _keep_draft(self, thread_id: int, *, left: bool = False) -> None:
        composer = self.composer
        state = DraftState(composer.text, composer.note_mode)
        if left:
            self.draft_keeper.left(thread_id, state)
        else:
            self.draft_keeper.changed(thread_id, state)

    @on(TextArea.Changed, "#composer-text")
    def _draft_changed(self) -> None:
        if self.thread is not None:
            self._keep_draft(self.thread.id)

    @work(group="draft-restore", exclusive=True, exit_on_error=False)
    async def _restore_draft(self, thread_id: int) -> None:
        try:
            draft = await self.draft_keeper.load(thread_id)
        except ApiError:
            return
        composer = self.composer
        if draft is None or self.thread is None or self.thread.id != thread_id or composer.text:
            return
        composer.note_mode = draft.note
        composer.restore(draft.text)

    async def on_unmount(self) -> None:
        if self._draft_keeper is not None:
            await self._draft_keeper.flush()

    async def _send_reply(self, thread: Thread, body: SendText | SendMedia) -> Message | None:
        """Send a reply written against the last message seen; when someone wrote since,
        show their messages and ask first (None: the agent kept the draft)."""
        client = self.tapp.client
        assert client is not None
        body.expected_last_message_id = self.seen.expected(thread.id)
        try:
            return await client.send(thread.id, body)
        except ApiError as exc:
            if exc.code != "thread_changed":
                raise
        me = self.tapp.me.id if self.tapp.me else None
        page = await client.messages(thread.id, limit=50)
        newer = self.seen.newer(page.items, me)
        self.seen.shown(page.items)
        from tui.dialogs.collision import ThreadChangedDialog  # not needed for the first paint

        if not await self.app.push_screen_wait(ThreadChangedDialog(newer, thread.contact.name)):
            return None
        body.expected_last_message_id = self.seen.expected(thread.id)
        return await client.send(thread.id, body)

    def _ask_attachment(self) -> None:
        from tui.dialogs.simple import PromptDialog  # not needed for the first paint

        def chosen(value: str | None) -> None:
            if not value:
                return
            path = Path(value.strip().strip("'\"")).expanduser()
            if not path.is_file():
                self.composer.set_status(f"No such file: {path}", error=True)
                return
            self.composer.add_attachment(path)
            self.composer.area.focus()

        self.app.push_screen(
            PromptDialog("Attach a file: its path", placeholder="~/Documents/invoice.pdf"), chosen
        )

    @work(group="pickers", exclusive=True, exit_on_error=False)
    async def _open_templates(self) -> None:
        thread = self.thread
        if thread is None:
            return
        # what a send is billed (None: the picker gives the category only), meanwhile
        pricing = asyncio.ensure_future(self._send_prices(thread.id))
        try:
            templates = await self.tapp.get_templates()
            contact = self.contact or await self.tapp.client.contact(thread.contact.id)  # type: ignore[union-attr]
        except BaseException as exc:
            pricing.cancel()
            if not isinstance(exc, ApiError):
                raise
            self.notify(exc.message, title="Templates", severity="error", markup=False)
            return
        self.contact = contact
        prices = await pricing
        from tui.dialogs.template_picker import TemplatePicker  # not needed for the first paint

        result = await self.app.push_screen_wait(TemplatePicker(templates, contact, prices=prices))
        if result is None:
            return
        await self._send_template(thread, result)

    async def _send_template(self, thread: Thread, body: SendTemplate) -> None:
        client = self.tapp.client
        assert client is not None
        body.client_id = uuid.uuid4().hex
        try:
            message = await client.send(thread.id, body)
        except ApiError as exc:
            self.notify(exc.message, title="Template not sent", severity="error", markup=False)
            self.composer.refused(f"Template not sent: {exc.message}")
            return
        self.composer.set_status(f"Template {body.name} {delivery_label(message.status)}.")
        self._template_sending = (message.id, body.name)
        if self.thread is not None and self.thread.id == message.thread_id:
            self.log_widget.add_answer(message)
            self._template_outcome(message)

    def _template_outcome(self, message: Message) -> None:
        """ "Template … queued." gives way to what became of the template."""
        sending = self._template_sending
        if sending is None or sending[0] != message.id:
            return
        if message.status not in _SETTLED:  # still on its way: says where it is
            self.composer.set_status(f"Template {sending[1]} {delivery_label(message.status)}.")
            return
        self._template_sending = None
        if message.status == DeliveryStatus.failed:
            reason = message.error_message or "WhatsApp refused it"
            self.composer.set_status(f"Template {sending[1]} not sent: {reason}", error=True)
        else:  # the message log shows its ticks
            self.composer.set_status("")

    @work(group="pickers", exclusive=True, exit_on_error=False)
    async def _open_inserts(self) -> None:
        thread = self.thread
        client = self.tapp.client
        if thread is None or client is None:
            return
        try:
            inserts = await client.inserts()
            contact = self.contact or await client.contact(thread.contact.id)
        except ApiError as exc:
            self.notify(exc.message, title="Inserts", severity="error", markup=False)
            return
        self.contact = contact
        from tui.dialogs.insert_picker import insert_picker  # not needed for the first paint

        text = await self.app.push_screen_wait(insert_picker(inserts, contact))
        if text:
            self.composer.insert_text(text)

    # ----------------------------------------------------------------- ticket actions

    def _selection_or_target(self) -> tuple[list[int], Thread | None]:
        """Ticket ids of the selection, or of the target thread."""
        selected = self.threads.selected
        if selected:
            return list(selected.values()), None
        thread = self.target_thread()
        return ([thread.ticket.id] if thread else []), thread

    def _known_tickets(self, ticket_ids: list[int]) -> list[Ticket]:
        wanted = set(ticket_ids)
        threads = [*self.threads.loaded_threads(), *([self.thread] if self.thread else [])]
        return list({t.ticket.id: t.ticket for t in threads if t.ticket.id in wanted}.values())

    @work(group="ticket", exclusive=False, exit_on_error=False)
    async def _update_tickets(self, ticket_ids: list[int], update: TicketUpdate, done: str) -> None:
        client = self.tapp.client
        assert client is not None
        if len(ticket_ids) > 1 and "threads)" not in done:
            done += f" ({len(ticket_ids)} threads)"
        under_cursor = self.threads.current
        undo = TicketUndo.before(
            self._known_tickets(ticket_ids),
            update,
            done,
            self.tapp.clock(),
            under_cursor.id if under_cursor and under_cursor.ticket.id in ticket_ids else None,
        )
        try:
            if len(ticket_ids) == 1 and not self.threads.selected:
                changed = [await client.update_ticket(ticket_ids[0], update)]
            else:
                bulk = TicketBulkUpdate(
                    ticket_ids=ticket_ids, **update.model_dump(exclude_unset=True)
                )
                changed = (await client.bulk_update(bulk)).items
                self.threads.clear_selection()
        except ApiError as exc:
            self.notify(exc.message, title="Not changed", severity="error", markup=False)
            return
        for ticket in changed:
            self._apply_ticket(ticket)
        self._undo = dataclasses.replace(undo, after={ticket.id: ticket for ticket in changed})
        self.notify(f"{done} · u undoes", markup=False)

    def action_undo(self) -> None:
        undo, self._undo = self._undo, None
        if undo is None or not undo.usable(self.tapp.clock()):
            self.notify("Nothing to undo.", markup=False)
            return
        self._run_undo(undo)

    @work(group="ticket", exclusive=False, exit_on_error=False)
    async def _run_undo(self, undo: TicketUndo) -> None:
        client = self.tapp.client
        assert client is not None
        overtaken: list[Ticket] = []
        for ticket_id, update in undo.restore_updates(self.tapp.clock()):
            try:
                current = await client.ticket(ticket_id)
                if undo.changed_since(current):  # someone else's change is not undone
                    overtaken.append(current)
                    continue
                self._apply_ticket(await client.update_ticket(ticket_id, update))
            except ApiError as exc:
                self.notify(exc.message, title="Not undone", severity="error", markup=False)
                return
        if overtaken:
            names = ", ".join(one_line(ticket.subject).plain for ticket in overtaken)
            self.notify(
                f"Not undone: {names} changed since (left as it is now).",
                title="Not undone",
                severity="warning",
                markup=False,
            )
            if len(overtaken) == len(undo.previous):
                return
        if undo.cursor_thread_id is not None:  # where the agent was
            self.threads.return_to(undo.cursor_thread_id)
        self.notify(f"Undone: {undo.label}", markup=False)

    def action_assign(self) -> None:
        self._assign(selection=bool(self.threads.selected))

    def action_assign_selection(self) -> None:
        if self.threads.selected:
            self._assign(selection=True)

    def _assign(self, *, selection: bool) -> None:
        from tui.dialogs.simple import UNASSIGN, owner_picker  # not needed for the first paint

        ticket_ids, thread = self._selection_or_target()
        if not ticket_ids:
            return
        current = thread.ticket.owner_id if thread else None
        title = f"Assign {len(ticket_ids)} threads to" if selection else "Assign owner"

        def chosen(agent_id: int | None) -> None:
            if agent_id is None:
                return
            if agent_id == UNASSIGN:
                update = TicketUpdate(unassign=True)
                words = "Unassigned"
            else:
                update = TicketUpdate(owner_id=agent_id)
                words = f"Assigned to {self._owner_name(agent_id)}"
            count = f" ({len(ticket_ids)} threads)" if len(ticket_ids) > 1 else ""
            self._update_tickets(ticket_ids, update, words + count)

        known = (
            self.contact
            if thread and self.contact and self.contact.id == thread.contact.id
            else None
        )
        picker = owner_picker(
            lambda: list(self.tapp.agents.values()),
            title=title,
            current=current,
            live=self.tapp.live,
            languages=known.languages if known else None,
        )
        self.app.push_screen(picker, chosen)
        if thread is not None and known is None:
            self._languages_for(picker, thread.contact.id)

    @work(group="assign-languages", exclusive=True, exit_on_error=False)
    async def _languages_for(self, picker: OwnerPicker, contact_id: int) -> None:
        """The owner picker opened before the contact was read: the agents who read the
        contact's language go first once it is."""
        client = self.tapp.client
        if client is None:
            return
        try:
            contact = await client.contact(contact_id)
        except ApiError:
            return  # the picker keeps its order: assigning does not need the languages
        if picker.is_attached:
            picker.read_by(contact.languages)

    def action_close_ticket(self) -> None:
        ticket_ids, _ = self._selection_or_target()
        if ticket_ids:
            self._update_tickets(ticket_ids, TicketUpdate(status=TicketStatus.closed), "Closed")

    def action_reopen_ticket(self) -> None:
        ticket_ids, _ = self._selection_or_target()
        if ticket_ids:
            self._update_tickets(
                ticket_ids, TicketUpdate(status=TicketStatus.waiting_on_us), "Reopened"
            )

    def action_snooze(self) -> None:
        from tui.dialogs.simple import snooze_picker  # not needed for the first paint

        ticket_ids, _ = self._selection_or_target()
        if not ticket_ids:
            return

        def chosen(until: datetime | None) -> None:
            if until is not None:
                words = f"Snoozed until {until.astimezone():%a %d %b %H:%M}"
                self._update_tickets(ticket_ids, TicketUpdate(snoozed_until=until), words)

        self.app.push_screen(snooze_picker(self.tapp.clock()), chosen)

    def action_priority(self) -> None:
        from tui.dialogs.simple import priority_picker  # not needed for the first paint

        ticket_ids, thread = self._selection_or_target()
        if not ticket_ids:
            return

        def chosen(priority: TicketPriority | None) -> None:
            if priority is not None:
                self._update_tickets(
                    ticket_ids, TicketUpdate(priority=priority), f"Priority {priority.value}"
                )

        self.app.push_screen(priority_picker(thread.ticket.priority if thread else None), chosen)

    def action_toggle_unread(self) -> None:
        thread = self.target_thread()
        if thread is not None:
            self._toggle_unread(thread)

    @work(group="mark-read", exit_on_error=False)
    async def _toggle_unread(self, thread: Thread) -> None:
        client = self.tapp.client
        assert client is not None
        try:
            if thread.unread_count:
                await client.mark_read(thread.id)
            else:
                await client.mark_unread(thread.id)
        except ApiError as exc:
            self.notify(exc.message, severity="error", markup=False)

    def _apply_ticket(self, ticket: Ticket) -> None:
        """A changed ticket, from an API answer or a live event."""
        if self.thread is not None and self.thread.ticket.id == ticket.id:
            self.thread = self.thread.model_copy(update={"ticket": ticket})
            self._render_thread_header()
            if self.panel_open:
                self._load_timeline()
        for thread in self.threads.loaded_threads():
            if thread.ticket.id == ticket.id:
                self.threads.apply_thread(thread.model_copy(update={"ticket": ticket}))
                break

    # ----------------------------------------------------------------- panel, details

    def action_toggle_panel(self) -> None:
        self.panel_open = not self.panel_open
        if self.panel_open:
            if self.thread is None and self.threads.current is not None:
                self.open_thread(self.threads.current)
            else:
                self._load_panel()

    def _load_panel(self) -> None:
        self.panel.show_contact(self.contact, self.thread)
        self._load_contact()
        self._load_timeline()

    @work(group="panel", exclusive=True, exit_on_error=False)
    async def _load_contact(self) -> None:
        thread = self.thread
        client = self.tapp.client
        if thread is None or client is None:
            return
        try:
            contact = await client.contact(thread.contact.id)
        except ApiError as exc:
            self.panel.show_contact(None, None)
            self.notify(exc.message, title="Contact", severity="error", markup=False)
            return
        if self.thread is not None and self.thread.id == thread.id:
            self.contact = contact
            self.panel.show_contact(contact, thread)

    @work(group="timeline", exclusive=True, exit_on_error=False)
    async def _load_timeline(self) -> None:
        thread = self.thread
        client = self.tapp.client
        if thread is None or client is None:
            return
        try:
            entries = await client.timeline(thread.ticket.id)
        except ApiError:
            entries = []
        if self.thread is not None and self.thread.id == thread.id:
            self.panel.show_timeline(entries, self._owner_name)

    async def _earlier_tickets(self) -> list[TicketSummary]:
        """The contact's other conversations, newest first (those with a thread)."""
        thread = self.thread
        client = self.tapp.client
        assert thread is not None and client is not None
        contact = self.contact
        if contact is None or contact.id != thread.contact.id:
            contact = await client.contact(thread.contact.id)
            self.contact = contact
        others = [t for t in contact.tickets if t.thread_id and t.thread_id != thread.id]
        return sorted(others, key=lambda t: (t.created_at, t.id), reverse=True)

    @work(group="earlier", exclusive=True, exit_on_error=False)
    async def action_previous_conversation(self) -> None:
        thread = self.thread
        client = self.tapp.client
        if thread is None or client is None:
            return
        try:
            earlier = [
                t for t in await self._earlier_tickets() if t.created_at <= thread.ticket.created_at
            ]
            if not earlier:
                self.notify("No earlier conversation with this contact.", markup=False)
                return
            previous = earlier[0]
            assert previous.thread_id is not None
            page = await client.messages(previous.thread_id, limit=30)
        except ApiError as exc:
            self.notify(exc.message, title="Earlier conversation", severity="error", markup=False)
            return
        if self.thread is None or self.thread.id != thread.id:
            return
        title = Text("── earlier conversation ", style="bold")
        title.append_text(one_line(f"#{previous.id} {previous.subject}"))
        title.append(f" · {STATUS_WORDS.get(previous.status, previous.status.value)} ──")
        self.log_widget.show_earlier(title, page.items)

    def key_display(self, action: str) -> str:
        """The key of one of this screen's actions as the footer and ``?`` show it: the
        binding's first key, or the one the keymap put in its place."""
        keymap = getattr(self.app, "_keymap", {}) or {}
        for _key, binding in self._bindings:
            if binding.action == action:
                keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
                return self.app.get_key_display(Binding(keys.split(",")[0].strip(), ""))
        raise LookupError(action)

    @work(group="earlier-hint", exclusive=True, exit_on_error=False)
    async def _hint_earlier(self, thread: Thread) -> None:
        """A returning customer's thread says, at its top, which key (``[`` unless remapped)
        shows the previous conversation."""
        try:
            earlier = [
                t for t in await self._earlier_tickets() if t.created_at <= thread.ticket.created_at
            ]
        except ApiError:
            earlier = []
        if self.thread is None or self.thread.id != thread.id:
            return
        if earlier:
            day = f"{earlier[0].created_at.astimezone():%-d %b}"
            key = self.key_display("previous_conversation")
            hint = Text(
                f"── Earlier conversation on {day} — press {key} to show ──", style="italic"
            )
            self.log_widget.show_earlier_hint(hint)
        self.earlier_checked = thread.id

    @work(group="earlier", exclusive=True, exit_on_error=False)
    async def action_earlier_threads(self) -> None:
        from tui.dialogs.picker import FuzzyPicker, PickItem

        client = self.tapp.client
        if self.thread is None or client is None:
            return
        try:
            earlier = await self._earlier_tickets()
        except ApiError as exc:
            self.notify(exc.message, title="Earlier conversations", severity="error", markup=False)
            return
        if not earlier:
            self.notify("No earlier conversation with this contact.", markup=False)
            return
        items = [
            PickItem(
                t,
                one_line(f"#{t.id} {t.subject}"),
                f"{t.id} {t.subject}",
                detail=Text(f"{t.status.value.replace('_', ' ')} · {t.created_at:%d %b %Y}"),
            )
            for t in earlier
        ]
        chosen = await self.app.push_screen_wait(
            FuzzyPicker("Earlier conversations", items, placeholder="subject or number")
        )
        if chosen is None or chosen.thread_id is None:
            return
        try:
            thread = await client.thread(chosen.thread_id)
        except ApiError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        self.open_thread(thread)
        self.log_widget.focus()

    def action_details(self) -> None:
        from tui.dialogs.simple import MessageDetailsDialog  # not needed for the first paint

        message = self.log_widget.selected
        if message is not None and message.email is not None:
            self._email_details(message)
        elif message is not None:
            self.app.push_screen(MessageDetailsDialog(message))

    @work(group="details", exclusive=True, exit_on_error=False)
    async def _email_details(self, message: Message) -> None:
        """An e-mail's details with its whole text (what the thread folds away)."""
        from tui.dialogs.simple import MessageDetailsDialog  # not needed for the first paint

        client = self.tapp.client
        source: EmailSource | str | None = None
        if client is not None:
            try:
                source = await client.email_source(message.id)
            except ApiError as exc:
                source = exc.message
        self.app.push_screen(MessageDetailsDialog(message, source))

    # ----------------------------------------------------------------- per-message actions

    @on(MessageLog.Action)
    def _message_action(self, event: MessageLog.Action) -> None:
        if event.action == "retry":
            self._retry(event.message)
        elif event.action == "reveal":
            self._reveal(event.message)
        elif event.action in ("open_media", "save_media"):
            self._media(event.message, open_it=event.action == "open_media")
        elif event.action == "add_contact":
            self._add_shared_contacts(event.message)
        elif event.action == "react":
            self._react(event.message)

    @work(group="message-action", exit_on_error=False)
    async def _react(self, message: Message) -> None:
        from tui.dialogs.simple import reaction_picker  # not needed for the first paint

        client = self.tapp.client
        assert client is not None
        me = self.tapp.me
        mine = next(
            (
                reaction.emoji
                for reaction in message.reactions
                if reaction.by == Direction.outbound
                and me is not None
                and reaction.agent_id == me.id
            ),
            None,
        )
        emoji = await self.app.push_screen_wait(reaction_picker(mine))
        if emoji is None or emoji == mine:  # cancelled, or the reaction it already has
            return
        try:
            await client.send(
                message.thread_id,
                schemas.SendReaction(kind="reaction", message_id=message.id, emoji=emoji),
            )
        except ApiError as exc:
            self.notify(exc.message, title="Reaction not sent", severity="error", markup=False)
            return
        self.notify("Reaction removed." if not emoji else f"Reacted {emoji}", markup=False)

    @work(group="message-action", exit_on_error=False)
    async def _retry(self, message: Message) -> None:
        client = self.tapp.client
        assert client is not None
        try:
            updated = await client.retry(message.thread_id, message.id)
        except ApiError as exc:
            self.notify(exc.message, title="Retry refused", severity="error", markup=False)
            return
        self.log_widget.add_answer(updated, replaces=(DeliveryStatus.failed,))
        self.notify("Sending again.", markup=False)

    @work(group="message-action", exit_on_error=False)
    async def _reveal(self, message: Message) -> None:
        from tui.dialogs.simple import ConfirmDialog  # not needed for the first paint

        client = self.tapp.client
        assert client is not None
        sure = await self.app.push_screen_wait(
            ConfirmDialog(
                f"Reveal this quarantined message (rule: {message.quarantine_rule or 'policy'})? "
                "The reveal is written to the audit log.",
                yes="Reveal",
            )
        )
        if not sure:
            return
        try:
            revealed = await client.reveal(message.id)
        except ApiError as exc:
            self.notify(exc.message, title="Not revealed", severity="error", markup=False)
            return
        shown = revealed.message.model_copy(
            update={"quarantine_revealed": True, "text": revealed.text or revealed.message.text}
        )
        self.log_widget.upsert(shown)

    @work(group="message-action", exit_on_error=False)
    async def _media(self, message: Message, *, open_it: bool) -> None:
        client = self.tapp.client
        files = message.attachments or ([message.media] if message.media else [])
        files = [file for file in files if file.id is not None]
        if client is None or not files:
            return
        media = files[0] if len(files) == 1 else await self._pick_file(files, open_it=open_it)
        if media is None:
            return
        assert media.id is not None  # files without one were left out above
        try:
            data = await client.download(media.id)
        except ApiError as exc:
            self.notify(exc.message, title="Download failed", severity="error", markup=False)
            return
        name = _safe_filename(media.filename or f"media-{media.id}", media.mime_type)
        if open_it:
            folder = (
                Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ttydesk" / "media"
            )
        else:
            downloads = Path.home() / "Downloads"
            folder = downloads if downloads.is_dir() else Path.home()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{media.id}-{name}" if open_it else _unique(folder / name)
        path.write_bytes(data)
        if not open_it:
            self.notify(f"Saved to {path}", markup=False)
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        if shutil.which(opener) and (
            os.environ.get("DISPLAY")
            or os.environ.get("WAYLAND_DISPLAY")
            or sys.platform == "darwin"
        ):
            subprocess.Popen(
                [opener, str(path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            self.notify(f"Opened {path.name}", markup=False)
        else:
            self.notify(f"No viewer here (SSH?). Saved to {path}", markup=False)

    async def _pick_file(self, files: list[Media], *, open_it: bool) -> Media | None:
        """Which of an e-mail's files to open or save (``None``: cancelled)."""
        from tui.dialogs.picker import FuzzyPicker, PickItem

        items = [
            PickItem(
                value=file,
                label=one_line(f"{number}. {file.filename or 'unnamed'}"),
                search=file.filename or "",
                detail=Text(f"{file.mime_type or 'unknown type'} · {human_size(file.size)}"),
            )
            for number, file in enumerate(files, 1)
        ]
        title = "Open which file?" if open_it else "Save which file?"
        return await self.app.push_screen_wait(FuzzyPicker(title, items))

    @work(group="message-action", exit_on_error=False)
    async def _add_shared_contacts(self, message: Message) -> None:
        client = self.tapp.client
        assert client is not None
        added = 0
        for shared in message.contacts:
            first, _, last = shared.name.partition(" ")
            body = schemas.ContactCreate(
                first_name=first or None,
                last_name=last or None,
                phone=shared.phones[0] if shared.phones else None,
                email=shared.emails[0] if shared.emails else None,
            )
            try:
                created = await client.create_contact(body)
                added += 1
            except ApiError as exc:
                self.notify(
                    f"{shared.name}: {exc.message}",
                    title="Contact not added",
                    severity="error",
                    markup=False,
                )
                continue
            if created.unchecked_phones:
                self.notify(
                    f"{shared.name}: {created.phone} is kept as written; its range is too "
                    "new for the phone library to check.",
                    severity="warning",
                    markup=False,
                )
        if added:
            self.notify(f"Added {added} contact{'s' if added > 1 else ''}.", markup=False)

    # ----------------------------------------------------------------- views: create / edit / delete

    def action_new_view(self) -> None:
        self._build_view(None)

    @on(ViewsSidebar.EditRequested)
    def _edit_view(self, event: ViewsSidebar.EditRequested) -> None:
        if event.delete:
            self._delete_view(event.view)
        else:
            self._build_view(event.view)

    @work(group="views", exclusive=True, exit_on_error=False)
    async def _build_view(self, view: View | None) -> None:
        client = self.tapp.client
        assert client is not None
        try:
            properties = await client.view_properties()
        except ApiError:
            properties = []
        from tui.dialogs.view_builder import ViewBuilder  # not needed for the first paint

        agent_names = {"me": "me (whoever looks at the view)"} | {
            str(agent.id): agent.name for agent in self.tapp.agents.values()
        }
        refused: tuple[ViewCreate, str] | None = None
        while True:  # a refused view comes back to the builder as it was, with the reason
            result: ViewCreate | None = await self.app.push_screen_wait(
                ViewBuilder(properties, view=view, refused=refused, agent_names=agent_names)
            )
            if result is None:
                return
            try:
                if view is None:
                    saved = await client.create_view(result)
                else:
                    saved = await client.update_view(
                        view.id,
                        ViewUpdate(
                            name=result.name, sharing=result.sharing, filters=result.filters
                        ),
                    )
            except ApiError as exc:
                where = f" ({exc.field})" if exc.field else ""
                refused = (result, f"Not saved: {exc.message}{where}")
                continue
            break
        self.tapp.upsert_view(saved)
        self.sidebar.set_views(self.tapp.views, self.tapp.counts)
        self.select_view(saved)
        self.notify(f"View “{saved.name}” saved.", markup=False)

    @work(group="views", exclusive=True, exit_on_error=False)
    async def _delete_view(self, view: View) -> None:
        from tui.dialogs.simple import ConfirmDialog  # not needed for the first paint

        client = self.tapp.client
        assert client is not None
        if not await self.app.push_screen_wait(
            ConfirmDialog(f"Delete the view “{view.name}”?", yes="Delete")
        ):
            return
        try:
            await client.delete_view(view.id)
        except ApiError as exc:
            self.notify(exc.message, title="Not deleted", severity="error", markup=False)
            return
        self.tapp.remove_view(view.id)
        self.sidebar.set_views(self.tapp.views, self.tapp.counts)
        if self.view is not None and self.view.id == view.id and self.tapp.views:
            self.select_view(self.tapp.views[0])

    # ----------------------------------------------------------------- search, new conversation

    def action_search(self) -> None:
        self._open_search(SearchState(view_id=self.view.id if self.view else None))

    def _open_search(self, state: SearchState) -> None:
        from tui.screens.search import SearchScreen

        search = SearchScreen(state)

        def done(hit: SearchHit | None) -> None:
            if hit is None:
                return
            self.open_thread(hit.thread, jump_to=hit.message_id)
            # q/escape in the thread come back to these results
            self._search_return = search.state
            self.log_widget.search_terms = search.state.terms
            self.threads.move_to(hit.thread.id)
            self.log_widget.focus()

        self.app.push_screen(search, done)

    def action_new_conversation(self) -> None:
        self.tapp.start_new_conversation()

    # ----------------------------------------------------------------- live events

    def on_live(self, event: LiveEvent) -> None:
        if not self._composed:
            return
        data = event.data
        kind = event.type
        if kind in (EventType.message_created, EventType.message_updated) and isinstance(
            data, schemas.Message
        ):
            self._follow_free_allowance(data)
            if self.thread is not None and data.thread_id == self.thread.id:
                self.log_widget.upsert(data)
                self._template_outcome(data)
                if data.email is not None and kind == EventType.message_created:
                    self._offer_reply_all()
                self.seen.arrived(data, self.tapp.me.id if self.tapp.me else None)
                if kind == EventType.message_created and data.direction.value == "in":
                    self._mark_read(data.thread_id)  # the agent is looking at it
        elif kind == EventType.thread_updated and isinstance(data, Thread):
            self.threads.apply_thread(data)
            if self.thread is not None and self.thread.id == data.id:
                self.thread = data
                self._render_thread_header()
        elif kind == EventType.ticket_updated and isinstance(data, Ticket):
            self._apply_ticket(data)
        elif kind == EventType.view_counts:
            self.sidebar.set_counts(self.tapp.counts)
            count = self.tapp.counts.get(self.view.id) if self.view is not None else None
            if count is not None and self._owner is None:  # (an owner's part is not counted)
                self.threads.apply_count(count)
        elif kind == EventType.views_changed and isinstance(data, ViewsChanged):
            self.sidebar.set_views(self.tapp.views, self.tapp.counts)
            if (
                data.deleted
                and self.view is not None
                and self.view.id == data.deleted
                and self.tapp.views
            ):
                self.select_view(self.tapp.views[0])
        elif kind == EventType.presence and isinstance(data, Presence):
            self.presence.apply(data)
        elif kind == EventType.hello:  # a new connection: presence is sent again after it
            self.presence.set_thread(self.presence.thread_id, self.tapp.presence.values())
        elif kind == EventType.mailbox_updated and self.thread is not None:
            self._price_reply()  # whether it can be replied to, or by e-mail, changed
        elif kind == EventType.agent_updated:
            self.threads.refresh()
            self._render_thread_header()
        elif kind == EventType.contact_updated:
            if (
                self.thread is not None
                and getattr(data, "id", None) == self.thread.contact.id
                and self.panel_open
            ):
                self._load_contact()


def _safe_filename(name: str, mime: str | None) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name)[:120].strip("._")
    return cleaned or "attachment"


def _unique(path: Path) -> Path:
    candidate = path
    counter = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{counter}{path.suffix}")
        counter += 1
    return candidate
