"""What the inbox loads before its first frame: what that frame needs, and no more."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections import Counter

import httpx
from textual.dom import DOMNode

from backend.schemas import API_PREFIX
from tests.tui.backend_fixtures import inbox_ready, wait_for
from tui.app import FIRST_VIEW, TtydeskApp
from tui.client import ApiClient, LiveStream
from tui.config import Settings
from tui.screens.inbox import InboxScreen

#: modules the first frame of the inbox has no use for (the server stack, the phone-number
#: database, httpx (its first GETs go out without it) and its command-line client, the
#: dialogs)
NOT_AT_START = [
    "httpx",
    "httpcore",
    "anyio",
    "aiohttp",
    "aiosqlite",
    "backend.store",
    "backend.whatsapp",
    "phonenumbers",
    "click",
    "pygments",
    "rich.syntax",
    "rich.progress",
    "httpx._main",
    "tui.dialogs.simple",
    "tui.dialogs.picker",
]


def loaded_after(code: str) -> dict[str, object]:
    probe = (
        f"import json, sys\n{code}\n"
        f"print(json.dumps({{'loaded': [m for m in {NOT_AT_START!r} "
        "if sys.modules.get(m) is not None], 'result': result}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_inbox_and_its_screen_load_only_what_the_first_frame_needs():
    found = loaded_after(
        "import tui.app, tui.screens.inbox\nresult = None",
    )
    assert found["loaded"] == []


def test_ttydesk_alone_starts_the_inbox_without_loading_every_command():
    found = loaded_after(
        "from backend import cli\n"
        "args = cli.parse_args(['--server', 'http://desk:8580', '--token=ttd_x'])\n"
        "result = [args.command, args.server, args.token]",
    )
    assert found["result"] == [None, "http://desk:8580", "ttd_x"]
    assert found["loaded"] == []
    # commands and --help still see every command
    found = loaded_after(
        "from backend import cli\n"
        "args = cli.parse_args(['tui', '--server', 'http://desk:8580'])\n"
        "result = [args.command, args.server]",
    )
    assert found["result"] == ["tui", "http://desk:8580"]
    help_text = subprocess.run(
        [sys.executable, "-m", "backend.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "serve" in help_text and "admin" in help_text


def test_the_inbox_makes_only_the_wire_models_its_first_frame_reads():
    # a wire model costs to make (~0.3 ms): the messages, records, channels, templates and
    # reports ones are made when a thread opens or their screen shows (backend.schemas)
    found = loaded_after(
        "import tui.app, tui.screens.inbox\n"
        "from pydantic import BaseModel\n"
        "def made(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from made(sub)\n"
        "result = sorted({c.__name__ for c in made(BaseModel)"
        " if c.__module__.startswith('backend.schemas')})",
    )
    made = set(found["result"])
    assert {"Agent", "Thread", "Ticket", "View", "ViewCounts", "Usage", "Event"} <= made
    later = {"Message", "SendText", "Draft", "Contact", "Template", "Channel", "MailboxCreate"}
    assert made & (later | {"Report", "SearchHit", "AuditEntry"}) == set()


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport, noting when each request leaves and its answer comes."""

    def __init__(self, log: list[tuple[str, str]]) -> None:
        super().__init__()
        self.log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.log.append(("sent", request.url.path))
        response = await super().handle_async_request(request)
        self.log.append(("answered", request.url.path))
        return response


async def test_the_first_page_is_asked_for_with_the_views_and_the_live_stream_waits_for_it(desk):
    """The first frame waits for one round of requests, not two: the first view's first page
    leaves with the agent and the views (whose counts the sidebar shows), is not asked for
    again, and the live stream connects once its rows are in the list."""
    log: list[tuple[str, str]] = []
    client = ApiClient(desk.url, desk.agent_token, transport=RecordingTransport(log))
    rows_when_live_started: list[bool] = []
    app: TtydeskApp

    def live(c: ApiClient, since: int | None) -> LiveStream:
        screen = app.screen
        rows_when_live_started.append(
            isinstance(screen, InboxScreen) and screen.threads.thread_at(0) is not None
        )
        return LiveStream(c, since=since, backoff=(0.05,))

    app = TtydeskApp(
        Settings(server=desk.url, token=desk.agent_token), client, live=live, save_config=False
    )
    async with app.run_test(size=(120, 36)):
        screen = await inbox_ready(app)
        assert app.counts.get(FIRST_VIEW) == screen.threads.total
        threads = f"{API_PREFIX}/threads"
        assert log.index(("sent", threads)) < log.index(("answered", f"{API_PREFIX}/views"))
        assert log.count(("sent", threads)) == 1
        assert rows_when_live_started == [True]
        await wait_for(lambda: app.usage is not None)  # after the first frame


async def test_the_collector_is_on_again_once_the_app_is_mounted(desk):
    """``ttydesk`` turns the cyclic collector off while the inbox's modules load (it found
    no garbage there and took ~15 % of the start); left off, every reference cycle the
    inbox makes afterwards would stay in memory for good."""
    gc.disable()
    try:
        app = TtydeskApp(Settings(server=desk.url, token=desk.agent_token), save_config=False)
        async with app.run_test(size=(120, 36)):
            await inbox_ready(app)
            assert gc.isenabled()
    finally:
        gc.enable()


async def test_the_inbox_styles_each_widget_once_before_its_first_frame(desk):
    """A screen shown asks every widget on it to be styled again (in case the CSS changed
    while it was away): the inbox shown the first time was styled as it was made, so that
    second pass (~15 ms of the first frame) is skipped; shown again, it is styled again."""
    app = TtydeskApp(Settings(server=desk.url, token=desk.agent_token), save_config=False)
    styled: Counter[str] = Counter()
    async with app.run_test(size=(120, 36)) as pilot:
        stylesheet = app.stylesheet
        apply = stylesheet.apply

        def counting_apply(node: DOMNode, *args: object, **kwargs: object) -> None:
            styled[node.id or type(node).__name__] += 1
            apply(node, *args, **kwargs)  # type: ignore[arg-type]

        stylesheet.apply = counting_apply  # type: ignore[method-assign]
        screen = await inbox_ready(app)
        # widgets whose classes and focus do not change at start: styled as they mounted
        assert [styled[name] for name in ("thread-header", "contact-info", "KeyFooter")] == [
            1,
            1,
            1,
        ]
        styled.clear()
        app.action_goto("records")
        await wait_for(lambda: app.screen is not screen)
        app.action_goto("inbox")
        await wait_for(lambda: app.screen is screen)
        await pilot.pause()
        assert styled["thread-header"] >= 1  # shown again: styled again
