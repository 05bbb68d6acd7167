"""The ttydesk terminal inbox: the App, its connection lifecycle and the ``run`` entry point.

``TtydeskApp(settings, client)`` is the one factory the CLI, the demo and the tests share.
The app owns what every screen needs (the agent, agents, views and counts, usage, the
connection state), runs the live stream in an exclusive worker, and publishes each live
event on the ``live`` signal for the screens.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from rich.text import Text
from textual import events, on, work
from textual._time import get_time
from textual.app import (
    App,
    ComposeResult,
    ScreenStackError,
    SystemCommand,
    UnknownModeError,
)
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.notifications import Notification, Notify
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen, SystemModalScreen
from textual.scrollbar import ScrollBar
from textual.signal import Signal
from textual.widgets import Input, Static, TextArea
from textual.widgets._toast import ToastRack
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from backend import schemas
from backend.schemas import (
    Agent,
    Direction,
    EventType,
    MessageKind,
    NotificationChoice,
    Page,
    Presence,
    PresenceState,
    Role,
    Thread,
    Usage,
    View,
    ViewCounts,
)
from tui import glyphs
from tui.budget import BudgetFollower
from tui.client import ApiClient, ApiError, ConnState, LiveEvent, LiveStream, ViewsChanged
from tui.commands import TtydeskCommands
from tui.config import Settings, save_settings
from tui.text import cut, one_line
from tui.widgets.footer import KeyFooter
from tui.widgets.scrollbar import GlyphScrollBarRender
from tui.widgets.thread_list import ThreadList

if TYPE_CHECKING:
    from backend.schemas import Message, Template

MINE_VIEW = "builtin:mine"  # "Assigned to me": its count is the agent's own
# the view the inbox opens on: the server lists the built-in views first, this one first
FIRST_VIEW = "builtin:all_open"

ScrollBar.renderer = GlyphScrollBarRender  # whole cells in ASCII (see there)


def _ascii_palette_mark(screen: Screen) -> None:
    """The palette's magnifier emoji before what is typed would be "??" in ASCII."""
    from textual.command import CommandPalette, SearchIcon

    if isinstance(screen, CommandPalette):
        for icon in screen.query(SearchIcon):
            icon.icon = ">"


def counted_for_someone_else(view: View, me: Agent | None) -> bool:
    """A pushed count reads "me" as the view's owner: for a view shared with "owner is me"
    it is the owner's count, not this agent's."""
    if view.builtin or me is None or view.owner_id == me.id:
        return False
    return any(
        f.property == "owner" and any(str(v).strip().lower() == "me" for v in f.values)
        for f in view.filters
    )


LiveFactory = Callable[[ApiClient, int | None], LiveStream]


@dataclass(frozen=True)
class DemoLink:
    """What the inbox knows of the demo it runs in (``ttydesk demo``; none outside one).

    The demo's owner asks ``others_joined`` before quitting (quitting stops the demo for
    everyone); an agent who joined asks ``running`` when its connection drops.
    """

    others_joined: Callable[[], list[str]] = lambda: []
    running: Callable[[], bool] = lambda: True


DEMO_STOPPED = "The demo you joined has stopped (its owner quit it). Press q to quit."


class StartScreen(Screen[None]):
    """Shown while connecting, and when the server cannot be used: one clear sentence."""

    BINDINGS = [
        Binding(
            "r", "app.retry_connect", "Retry", id="start.retry", tooltip="Try to connect again"
        ),
        Binding(
            "l",
            "app.login",
            "Change server/token",
            id="start.login",
            tooltip="Enter another server or token",
        ),
        Binding("q", "app.quit", "Quit", id="start.quit", tooltip="Leave ttydesk"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.message = f"Connecting{glyphs.glyphs().ellipsis}"
        self.error = False

    def compose(self) -> ComposeResult:
        with Vertical(id="start-box"):
            yield Static(Text("ttydesk", style="bold"), id="start-title")
            yield Static(Text(self.message), id="start-message")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.show(self.message, error=self.error)

    def show(self, message: str, *, error: bool = False) -> None:
        self.message, self.error = message, error
        try:
            widget = self.query_one("#start-message", Static)
        except NoMatches:
            return  # not composed yet: on_mount shows it
        widget.update(Text(message))
        widget.set_class(error, "-error")


MAX_TOASTS = 2
SEND_BINDING_IDS = ("composer.send", "templates.send")
NEWS_TITLE = "New message from"  # a customer wrote: shown on the inbox only


class TtydeskApp(App[int]):
    """The terminal inbox."""

    CSS_PATH = "app.tcss"
    TITLE = "ttydesk"
    answer_wait_s = 5.0  # quitting: how long to wait for a reply's answer (_let_sends_be_answered)
    COMMANDS = App.COMMANDS | {TtydeskCommands}

    BINDINGS = [
        Binding(
            "ctrl+p",
            "command_palette",
            "Palette",
            id="app.palette",
            tooltip="Commands, views, agents and recent threads",
            priority=True,
        ),
        Binding(
            "question_mark", "help", "Help", id="app.help", tooltip="All keys and what they do"
        ),
        Binding("f2", "goto('inbox')", "Inbox", show=False, id="app.inbox", tooltip="The inbox"),
        Binding(
            "f3",
            "goto('records')",
            "Records",
            show=False,
            id="app.records",
            tooltip="Contacts, companies, deals and tickets",
        ),
        Binding(
            "f4",
            "goto('settings')",
            "Settings",
            show=False,
            id="app.settings",
            tooltip="Notifications, templates and channels",
        ),
        Binding(
            "f5",
            "goto('reports')",
            "Reports",
            show=False,
            id="app.reports",
            tooltip="Volumes, response times, tickets and cost, as charts and tables",
        ),
        Binding(
            "f6",
            "goto('usage')",
            "WhatsApp month",
            show=False,
            id="app.usage_month",
            tooltip="What WhatsApp bills this month: messages per category, the estimate",
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            tooltip="Leave ttydesk (asks first if a send, a draft or typed text would be lost)",
            priority=True,
        ),
    ]

    me: reactive[Agent | None] = reactive(None)
    usage: reactive[Usage | None] = reactive(None)
    conn_state: reactive[ConnState] = reactive("connecting")
    conn_detail: reactive[str | None] = reactive(None)

    def __init__(
        self,
        settings: Settings,
        client: ApiClient | None = None,
        *,
        live: LiveFactory | None = None,
        save_config: bool = True,
        clock: Callable[[], datetime] | None = None,
        demo: DemoLink | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.demo = demo
        self.client = client
        self._live_factory = live or (lambda client, since: LiveStream(client, since=since))
        self.save_config = save_config
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.stream: LiveStream | None = None
        self.agents: dict[int, Agent] = {}
        self.views: list[View] = []
        self.counts: dict[str, int] = {}
        self.recent: OrderedDict[int, Thread] = OrderedDict()
        self.presence: dict[int, Presence] = {}  # other agents' presence, by agent id
        self.thread_cache: OrderedDict[int, Thread] = OrderedDict()
        self._templates: list[Template] | None = None
        self._first_page: asyncio.Task[Page[Thread]] | None = None
        self.budget_follower = BudgetFollower(self)
        self.live: Signal[LiveEvent] = Signal(self, "live")
        self.reloaded: Signal[object] = Signal(self, "reloaded")
        self._dialog_closed_at = 0.0  # (``Message.time``'s clock)
        # each text box typed in, with its value before the first key (see ``_typed_in``)
        self._typed_from: WeakKeyDictionary[Input | TextArea, str] = WeakKeyDictionary()
        self.ready_event = asyncio.Event()
        self.start_screen = StartScreen()
        self.events_applied = 0
        self._held_toasts: list[Notification] = []
        self._held_news: list[tuple[str, str]] = []  # (title, body) until the inbox is back
        self._cursor_blinks = settings.blinks()
        self.arrow_cursor = settings.arrow_cursor_on()
        if settings.theme:
            with contextlib.suppress(Exception):
                self.theme = settings.theme

    # ----------------------------------------------------------------- start-up

    def get_default_screen(self) -> Screen:
        return self.start_screen

    def on_mount(self) -> None:
        # Everything made so far (modules, classes, styles) lives as long as the app: keep it
        # out of the cyclic collector's full passes, which otherwise take ~60 ms at random
        # moments (such as opening a thread). Frozen objects are still freed by refcount.
        # ``ttydesk`` turns the collector off while the modules load: on again from here.
        gc.freeze()
        gc.enable()
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)
        self.screen_change_signal.subscribe(self, self._release_held_toasts)
        if glyphs.glyphs() is glyphs.ASCII:
            self.screen_change_signal.subscribe(self, _ascii_palette_mark)
        if not self.is_headless and sys.__stdin__ is not None and sys.__stdin__.isatty():
            self.set_interval(1.0, self._leave_a_terminal_that_hung_up)
        if self.client is None and not self.settings.complete:
            self.action_login()
        else:
            self._connect()

    def _leave_a_terminal_that_hung_up(self) -> None:
        # a terminal that hung up (an SSH link dropped) reads as end-of-file for ever, which
        # Textual's input thread skips, and need not send SIGHUP (make, nohup): without this
        # the inbox, and a demo's backend, would go on with no one to see them
        if sys.__stdin__ is None or os.isatty(sys.__stdin__.fileno()):
            return
        driver = self._driver
        if driver is not None:
            # its output thread died on the first write to the gone terminal, so the way
            # out's reset codes would wait for ever on its full queue: they go nowhere
            driver.write = lambda data: None  # type: ignore[method-assign]
            driver.flush = lambda: None  # type: ignore[method-assign]
            if hasattr(driver, "_writer_thread"):
                driver._writer_thread = None
        self.exit(1)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self._cursor_blinks and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    def _start_message(self, message: str, *, error: bool = False) -> None:
        self.start_screen.show(message, error=error)

    async def verify(self, server: str, token: str) -> str | None:
        """For the login dialog: ``None`` if the server accepts the token, else why not."""
        probe = ApiClient(server, token, transport=getattr(self, "_probe_transport", None))
        try:
            await probe.me()
        except ApiError as exc:
            return exc.message
        finally:
            await probe.aclose()
        return None

    def action_login(self) -> None:
        from tui.dialogs.login import LoginDialog

        def done(result: tuple[str, str] | None) -> None:
            if result is None:
                self.exit(1)
                return
            server, token = result
            self.settings.server, self.settings.token = server, token
            if self.save_config:
                try:
                    path = save_settings(self.settings)
                    self.notify(f"Saved to {path} (mode 0600).", markup=False)
                except OSError as exc:
                    self.notify(
                        f"Could not save the config: {exc}", severity="warning", markup=False
                    )
            old = self.client
            self.client = ApiClient(server, token)
            if old is not None:
                self.run_worker(old.aclose(), exit_on_error=False)
            self._connect()

        self.push_screen(
            LoginDialog(self.verify, server=self.settings.server or "", token=""),
            done,
        )

    def action_retry_connect(self) -> None:
        self._connect()

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def _connect(self) -> None:
        if self.client is None:
            assert self.settings.server and self.settings.token
            self.client = ApiClient(self.settings.server, self.settings.token)
        client = self.client
        self._start_message(f"Connecting to {client.server}{glyphs.glyphs().ellipsis}")
        # the first frame needs the agent, the agents (owner names), the views with their
        # counts and the first page of the first view: asked for together, the rest after
        first_page = asyncio.ensure_future(
            client.threads(view=FIRST_VIEW, offset=0, limit=ThreadList.PAGE_SIZE, with_total=True)
        )
        self._first_page = first_page
        self._fetch_usage()
        try:
            await self.refetch(first=True)
        except ApiError as exc:
            first_page.cancel()
            self._start_message(
                exc.message + "  Press r to retry, l to enter another server or token, q to quit.",
                error=True,
            )
            return
        self._install_modes()
        await self.switch_mode("inbox")
        if isinstance(self.screen, StartScreen):  # the demo stopped, and is back
            self.pop_screen()
        self.ready_event.set()
        # the live stream (and its imports) once the first page is drawn, and httpx (for
        # what is not a GET) loaded on a thread meanwhile
        await self._first_page_in(first_page)
        self.call_after_refresh(self._run_live)
        self.call_after_refresh(self._load_http)
        self._offer_to_save()

    @work(thread=True, group="http", exit_on_error=False)
    def _load_http(self) -> None:
        if self.client is not None:
            self.client.load_http()

    async def _first_page_in(self, first_page: asyncio.Task[Page[Thread]]) -> None:
        from tui.screens.inbox import InboxScreen

        screen = self.screen
        if isinstance(screen, InboxScreen) and screen.view is not None:
            await screen.threads.first_loaded.wait()
        await asyncio.wait([first_page])
        if self._first_page is first_page:  # not taken by the inbox: it would be stale later
            self._first_page = None
        if not first_page.cancelled():
            first_page.exception()  # the list's to show: retrieved, so asyncio does not log it

    def take_first_page(self, view_id: str) -> asyncio.Task[Page[Thread]] | None:
        """The first page of ``FIRST_VIEW`` asked for at start-up: once, for that view."""
        first, self._first_page = self._first_page, None
        if first is not None and view_id != FIRST_VIEW:
            first.cancel()
            return None
        return first

    @work(group="me", exclusive=True, exit_on_error=False)
    async def _read_me_again(self) -> None:
        client = self.client
        if client is None:
            return
        with contextlib.suppress(ApiError):
            self.me = await client.me()

    @work(group="usage", exclusive=True, exit_on_error=False)
    async def _fetch_usage(self) -> None:
        if self.client is not None:
            with contextlib.suppress(ApiError):
                self.usage = await self.client.usage()

    def _offer_to_save(self) -> None:
        """After the first connection with a server and token from the command line or the
        environment: offer to keep them in the 0600 config file, so plain `ttydesk` is
        enough next time and the token need not be typed again."""
        settings = self.settings
        if not self.save_config or settings.saved or not settings.complete:
            return
        settings.saved = True  # ask once per run
        from tui.config import config_path
        from tui.dialogs.simple import ConfirmDialog

        path = settings.path or config_path()

        def answered(save: bool | None) -> None:
            if not save:
                return
            try:
                saved_to = save_settings(settings, path)
            except OSError as exc:
                self.notify(f"Could not save the config: {exc}", severity="warning", markup=False)
                return
            self.notify(f"Saved to {saved_to} (mode 0600).", markup=False)

        self.push_screen(
            ConfirmDialog(
                f"Connected to {settings.server}. Save the server and your token in {path} "
                "(readable only by you), so plain `ttydesk` is enough next time?",
                yes="Save",
                no="Not now",
            ),
            answered,
        )

    async def refetch(self, *, first: bool = False) -> None:
        """Everything the screens share, from the server (start-up and resync). The ``first``
        time, the views bring their counts and the usage follows (``_fetch_usage``)."""
        client = self.client
        assert client is not None
        if first:
            me, agents, views = await asyncio.gather(client.me(), client.agents(), client.views())
            counts = {view.id: view.count for view in views if view.count is not None}
        else:
            me, agents, views, view_counts, self.usage = await asyncio.gather(
                client.me(), client.agents(), client.views(), client.view_counts(), client.usage()
            )
            counts = view_counts.counts
        self.agents = {a.id: a for a in agents}
        self.agents[me.id] = self.agents.get(me.id, me)
        self.views = views
        self.counts = counts
        self.me = me
        self._templates = None

    def _install_modes(self) -> None:
        if "inbox" in self._modes:
            return
        from tui.screens.inbox import InboxScreen

        self.add_mode("inbox", lambda: self._styled(InboxScreen()))
        # the other screens (and their imports) wait until they are first shown
        self.add_mode("records", lambda: self._styled(_records_screen()))
        self.add_mode("settings", lambda: self._styled(_settings_screen()))
        self.add_mode("usage", lambda: self._styled(_usage_month_screen()))
        self.add_mode("reports", lambda: self._styled(_reports_screen()))

    def _styled(self, screen: Screen[None]) -> Screen[None]:
        """A mode's screen made just now has the app's current CSS: without this, Textual
        restyles the whole app twice when it is first shown (every stylesheet reparsed,
        ~40 ms each) in case the CSS changed since the screen was made."""
        screen._css_update_count = self._css_update_count
        return screen

    @property
    def is_admin(self) -> bool:
        return self.me is not None and self.me.role == Role.admin

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self._for_a_closed_dialog(event):
            return
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            self._typing_into(self.focused)
            if isinstance(event, events.Key) and self._bound_in_turn_with_typing(event):
                return
        await super().on_event(event)

    def _bound_in_turn_with_typing(self, event: events.Key) -> bool:
        """A key for a binding (backspace, ctrl+s…) while a text box has the focus is run
        in that box's own queue, behind the keys before it. Textual types a character when
        the box takes it from its queue, but runs a binding only once the key has bubbled
        back up to the app: in a burst (a fast typist, keys batched over SSH), "q",
        backspace, ctrl+s sent the "q", and a priority binding ran before any of them."""
        focused = self.focused
        if not isinstance(focused, Input | TextArea) or getattr(focused, "read_only", False):
            return False
        if event.is_printable or self.screen.maximized is not None:
            return False
        if isinstance(focused, TextArea) and (
            event.key == "enter"
            or (focused.tab_behavior == "indent" and event.key in ("tab", "escape"))
        ):
            return False  # typed by the box itself
        focused.call_later(self._run_binding_in_turn, event)
        return True

    async def _run_binding_in_turn(self, event: events.Key) -> None:
        # what App.on_event and App._on_key would do, in this order, for a key not typed
        if self._for_a_closed_dialog(event):
            return
        if await self._check_bindings(event.key, priority=True):
            return
        if await self._check_bindings(event.key):
            return
        # no binding: the widgets' own key handlers, once (not taken in turn again)
        again = events.Key(event.key, event.character)
        again.redelivered = True  # type: ignore[attr-defined]
        (self.focused or self.screen)._forward_event(again)

    def _typing_into(self, widget: object) -> None:
        """A key or a paste goes to ``widget``: a text box keeps what it held before it."""
        if isinstance(widget, Input | TextArea) and widget not in self._typed_from:
            self._typed_from[widget] = _typed_value(widget)

    def _typed_in_dialogs(self) -> bool:
        """Whether a dialog still open holds text the agent typed (not a search box, class
        ``query``): quitting would lose it. The screens under the dialogs keep their own."""
        bases = {stack[0] for stack in self._screen_stacks.values() if stack}
        for widget, before in list(self._typed_from.items()):
            if not widget.is_attached or widget.has_class("query"):
                continue
            screen = widget.screen
            if screen in bases or isinstance(screen, SystemModalScreen):
                continue
            if _typed_value(widget) != before:
                return True
        return False

    def pop_screen(self) -> AwaitComplete:
        if isinstance(self.screen, ModalScreen):
            self._dialog_closed_at = get_time()  # the clock of ``Message.time``
        return super().pop_screen()

    def _for_a_closed_dialog(self, event: events.Key) -> bool:
        """A send key pressed while a dialog was open (a double tap on the template
        picker's ctrl+s) was for the dialog: the screen under it would send its draft."""
        if event.is_forwarded or event.time >= self._dialog_closed_at:
            return False
        keys = {"ctrl+s"}
        for binding_id in SEND_BINDING_IDS:
            keys.update(key.strip() for key in self._keymap.get(binding_id, "").split(","))
        return event.key in keys

    async def _on_key(self, event: events.Key) -> None:
        # keys typed right after one that moved the focus into a text box (``r``, ``n``…)
        # were handed to the widget focused before (the app hands keys on as they come):
        # they belong to the text box, not to the list, where letters are commands
        focused = self.focused
        if (
            not isinstance(focused, TextArea | Input)
            or getattr(focused, "read_only", False)
            or getattr(event, "redelivered", False)
        ):
            return
        if event.is_printable:
            self._typing_into(focused)
            again = events.Key(event.key, event.character)
            again.redelivered = True  # type: ignore[attr-defined]
            focused.post_message(again)
            event.prevent_default()  # (Textual calls App._on_key after this one)
        else:  # (a backspace among them): its binding runs behind the letters handed on
            focused.call_later(self._run_binding_in_turn, event)
            event.prevent_default()

    def action_goto(self, mode: str) -> None:
        if mode in self._modes and self.current_mode != mode:
            self.switch_mode(mode)

    # ----------------------------------------------------------------- live stream

    @work(exclusive=True, group="live", exit_on_error=False)
    async def _run_live(self) -> None:
        client = self.client
        assert client is not None
        # first: from where the log stood before the first reads, so a change committed
        # between them and this connection is replayed (the server would start at its newest)
        since = self.stream.since if self.stream is not None else client.first_since
        self.stream = self._live_factory(client, since)
        await self.stream.run(self._on_event, self._on_state, self._on_resync)

    def _on_state(self, state: ConnState, detail: str | None) -> None:
        if state == "reconnecting" and self.demo is not None and not self.demo.running():
            self._demo_stopped()
            return
        self.conn_detail = detail
        self.conn_state = state

    def _demo_stopped(self) -> None:
        """The joined demo is gone for good: say so plainly instead of reconnecting forever."""
        self.workers.cancel_group(self, "live")
        self.conn_detail = DEMO_STOPPED
        self.conn_state = "offline"
        stopped = StartScreen()
        stopped.show(DEMO_STOPPED, error=True)
        self.push_screen(stopped)

    async def _on_resync(self, event: LiveEvent | None) -> None:
        for attempt in range(5):
            try:
                await self.refetch()
                break
            except ApiError:
                await asyncio.sleep(0.5 * (attempt + 1))
        self.reloaded.publish(event)

    def _on_event(self, event: LiveEvent) -> None:
        self.events_applied += 1
        data = event.data
        kind = event.type
        if kind == EventType.view_counts and isinstance(data, ViewCounts):
            self.apply_counts(data)
        elif kind == EventType.usage_updated and isinstance(data, Usage):
            # the budget comes with GET /usage only: a pushed meter keeps the last one
            budget = self.usage.budget if self.usage is not None else None
            self.usage = (
                data if data.budget is not None else data.model_copy(update={"budget": budget})
            )
        elif kind == EventType.agent_updated and isinstance(data, Agent):
            self.agents[data.id] = data
            if self.me is not None and data.id == self.me.id:
                # the news carries no signature (other agents may not read it): mine is
                # kept, and read again in case an admin changed it
                self.me = data.model_copy(update={"signature": self.me.signature})
                self._read_me_again()
        elif kind == EventType.views_changed and isinstance(data, ViewsChanged):
            if data.view is not None:
                self.upsert_view(data.view)
            if data.deleted:
                self.remove_view(data.deleted)
        elif kind == EventType.thread_updated and isinstance(data, Thread):
            self.remember_threads([data])
        elif kind == EventType.template_updated and isinstance(data, schemas.Template):
            if self._templates is not None:
                self._templates = [t for t in self._templates if t.id != data.id] + [data]
        elif kind == EventType.message_created and isinstance(data, schemas.Message):
            self._maybe_notify(data)
        elif kind == EventType.message_updated and isinstance(data, schemas.Message):
            self.budget_follower.message_updated(data)
        elif kind == EventType.hello:
            self.presence.clear()  # a (new) connection: the others' presence follows
        elif kind == EventType.presence and isinstance(data, Presence):
            if data.thread_id is None or data.state == PresenceState.idle:
                self.presence.pop(data.agent_id, None)
            else:
                self.presence[data.agent_id] = data
        self.live.publish(event)

    # ----------------------------------------------------------------- shared state helpers

    def apply_counts(self, data: ViewCounts) -> None:
        """Pushed counts are the same for everyone: "Assigned to me" and the agents' open
        tickets come in ``mine`` (agent id → open threads owned)."""
        theirs = {v.id for v in self.views if counted_for_someone_else(v, self.me)}
        counts = {**self.counts, **{k: n for k, n in data.counts.items() if k not in theirs}}
        if theirs & data.counts.keys():
            self._refetch_counts()
        if "mine" in data.model_fields_set:
            if self.me is not None:
                counts[MINE_VIEW] = data.mine.get(str(self.me.id), 0)
            for agent_id, agent in list(self.agents.items()):
                open_tickets = data.mine.get(str(agent_id), 0)
                if agent.open_tickets != open_tickets:
                    self.agents[agent_id] = agent.model_copy(update={"open_tickets": open_tickets})
        self.counts = counts

    @work(group="counts", exclusive=True, exit_on_error=False)
    async def _refetch_counts(self) -> None:
        """This agent's own counts (for the views a push counted for someone else)."""
        if self.client is None:
            return
        with contextlib.suppress(ApiError):
            fresh = await self.client.view_counts()
            self.counts = {**self.counts, **fresh.counts}
            self.live.publish(LiveEvent(0, EventType.view_counts, fresh))

    def upsert_view(self, view: View) -> None:
        for index, known in enumerate(self.views):
            if known.id == view.id:
                self.views[index] = view
                break
        else:
            self.views.append(view)
        self.views.sort(key=lambda v: (not v.builtin, v.position))

    def remove_view(self, view_id: str) -> None:
        self.views = [v for v in self.views if v.id != view_id]

    def remember_threads(self, threads: Iterable[Thread]) -> None:
        cache = self.thread_cache
        for thread in threads:
            cache[thread.id] = thread
            cache.move_to_end(thread.id)
        while len(cache) > 2000:
            cache.popitem(last=False)

    def remember_recent(self, thread: Thread) -> None:
        self.recent[thread.id] = thread
        self.recent.move_to_end(thread.id)
        while len(self.recent) > 20:
            self.recent.popitem(last=False)

    async def get_templates(self) -> list[Template]:
        if self._templates is None:
            assert self.client is not None
            self._templates = await self.client.templates()
        return self._templates

    def forget_templates(self) -> None:
        self._templates = None

    # ----------------------------------------------------------------- notifications

    def _maybe_notify(self, message: Message) -> None:
        me = self.me
        if (
            me is None
            or message.direction != Direction.inbound
            or message.kind == MessageKind.event
        ):
            return
        if me.notify == NotificationChoice.off:
            return
        if (self.clock() - message.created_at).total_seconds() > 600:
            return  # replayed history, not news
        screen = self.screen
        open_thread = getattr(screen, "thread", None)
        if isinstance(open_thread, Thread) and open_thread.id == message.thread_id:
            return
        thread = self.thread_cache.get(message.thread_id)
        if me.notify == NotificationChoice.mine:
            if thread is None:
                self._notify_after_fetch(message)
                return
            if thread.ticket.owner_id not in (None, me.id):
                return
        self._toast(message, thread)

    @work(group="notify", exit_on_error=False)
    async def _notify_after_fetch(self, message: Message) -> None:
        assert self.client is not None and self.me is not None
        try:
            thread = await self.client.thread(message.thread_id)
        except ApiError:
            return
        self.remember_threads([thread])
        if thread.ticket.owner_id in (None, self.me.id):
            self._toast(message, thread)

    def _toast(self, message: Message, thread: Thread | None) -> None:
        from tui.render import preview
        from tui.screens.inbox import InboxScreen

        who = thread.contact.name if thread else "a contact"
        title = one_line(f"{NEWS_TITLE} {who}").plain
        body = cut(one_line(preview(message)).plain, 140)
        if isinstance(self.screen, InboxScreen):
            self.notify(body, title=title, markup=False, timeout=6)
        else:  # search results, reports… fill the screen: a toast would cover them
            self._held_news = [*self._held_news, (title, body)][-MAX_TOASTS:]
        if self.me is not None and self.me.bell:
            self.bell()

    # ----------------------------------------------------------------- commands, help, errors

    def _on_notify(self, event: Notify) -> None:
        """At most MAX_TOASTS toasts at once: in the inbox they take rows of their own above
        the footer (app.tcss places and sizes them); a newer one replaces the oldest. A
        dialog or the help fills the screen at 80×24, so a toast raised over one waits (its
        timer not yet started) until the screen below is back."""
        try:
            over_a_dialog = self.screen.is_modal
        except (ScreenStackError, UnknownModeError):  # no screen: the app is shutting down
            over_a_dialog = False
        if over_a_dialog:
            self._held_toasts = [*self._held_toasts, event.notification][-MAX_TOASTS:]
            event.prevent_default()  # App's own handler would show it
            return
        super()._on_notify(event)
        for stale in list(self._notifications)[:-MAX_TOASTS]:
            self._unnotify(stale, refresh=False)
            # the whole holder, as an expiring toast does (Textual's rack would leave it)
            for holder in self.screen.query(f"#{ToastRack._toast_id(stale)}"):
                holder.remove()

    def _release_held_toasts(self, screen: Screen) -> None:
        from tui.screens.inbox import InboxScreen

        if isinstance(screen, InboxScreen) and self._held_news:
            news, self._held_news = self._held_news, []
            for title, body in news:
                self.notify(body, title=title, markup=False, timeout=6)
        elif not isinstance(screen, InboxScreen) and not screen.is_modal:
            # news already shown would follow onto the search results or a report; the
            # inbox list keeps the thread unread
            for shown in list(self._notifications):
                if shown.title.startswith(NEWS_TITLE):
                    self._unnotify(shown)
        if screen.is_modal or not self._held_toasts:
            return
        held, self._held_toasts = self._held_toasts, []
        for toast in held:
            self.notify(
                toast.message,
                title=toast.title,
                severity=toast.severity,
                timeout=toast.timeout,
                markup=toast.markup,
            )

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def start_new_conversation(self) -> None:
        from tui.screens.records import new_conversation_flow

        self.run_worker(
            new_conversation_flow(self),
            group="new-conversation",
            exclusive=True,
            exit_on_error=False,
        )

    def open_thread_in_inbox(self, thread: Thread, jump_to: int | None = None) -> None:
        async def go() -> None:
            await self.switch_mode("inbox")
            inbox = self.screen
            while len(self.screen_stack) > 1 and not hasattr(inbox, "open_thread"):
                self.pop_screen()
                inbox = self.screen
            if hasattr(inbox, "open_thread"):
                inbox.open_thread(thread, jump_to=jump_to)  # type: ignore[attr-defined]

        self.run_worker(go(), exit_on_error=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # of Textual's own commands only the theme; quitting is ours (it asks first)
        yield from (c for c in super().get_system_commands(screen) if c.title == "Theme")
        yield SystemCommand("Inbox", "Go to the inbox (f2)", lambda: self.action_goto("inbox"))
        yield SystemCommand(
            "Records",
            "Contacts, companies, deals, tickets (f3)",
            lambda: self.action_goto("records"),
        )
        yield SystemCommand(
            "Settings",
            "Notifications, templates, channels (f4)",
            lambda: self.action_goto("settings"),
        )
        yield SystemCommand(
            "WhatsApp month",
            "What WhatsApp bills: messages per category, the estimate, the trend (f6)",
            lambda: self.action_goto("usage"),
        )

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """One place for errors no worker handled itself: a sentence, never a traceback."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, ApiError):
            self.notify(error.message, severity="error", markup=False)
        else:
            self.log.error(f"worker {event.worker.name} failed: {error!r}")
            self.notify(
                f"Something went wrong ({type(error).__name__}: {error}).",
                severity="error",
                markup=False,
            )

    def would_be_lost(self) -> list[str]:
        """What quitting now would lose, one sentence each (nothing: quit without asking):
        a send the server has not answered yet, drafts the server could not keep, files
        attached to a reply (a draft keeps its text), what was typed in an open dialog, the
        demo of the agents who joined it."""
        lost = []
        if self.client is not None and (on_its_way := still_sending(self.client.sending)):
            lost.append(on_its_way)
        drafts = 0
        files: list[str] = []
        for screen in self._screens_everywhere():
            drafts += len(getattr(screen, "unsent_drafts", list)())
            files += getattr(screen, "unsent_attachments", list)()
        if drafts:
            lost.append(
                "1 unsent draft could not be saved and would be lost."
                if drafts == 1
                else f"{drafts} unsent drafts could not be saved and would be lost."
            )
        if files:
            lost.append(
                f"The file{'s' if len(files) > 1 else ''} attached to your reply "
                f"({', '.join(files)}) would be lost: a draft keeps only its text."
            )
        if self._typed_in_dialogs():
            lost.append("What you typed in the open dialog would be lost.")
        others = self.demo.others_joined() if self.demo is not None else []
        if others:
            lost.append(f"Quitting stops the demo for {', '.join(others)}, who joined it.")
        return lost

    def _screens_everywhere(self) -> list[Screen]:
        screens: list[Screen] = []
        for stack in self._screen_stacks.values():
            screens.extend(stack)
        return screens

    async def action_quit(self) -> None:
        from tui.dialogs.simple import ConfirmDialog

        if isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit-confirm":
            return
        await self._save_drafts()
        lost = self.would_be_lost()
        if not lost:
            await self.leave()
            return

        def answered(sure: bool | None) -> None:
            if sure:
                self.run_worker(self.leave(), exit_on_error=False)

        dialog = ConfirmDialog("Quit ttydesk? " + " ".join(lost), yes="Quit", no="Stay")
        dialog.id = "quit-confirm"
        self.push_screen(dialog, answered)

    async def _save_drafts(self) -> None:
        """Drafts are kept on the server: save every screen's now."""
        for screen in self._screens_everywhere():
            save_drafts = getattr(screen, "save_drafts", None)
            if save_drafts is not None:
                await save_drafts()

    async def _let_sends_be_answered(self) -> None:
        """Quitting while a reply is unanswered: wait a moment for its answer, which takes
        the sent text out of the composer, then save the drafts again. The quit's save
        held the sent text and whatever was written after it: that draft would be the
        reply again, to be sent twice."""
        sends = [w for w in self.workers if w.group == "send" and not w.is_finished]
        if not sends:
            return
        self.notify(
            f"Waiting for the answer to what is being sent (up to {self.answer_wait_s:g} s)"
            f"{glyphs.glyphs().ellipsis}",
            markup=False,
        )
        with contextlib.suppress(TimeoutError, WorkerFailed, WorkerCancelled):
            async with asyncio.timeout(self.answer_wait_s):
                for send in sends:
                    await send.wait()
        await self._save_drafts()

    async def leave(self) -> None:
        await self._let_sends_be_answered()
        if self.stream is not None:
            await self.stream.close()
        self.exit(0)

    async def on_unmount(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.aclose()


def _typed_value(widget: Input | TextArea) -> str:
    return widget.value if isinstance(widget, Input) else widget.text


_PLURAL = {"reply": "replies"}


def still_sending(sending: list[str]) -> str | None:
    """One sentence for the requests still on their way (``ApiClient.sending``)."""
    if not sending:
        return None
    kinds = set(sending)
    uploading = kinds == {"file"}
    verb = "uploaded" if uploading else "sent"
    if len(sending) == 1:
        return f"A {sending[0]} is still being {verb}."
    if len(kinds) == 1:
        (kind,) = kinds
        return f"{len(sending)} {_PLURAL.get(kind, kind + 's')} are still being {verb}."
    things = "messages and files" if "file" in kinds else "messages"
    return f"{len(sending)} {things} are still being sent."


def _records_screen() -> Screen[None]:
    from tui.screens.records import RecordsScreen

    return RecordsScreen()


def _settings_screen() -> Screen[None]:
    from tui.screens.settings import SettingsScreen

    return SettingsScreen()


def _usage_month_screen() -> Screen[None]:
    from tui.screens.usage_month import UsageMonthScreen

    return UsageMonthScreen()


def _reports_screen() -> Screen[None]:
    from tui.screens.reports import ReportsScreen

    return ReportsScreen()


def run(
    server: str | None = None,
    token: str | None = None,
    *,
    save_config: bool = True,
    demo: DemoLink | None = None,
) -> int:
    """The ``ttydesk`` command: start the inbox; returns the exit code. The demo passes
    ``save_config=False``: its server and tokens live only as long as it does; and a
    ``DemoLink`` (see there)."""
    import sys

    from tui.config import ConfigError, load_settings

    try:
        settings = load_settings(server, token)
    except ConfigError as exc:
        print(f"ttydesk: {exc}", file=sys.stderr)
        return 2
    glyphs.use(
        {"ascii": glyphs.ASCII, "unicode": glyphs.UNICODE}.get(
            settings.glyphs or "", glyphs.for_locale()
        )
    )
    app = TtydeskApp(settings, save_config=save_config, demo=demo)
    if settings.minimal_redraw and sys.platform != "win32":
        from textual.drivers.linux_driver import LinuxDriver

        from tui.terminal_output import AsciiDiffingDriver, DiffingDriver

        if app.driver_class is LinuxDriver:  # not when TEXTUAL_DRIVER chose another
            ascii_only = glyphs.glyphs() is glyphs.ASCII
            app.driver_class = AsciiDiffingDriver if ascii_only else DiffingDriver
    result = app.run()
    return int(result or 0)


def main(argv: list[str] | None = None) -> int:
    """``python -m tui`` with ``--server`` / ``--token``."""
    import argparse

    parser = argparse.ArgumentParser(prog="ttydesk", description="The ttydesk terminal inbox.")
    parser.add_argument("--server", help="backend URL (or TTYDESK_SERVER)")
    parser.add_argument("--token", help="agent token (or TTYDESK_TOKEN)")
    args = parser.parse_args(argv)
    return run(args.server, args.token)
