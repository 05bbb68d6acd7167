"""The inbox flows, driven by keys against the REAL backend and the REAL simulator.

Each test is one flow of issue 4's acceptance list. The world is ``backend_fixtures``:
six customers wrote through the simulator (signed webhooks into the real ingest), one of
them with hostile text, one with a hostile profile name; sends go through the outbox to
the simulator, whose delivery statuses come back as webhooks.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from rich.style import Style

from backend.keys import HUB
from backend.schemas import (
    DeliveryStatus,
    Direction,
    MessageKind,
    PresenceState,
    TicketPriority,
    TicketStatus,
    TicketUpdate,
)
from backend.store.sqlite import SqliteStore
from tests.backend.seed import inbound
from tests.support import REFUSED_URL
from tests.tui.backend_fixtures import (
    BUSINESS_DISPLAY,
    CARD_TEXT,
    CUSTOMERS,
    HOSTILE_SHOWN,
    PHONE_ID,
    WHATSAPP_FILTER,
    Desk,
    inbox_ready,
    make_app,
    open_thread,
    screen_text,
    start_desk,
    stop_desk,
    wait_for,
)
from tui.app import StartScreen, TtydeskApp
from tui.client import ApiClient, LiveStream
from tui.config import Settings, config_path, load_settings
from tui.dialogs.login import LoginDialog
from tui.dialogs.picker import FuzzyPicker
from tui.dialogs.simple import ConfirmDialog
from tui.dialogs.template_picker import TemplatePicker
from tui.dialogs.view_builder import ViewBuilder
from tui.screens.help import HelpScreen
from tui.screens.inbox import InboxScreen
from tui.screens.search import SearchScreen

OPEN = 5  # ana, eve, ben, mal, chen (dora is closed)


async def sent_to(desk: Desk, key: str) -> list[dict]:
    """What the simulator received from the backend for this customer (oldest first)."""
    return await desk.env.sent(to=CUSTOMERS[key].wa_id)


async def wait_for_sent(desk: Desk, key: str, count: int = 1) -> None:
    async def probe() -> bool:
        return len(await sent_to(desk, key)) >= count

    await desk.env.until(probe)


async def test_open_view_move_and_open_thread(desk):
    """1–9 switch views, j/k move, enter opens the thread with its messages."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        assert screen.threads.total == OPEN  # all open
        await pilot.press("2")  # assigned to me
        await wait_for(lambda: screen.view.id == "builtin:mine" and screen.threads.total == 1)
        await wait_for(lambda: screen.threads.current is not None)
        assert screen.threads.current.contact.name == "Eve Hacker"
        await pilot.press("1")
        await wait_for(lambda: screen.threads.total == OPEN and screen.threads.current is not None)
        await pilot.press("j", "j", "k")
        assert screen.threads.cursor == 1
        await pilot.press("G")
        assert screen.threads.cursor == OPEN - 1
        await pilot.press("g", "enter")
        await wait_for(lambda: screen.thread is not None and len(screen.log_widget.messages) == 2)
        assert screen.thread.id == desk.ids["ana"]
        assert "Order A123 please today" in screen_text(app)  # WhatsApp formatting rendered


async def test_opening_a_thread_shows_it_at_once_with_its_messages(desk):
    """Enter: the header, the composer and the messages come in one frame; no frame shows
    the thread over an empty log (each such frame lays the whole screen out again)."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: screen.threads.find(desk.ids["ana"]) is not None)
        screen.threads.move_to(desk.ids["ana"])
        await pilot.pause()
        frames: list[str] = []
        original = app._display

        def display(on: object, renderable: object) -> None:
            original(on, renderable)  # type: ignore[arg-type]
            if renderable is not None:
                frames.append(screen_text(app))

        app._display = display  # type: ignore[method-assign]
        await pilot.press("enter")
        await wait_for(lambda: len(screen.log_widget.messages) == 2)
        await wait_for(lambda: bool(frames) and "Order A123" in frames[-1])
        app._display = original  # type: ignore[method-assign]
        with_thread = [frame for frame in frames if "session" in frame]
        assert with_thread and all("Order A123" in frame for frame in with_thread), with_thread


async def test_on_a_narrow_screen_leaving_the_thread_shows_the_list_again(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await wait_for(lambda: "Order A123" in screen_text(app))
        assert "Eve Hacker" not in screen_text(app)  # the list is hidden
        await pilot.press("q")
        await wait_for(lambda: not screen.thread_open)
        await wait_for(lambda: "Eve Hacker" in screen_text(app))
        assert "Order A123" not in screen_text(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await wait_for(lambda: "Order A123" in screen_text(app))
        assert "Eve Hacker" not in screen_text(app)


async def test_reply_and_note(desk):
    """r focuses the composer, ctrl+s sends (to WhatsApp); n writes a private note (not)."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        await pilot.press(*"Thanks!")
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(m.text == "Thanks!" for m in screen.log_widget.messages))
        reply = next(m for m in screen.log_widget.messages if m.text == "Thanks!")
        assert reply.kind == MessageKind.text
        assert screen.composer.text == ""
        # the simulator delivers it and the customer reads it: the marks follow live
        await wait_for(
            lambda: (
                next(m for m in screen.log_widget.messages if m.id == reply.id).status
                == DeliveryStatus.read
            ),
            timeout=10,
        )
        await pilot.press("escape", "n")
        await pilot.press(*"internal")
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(m.text == "internal" for m in screen.log_widget.messages))
        note = next(m for m in screen.log_widget.messages if m.text == "internal")
        assert note.kind == MessageKind.note
    sent = await sent_to(desk, "ana")
    assert [item["body"]["text"]["body"] for item in sent] == ["Thanks!"]  # never the note


async def test_refused_outside_session_then_template(desk):
    """A free-form reply after 24 h is refused with the draft kept; the template goes out."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["chen"])
        assert "session expired" in screen_text(app)
        await pilot.press("r", *"hello?", "ctrl+s")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        assert screen.composer.text == "hello?"  # draft kept
        picker = app.screen
        assert isinstance(picker, TemplatePicker)
        await pilot.pause(0.1)
        assert picker._current is not None and picker._current.name == "hello_again"
        await pilot.press(*"order")  # fuzzy filter
        await pilot.pause(0.1)
        assert picker._current.name == "order_update"
        assert picker._values["1"] == "Chen"  # pre-filled from the contact
        await pilot.press("ctrl+s")  # {{2}} still empty: refused
        await pilot.pause(0.1)
        assert isinstance(app.screen, TemplatePicker)
        await pilot.press("enter")  # to the first variable
        await pilot.press("tab", *"A-99")
        await pilot.pause(0.1)
        assert "A-99" in str(picker.query_one("#tp-preview").render())
        await pilot.press("ctrl+s")
        await wait_for(
            lambda: any(m.template_name == "order_update" for m in screen.log_widget.messages)
        )
        await wait_for_sent(desk, "chen")
    (item,) = await sent_to(desk, "chen")
    assert item["type"] == "template"
    template = item["body"]["template"]
    assert template["name"] == "order_update"
    params = [p["text"] for c in template["components"] for p in c.get("parameters", [])]
    assert params == ["Chen", "A-99"]


async def test_reassign_one_and_many(desk):
    """a assigns the thread under the cursor; space selects, A assigns the selection."""
    bob, carol = desk.backend.agent.id, desk.carol.id
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"bob", "enter")
        await wait_for(
            lambda: (
                screen.threads.current is not None and screen.threads.current.ticket.owner_id == bob
            )
        )
        assert (await desk.thread("ana")).ticket.owner_id == bob
        await pilot.press("g", "space", "space")
        assert len(screen.threads.selected) == 2
        await pilot.press("A")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"carol", "enter")
        await wait_for(lambda: not screen.threads.selected)
        await wait_for(
            lambda: all(t.ticket.owner_id == carol for t in screen.threads.loaded_threads()[:2])
        )
    assert (await desk.thread("ana")).ticket.owner_id == carol
    assert (await desk.thread("eve")).ticket.owner_id == carol
    timeline = await desk.call("GET", f"/tickets/{desk.tickets['ana']}/timeline")
    changes = [e for e in timeline["items"] if e["action"] == "owner_changed"]
    assert changes[-1]["actor_name"] == "Ada Admin"


async def test_close_and_reopen(desk):
    """c closes the ticket (it leaves All open), o reopens it."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ben"])
        await pilot.press("c")
        await wait_for(lambda: screen.threads.total == OPEN - 1)
        await wait_for(lambda: "Closed" in screen_text(app))
        assert (await desk.thread("ben")).ticket.status == TicketStatus.closed
        await pilot.press("o")
        await wait_for(lambda: screen.threads.total == OPEN)
        assert (await desk.thread("ben")).ticket.status == TicketStatus.waiting_on_us


async def test_priority(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("p")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"urg", "enter")
        await wait_for(lambda: screen.threads.current.ticket.priority == TicketPriority.urgent)
    assert (await desk.thread("ana")).ticket.priority == TicketPriority.urgent


async def test_create_whatsapp_view(desk):
    """v: name → sharing → property → operator → values → save."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, ViewBuilder))
        await pilot.pause(0.1)
        await pilot.press(*"WA everyone", "enter")  # name
        await pilot.press("down", "down", "enter")  # sharing: everyone
        await pilot.press(*"channel", "enter")  # property search
        await pilot.pause(0.05)
        await pilot.press("enter")  # operator: is any of
        await pilot.pause(0.05)
        await pilot.press("space", "enter")  # tick WHATSAPP, add
        await pilot.pause(0.05)
        assert "Original channel type is any of WHATSAPP" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.view is not None and screen.view.name == "WA everyone")
        await wait_for(lambda: screen.threads.total == OPEN + 1)  # every thread, closed too
        assert "WA everyone" in screen_text(app)
    created = next(v for v in await desk.view_list() if v.name == "WA everyone")
    assert created.sharing.value == "everyone"
    assert [f.model_dump(mode="json") for f in created.filters] == [WHATSAPP_FILTER]


async def test_search_and_jump(desk):
    """/ searches; enter opens the thread at the matching message."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("slash")
        await wait_for(lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"a123", "enter")
        search = app.screen
        await wait_for(lambda: len(search.hits) == 1)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, InboxScreen))
        target = (await desk.messages("ana"))[1].id
        await wait_for(
            lambda: (
                screen.log_widget.selected is not None and screen.log_widget.selected.id == target
            )
        )


async def test_placeholders_and_inert_text(desk):
    """Unsupported and quarantined messages are placeholders; hostile text is inert."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["eve"])
        await wait_for(lambda: len(screen.log_widget.messages) == 3)
        await pilot.pause(0.05)
        text = screen_text(app)
        assert "Unsupported message — poll_creation" in text
        assert "Quarantined message — rule: payment_card" in text
        assert "4111" not in text
        assert HOSTILE_SHOWN in text
        assert "Mal ␛[1mOry␛[0m [b]x[/b] ⟨" in text  # the hostile profile name, in the list
        assert "\x1b" not in text and "\u202e" not in text
        await open_thread(pilot, screen, desk.ids["mal"])
        await pilot.pause(0.05)
        text = screen_text(app)
        assert "Mal ␛[1mOry␛[0m [b]x[/b] ⟨RLO⟩evil +34612000006" in text  # thread header
        assert "\x1b" not in text and "\u202e" not in text


async def test_admin_reveals_quarantined(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["eve"])
        await wait_for(lambda: len(screen.log_widget.messages) == 3)
        assert "4111" not in screen_text(app)
        await pilot.press("G", "R")
        await pilot.pause(0.1)
        await pilot.press("y")
        await wait_for(lambda: CARD_TEXT in screen_text(app))


async def test_message_details(desk):
    from textual.widgets import Static

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("m")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "WhatsApp id" in text and desk.wamids["ana"][1] in text
        # a received message is never sent, delivered or read: no rows that can only be empty
        shown = "\n".join(str(static.content) for static in app.screen.query(Static))
        labels = {line[:13].strip() for line in shown.splitlines()}
        assert {"WhatsApp id", "from", "created"} <= labels
        assert not {"status", "sent", "delivered", "read"} & labels, shown
        await pilot.press("escape")


async def test_second_client_change_arrives_live(desk):
    """Another agent's reassignment, a customer's message and presence show up live."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        other = ApiClient(desk.url, desk.agent_token)
        try:
            await other.update_ticket(
                desk.tickets["ana"], TicketUpdate(owner_id=desk.backend.agent.id)
            )
            await wait_for(lambda: screen.thread.ticket.owner_id == desk.backend.agent.id)
            await wait_for(lambda: "owner Bob Agent" in screen_text(app))
        finally:
            await other.aclose()
        await desk.customer_writes("ana", "are you there?")
        await wait_for(lambda: screen.log_widget.messages[-1].text == "are you there?")
        stream = LiveStream(ApiClient(desk.url, desk.agent_token))
        task = asyncio.create_task(stream.run(lambda e: None, lambda s, d: None))
        try:
            await wait_for(lambda: stream.state == "connected")
            await stream.send_presence(desk.ids["ana"], PresenceState.typing)
            await wait_for(lambda: "Bob Agent is typing…" in screen_text(app))
            await stream.send_presence(desk.ids["ana"], PresenceState.idle)
            await wait_for(lambda: "Bob Agent is" not in screen_text(app))
        finally:
            task.cancel()
            await stream.client.aclose()


async def test_presence_of_others_is_shown_on_connect(desk):
    """Bob was already looking at Ana's thread: the snapshot after ``hello`` shows it."""
    stream = LiveStream(ApiClient(desk.url, desk.agent_token))
    task = asyncio.create_task(stream.run(lambda e: None, lambda s, d: None))
    try:
        await wait_for(lambda: stream.state == "connected")
        await stream.send_presence(desk.ids["ana"], PresenceState.viewing)
        hub = desk.backend.app[HUB]
        await wait_for(
            lambda: any(p["thread_id"] == desk.ids["ana"] for p in hub.presence_snapshot())
        )
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, desk.ids["ana"])
            await wait_for(lambda: "Bob Agent is viewing" in screen_text(app))
            await open_thread(pilot, screen, desk.ids["ben"])
            await wait_for(lambda: "Bob Agent is viewing" not in screen_text(app))
            # Bob leaves: gone from Ana's thread too
            bob = desk.backend.agent.id
            assert bob in app.presence
            await stream.send_presence(None, PresenceState.idle)
            await wait_for(lambda: bob not in app.presence)  # the app has Bob's idle
            await open_thread(pilot, screen, desk.ids["ana"])
            await pilot.pause()
            assert "Bob Agent is" not in screen_text(app)
    finally:
        task.cancel()
        await stream.client.aclose()


async def test_server_restart_no_missed_event(desk):
    """While the server is down the header says reconnecting; events committed meanwhile are
    replayed after (they are in the log before the server listens again)."""
    backend = desk.backend
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await backend.stop()
        await wait_for(lambda: app.conn_state == "reconnecting")
        assert "reconnecting…" in screen_text(app)
        # two messages committed while this client is away, by the ingest's own
        # transaction functions on the same SQLite file
        store = SqliteStore(backend.settings.database_path, clock=desk.clock)
        await store.open()
        try:
            for text in ("first while down", "second while down"):
                await store.write(
                    lambda tx, text=text: inbound(
                        tx,
                        name=None,
                        phone=CUSTOMERS["ana"].phone,
                        text=text,
                        phone_number_id=PHONE_ID,
                        business_number="+" + BUSINESS_DISPLAY,
                    )
                )
            newest = (await store.event_bounds())[1]
        finally:
            await store.close()
        await backend.start()
        await wait_for(lambda: app.conn_state == "connected", timeout=10)
        await wait_for(
            lambda: (
                [m.text for m in screen.log_widget.messages][-2:]
                == ["first while down", "second while down"]
            )
        )
        assert app.stream is not None and app.stream.since >= newest


async def test_notification_toast(desk):
    await desk.call("PATCH", "/me", json={"notify": "all"})  # Ben's thread is Bob's
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)):
        await inbox_ready(app)
        await desk.customer_writes("ben", "[bold]ping[/bold]")
        await wait_for(
            lambda: any("New message from Ben Okafor" in n.title for n in app._notifications)
        )
        note = next(n for n in app._notifications if "Ben" in n.title)
        assert note.message == "[bold]ping[/bold]" and not note.markup


async def test_wrong_token_is_one_sentence(desk):
    app = desk.make_app("nope")
    async with app.run_test(size=(100, 30)):
        await wait_for(lambda: "did not accept your token" in screen_text(app))
        assert isinstance(app.screen, StartScreen)
        assert "Traceback" not in screen_text(app)


async def test_unreachable_server_is_one_sentence():
    app = make_app(REFUSED_URL, "x")
    async with app.run_test(size=(100, 30)):
        await wait_for(lambda: "Cannot reach the server" in screen_text(app))


async def test_first_run_prompt_saves_config_0600(desk):
    """No server or token anywhere: the login dialog asks, checks and saves them (0600)."""
    app = TtydeskApp(Settings(path=config_path()))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginDialog))
        await pilot.press(*desk.url, "enter", *"wrong", "enter")
        await wait_for(lambda: "did not accept your token" in screen_text(app))
        app.screen.query_one("#login-token").value = desk.admin_token
        await pilot.press("enter")
        await inbox_ready(app)
    path = config_path()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert desk.admin_token in path.read_text()


async def test_server_and_token_from_the_command_line_are_offered_for_saving(desk):
    """`ttydesk --server URL --token T` (or the environment): once connected, the inbox
    offers to keep both in the 0600 config file; the next plain start asks nothing."""
    path = config_path()
    settings = Settings(server=desk.url, token=desk.admin_token, path=path)
    app = TtydeskApp(settings, ApiClient(desk.url, desk.admin_token))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
        assert "Save the server and your token" in app.screen.question
        await wait_for(lambda: "Save (y)" in screen_text(app))
        await pilot.press("y")
        await wait_for(lambda: path.exists())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert desk.admin_token in path.read_text()

    again = TtydeskApp(load_settings(), ApiClient(desk.url, desk.admin_token))
    async with again.run_test(size=(100, 30)):
        assert again.settings.saved
        await inbox_ready(again)
        # the offer is pushed in the same step that makes the inbox ready: none came
        assert not isinstance(again.screen, ConfirmDialog)


async def test_insert_picker_fills_tokens(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("i")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"greet", "enter")
        await wait_for(lambda: screen.composer.text == "Hi Ana, thanks for writing!")


async def test_palette_jumps_to_view(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"view: all closed")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: screen.view is not None and screen.view.id == "builtin:closed")
        await wait_for(lambda: screen.threads.total == 1)


async def test_help_lists_every_key(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 60)) as pilot:
        await inbox_ready(app)
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause(0.1)
        assert "Views 1–9" in screen_text(app)
        described = {d for _title, rows in app.screen.rows() for _k, d, _t in rows}
        for words in (
            "Assign sel.",
            "Assign",
            "Close",
            "Reopen",
            "Priority",
            "Template",
            "Search",
            "Select",
            "Open",
            "Reply",
            "Note",
            "Insert",
            "Contact",
            "New conv.",
            "New view",
        ):
            assert words in described, words


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


async def test_attachment_by_pasted_path(desk, tmp_path: Path):
    from textual.events import Paste

    app = desk.make_app(desk.admin_token)
    document = tmp_path / "invoice 1.pdf"
    document.write_bytes(PDF)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        await app.screen.composer.area._on_paste(Paste(f"'{document}'"))
        await wait_for(lambda: screen.composer.attachment == document)
        assert screen.composer.text == ""
        await pilot.pause(0.1)
        assert "invoice 1.pdf" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.composer.attachment is None)
        await wait_for(
            lambda: any(m.kind == MessageKind.document for m in screen.log_widget.messages)
        )
        await wait_for_sent(desk, "ana")
    (item,) = await sent_to(desk, "ana")
    assert item["type"] == "document"
    assert item["body"]["document"]["filename"] == "invoice 1.pdf"


async def test_refused_attachment_shows_supported_formats(desk, tmp_path: Path):
    app = desk.make_app(desk.admin_token)
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00" + b"\x00" * 60)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        screen.composer.attachment = program
        await pilot.press(*"see attached", "ctrl+s")
        await wait_for(lambda: "Supported: images" in screen_text(app))
        assert screen.composer.attachment == program and screen.composer.text == "see attached"
    assert await sent_to(desk, "ana") == []


async def test_usage_limit_refusal_keeps_the_draft(tmp_path: Path):
    """At the monthly limit, a conversation the business opens (a template outside the
    session) is refused with the reset date and the draft kept; an in-session reply is free
    (SPEC §5: since 2024-11-01 replies in an open session do not count)."""
    desk = await start_desk(tmp_path / "data", backend_overrides={"usage_limit": 1})
    try:
        # the one conversation of the month: a template to Dora (her session is closed)
        await desk.call(
            "POST",
            f"/threads/{desk.ids['dora']}/messages",
            json={
                "kind": "template",
                "name": "order_update",
                "language": "en_US",
                "variables": {"1": "Dora", "2": "Z-1"},
            },
        )
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await inbox_ready(app)
            assert "WA 1/1 limit reached, resets 01 Dec" in screen_text(app)
            await open_thread(pilot, screen, desk.ids["chen"])
            await pilot.press("r", *"hi", "ctrl+s")  # session expired: the template picker
            await wait_for(lambda: isinstance(app.screen, TemplatePicker))
            await pilot.pause(0.1)
            await pilot.press(*"order", "enter", "tab", *"C-3", "ctrl+s")
            await wait_for(
                lambda: any(
                    "The limit resets on 2026-12-01." in n.message for n in app._notifications
                )
            )
            assert "Template not sent: This message would pass the monthly limit" in (
                screen_text(app)
            )
            assert screen.composer.text == "hi"
            assert not any(m.kind == MessageKind.template for m in screen.log_widget.messages)
            # in the session: free, sent
            await open_thread(pilot, screen, desk.ids["ana"])
            await pilot.press("r", *"free reply", "ctrl+s")
            await wait_for(lambda: any(m.text == "free reply" for m in screen.log_widget.messages))
        assert await sent_to(desk, "chen") == []
    finally:
        await stop_desk(desk)


async def test_failed_message_shows_reason_and_retries(desk):
    # WhatsApp refuses what is sent to Ana (the simulator fails it asynchronously)
    ana = CUSTOMERS["ana"]
    await desk.env.control(
        "POST", "/customers", json={"wa_id": ana.wa_id, "name": ana.name, "fail_with": 131047}
    )
    sent = await desk.call(
        "POST", f"/threads/{desk.ids['ana']}/messages", json={"kind": "text", "text": "late reply"}
    )
    await desk.env.wait_message(sent["id"], lambda m: m.status == DeliveryStatus.failed)
    await desk.env.control(
        "POST", "/customers", json={"wa_id": ana.wa_id, "name": ana.name, "fail_with": None}
    )
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        text = screen_text(app)
        assert "✗ Not delivered: More than 24 hours since the customer last wrote" in text
        assert "(error 131047)" in text
        await pilot.press("G", "y")
        await wait_for(lambda: screen.log_widget.messages[-1].status != DeliveryStatus.failed)
        await wait_for(
            lambda: screen.log_widget.messages[-1].status == DeliveryStatus.read, timeout=10
        )
        assert screen.log_widget.messages[-1].text == "late reply"
    assert len(await sent_to(desk, "ana")) == 2  # the failed attempt and the retry


async def test_react_to_a_message_and_take_it_back(desk):
    """E reacts to the selected message with an emoji: WhatsApp carries it to the customer
    and the message shows it; E again offers to take it back."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        log = screen.log_widget
        await pilot.press("G")
        target = log.selected
        assert target is not None and target.direction == Direction.inbound

        def reactions() -> list[tuple[str, Direction]]:
            message = next(m for m in log.messages if m.id == target.id)
            return [(r.emoji, r.by) for r in message.reactions]

        await pilot.press("E")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"heart", "enter")
        await wait_for(lambda: reactions() == [("❤️", Direction.outbound)], timeout=10)
        # the event line "Reacted ❤️" arrived below it and the cursor followed: go back up
        while log.selected is not None and log.selected.id != target.id:
            await pilot.press("k")
        await pilot.press("E")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        assert "(yours)" in screen_text(app)
        await pilot.press(*"remove", "enter")
        await wait_for(lambda: reactions() == [], timeout=10)
        # an event line is not a WhatsApp message: nothing to react to
        await pilot.press("G")
        assert log.selected is not None and log.selected.kind == MessageKind.event
        await pilot.press("E")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, FuzzyPicker)
    sent = [item["body"] for item in await sent_to(desk, "ana") if item["type"] == "reaction"]
    assert [body["reaction"]["emoji"] for body in sent] == ["❤️", ""]


async def test_a_refused_reaction_says_why_and_changes_nothing(desk):
    """Chen wrote more than 24 h ago: WhatsApp takes no reaction, and the picker's choice
    comes back as the server's sentence, with nothing stored or sent."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["chen"])
        log = screen.log_widget
        await pilot.press("G")
        target = log.selected
        assert target is not None and target.wamid
        await pilot.press("E")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press("enter")
        await wait_for(
            lambda: any(
                n.title == "Reaction not sent" and "24-hour session" in n.message
                for n in app._notifications
            )
        )
        assert next(m for m in log.messages if m.id == target.id).reactions == []
    assert await sent_to(desk, "chen") == []


async def test_no_color_and_no_mouse(desk, monkeypatch):
    """With NO_COLOR the cursor and markers stay visible as characters."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        text = screen_text(app)
        assert "▌ ● W Ana García" in text  # cursor marker and unread dot are glyphs
        await pilot.press("j", "enter")
        await wait_for(lambda: screen.thread is not None)
        await pilot.press("escape")
        await wait_for(lambda: not screen.thread_open)


async def test_a_pickers_highlighted_item_is_marked_without_colour(desk, monkeypatch):
    """With NO_COLOR the highlight is only a shade of grey: the highlighted item carries
    the cursor glyph, and the glyph follows the arrows."""
    from tui.dialogs.picker import FuzzyPicker
    from tui.glyphs import glyphs

    monkeypatch.setenv("NO_COLOR", "1")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        screen.threads.focus()
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        picker = app.screen
        marker = glyphs().cursor

        def marked() -> list[str]:
            rows = [line.strip(" █|") for line in screen_text(app).splitlines()]
            return [row for row in rows if row.startswith(marker + " ")]

        first = picker.highlighted_item.value
        await wait_for(lambda: len(marked()) == 1)
        assert app.agents[first].name in marked()[0]
        await pilot.press("down")
        second = picker.highlighted_item.value
        assert second != first
        await wait_for(lambda: len(marked()) == 1 and app.agents[second].name in marked()[0])


async def test_without_colour_a_lists_highlighted_row_is_underlined(desk, monkeypatch):
    """NO_COLOR turns the highlight into one grey shade among others: the highlighted row
    of every option list (here the template picker's) is underlined as well."""
    from textual.widgets import OptionList

    from tui.dialogs.template_picker import TemplatePicker

    monkeypatch.setenv("NO_COLOR", "1")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("t")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        options = app.screen.query_one("#tp-list", OptionList)
        await wait_for(lambda: options.highlighted is not None)
        await pilot.pause()
        names = [str(option.prompt).split()[0] for option in options.options]
        highlighted = names[options.highlighted]

        def underlined() -> str:
            return "".join(
                segment.text
                for strip in app.screen._compositor.render_strips()
                for segment in strip
                if segment.style is not None and segment.style.underline
            )

        assert highlighted in underlined()
        assert not any(name in underlined() for name in names if name != highlighted)


async def test_the_message_cursor_stays_apart_from_the_other_messages_in_ascii(desk):
    """A non-UTF-8 terminal gets every cell through ``to_ascii``: the bar of the message
    under the cursor and the bar of the others must not become the same character."""
    from tui.terminal_output import to_ascii

    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        log = screen.log_widget
        await wait_for(lambda: len(log.messages) == 2 and log.cursor == 1)
        await pilot.pause()
        rows = screen_text(app).splitlines()
        newest = next(row for row in rows if "Order A123" in row)
        older = next(row for row in rows if row.strip()[2:] == "Hola, my order has not arrived")
        cursor_bar, other_bar = newest.lstrip()[0], older.lstrip()[0]
        assert cursor_bar != other_bar
        assert to_ascii(cursor_bar) != to_ascii(other_bar), (cursor_bar, other_bar)


async def test_at_80x24_the_views_fold_away_and_the_footer_leads_with_reply_assign_close(desk):
    """Below 90 columns the list gets the views column's room (V brings it back, 1-9
    still switch views), and the footer's first keys are the ones every reply needs."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        views = screen.query_one("#views")
        assert not views.display

        def footer_leads() -> bool:
            footer = screen_text(app).splitlines()[-1]
            return "Reply" in footer and "Assign" in footer and "Close" in footer

        # the footer is drawn again once the focus has settled after the first rows
        await wait_for(footer_leads)
        await pilot.press("V")
        await wait_for(lambda: views.display)
        await pilot.press("V")
        await wait_for(lambda: not views.display)
    wide = desk.make_app(desk.admin_token)
    async with wide.run_test(size=(120, 40)):
        screen = await inbox_ready(wide)
        assert screen.query_one("#views").display


def test_every_binding_has_an_id_and_a_tooltip():
    """Keys are remappable (``[keymap]`` in the config) and explained on ``?``."""
    import importlib
    import inspect
    import pkgutil

    from textual.binding import Binding
    from textual.dom import DOMNode

    import tui

    missing = []
    for module_info in pkgutil.walk_packages(tui.__path__, "tui."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, DOMNode):
                continue
            for binding in cls.__dict__.get("BINDINGS", []):
                if isinstance(binding, Binding) and not (binding.id and binding.tooltip):
                    missing.append(f"{cls.__name__}: {binding.key}")
    assert not missing


async def test_keymap_from_the_config_remaps_keys(desk):
    settings = Settings(server=desk.url, token=desk.admin_token, keymap={"inbox.close": "x"})
    app = make_app(desk.url, desk.admin_token, settings=settings, clock=desk.clock.now)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("x")
        await wait_for(lambda: screen.threads.total == OPEN - 1)
    assert (await desk.thread("ana")).ticket.status == TicketStatus.closed


def _looks(app, widget) -> list[tuple[str, bool, bool, bool]]:  # noqa: ANN001
    """The cells of ``widget`` as NO_COLOR leaves them: characters and text styles only."""
    region = widget.screen.find_widget(widget).region
    strips = app.screen._compositor.render_strips()
    return [
        (segment.text, bool(style.bold), bool(style.underline), bool(style.reverse))
        for strip in strips[region.y : region.bottom]
        for segment in strip.crop(region.x, region.right)
        for style in [segment.style or Style()]
    ]


async def _every_focus_shows_without_colour(app, pilot) -> None:  # noqa: ANN001
    from textual.widgets import Input

    dialog = app.screen
    fields = list(dialog.focus_chain)
    assert fields
    for field in fields:
        other = next((widget for widget in fields if widget is not field), None)
        field.focus()
        await wait_for(lambda field=field: field.has_focus)
        if isinstance(field, Input):
            field._cursor_visible = False  # a blinking cursor's dark half: still focused
        await pilot.pause()
        focused = _looks(app, field)
        dialog.set_focus(other)
        await wait_for(lambda field=field: not field.has_focus)
        await pilot.pause()
        assert _looks(app, field) != focused, f"{field!r} looks the same focused or not"


async def test_without_colour_every_dialogs_focused_field_has_a_form(desk, monkeypatch):
    """NO_COLOR makes a focus one grey shade among others: in the template picker, the
    reassign and snooze pickers and the view builder, the focused field has a form that
    needs no colour (a heavy outline; a list's highlighted row in reverse)."""
    from tui.dialogs.picker import FuzzyPicker
    from tui.dialogs.template_picker import TemplatePicker
    from tui.dialogs.view_builder import ViewBuilder

    monkeypatch.setenv("NO_COLOR", "1")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("t")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        await pilot.press(*"order_update")
        await wait_for(lambda: len(list(app.screen.focus_chain)) >= 3)
        await _every_focus_shows_without_colour(app, pilot)
        await pilot.press("escape")
        for key, dialog in (("a", FuzzyPicker), ("z", FuzzyPicker), ("v", ViewBuilder)):
            await wait_for(lambda: app.screen is screen)
            screen.threads.focus()
            await pilot.press(key)
            await wait_for(lambda dialog=dialog: isinstance(app.screen, dialog))
            await _every_focus_shows_without_colour(app, pilot)
            await pilot.press("escape")
