"""The inbox flows, driven by keys against an in-memory backend over real HTTP and WebSocket.

Each test is one flow of issue 4's acceptance list; ``test_live_backend.py`` repeats the
core ones against the real backend once it is available.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from backend.schemas import TicketStatus
from tests.tui.conftest import HOSTILE_TEXT  # noqa: F401  (re-exported for the live tests)
from tests.tui.fake_backend import FakeBackend, screen_text, wait_for
from tui.app import StartScreen, TtydeskApp
from tui.client import ApiClient
from tui.config import Settings, config_path
from tui.dialogs.login import LoginDialog
from tui.dialogs.picker import FuzzyPicker
from tui.dialogs.template_picker import TemplatePicker
from tui.dialogs.view_builder import ViewBuilder
from tui.screens.help import HelpScreen
from tui.screens.inbox import InboxScreen
from tui.screens.search import SearchScreen


async def inbox_ready(app: TtydeskApp) -> InboxScreen:
    await wait_for(
        lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.query("#threads")),
        timeout=10,
    )
    screen = app.screen
    assert isinstance(screen, InboxScreen)
    await wait_for(lambda: screen.threads.current is not None)
    await wait_for(lambda: app.conn_state == "connected")
    return screen


async def open_thread(pilot, screen: InboxScreen, thread_id: int) -> None:
    await wait_for(lambda: screen.threads.find(thread_id) is not None)
    screen.threads.focus()
    screen.threads.move_to(thread_id)
    await pilot.pause()
    await pilot.press("enter")
    await wait_for(lambda: screen.thread is not None and screen.thread.id == thread_id)
    await wait_for(lambda: len(screen.log_widget.messages) > 0)


def sent_bodies(fake: FakeBackend, path_part: str) -> list[dict]:
    return [
        body
        for method, path, body in fake.requests
        if method in ("POST", "PATCH") and path_part in path
    ]


async def test_open_view_move_and_open_thread(fake, make_app):
    """1–9 switch views, j/k move, enter opens the thread with its messages."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        assert screen.threads.total == 4  # all open
        await pilot.press("2")  # assigned to me
        await wait_for(lambda: screen.view.id == "builtin:mine" and screen.threads.total == 1)
        await wait_for(lambda: screen.threads.current is not None)
        assert screen.threads.current.contact.name == "Eve Hacker"
        await pilot.press("1")
        await wait_for(lambda: screen.threads.total == 4 and screen.threads.current is not None)
        await pilot.press("j", "j", "k")
        assert screen.threads.cursor == 1
        await pilot.press("G")
        assert screen.threads.cursor == 3
        await pilot.press("g", "enter")
        await wait_for(lambda: screen.thread is not None and len(screen.log_widget.messages) == 2)
        assert screen.thread.id == fake.ids["ana"]
        assert "Order A123 please today" in screen_text(app)  # WhatsApp formatting rendered


async def test_reply_and_note(fake, make_app):
    """r focuses the composer, ctrl+s sends; n writes a private note."""
    app = make_app(fake.url, fake.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await pilot.press("r")
        await pilot.press(*"Thanks!")
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(m.text == "Thanks!" for m in screen.log_widget.messages))
        assert sent_bodies(fake, "/messages")[-1]["kind"] == "text"
        assert screen.composer.text == ""
        await pilot.press("escape", "n")
        await pilot.press(*"internal")
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(m.text == "internal" for m in screen.log_widget.messages))
        assert sent_bodies(fake, "/messages")[-1]["kind"] == "note"


async def test_refused_outside_session_then_template(fake, make_app):
    """A free-form reply after 24 h is refused with the draft kept; the template goes out."""
    app = make_app(fake.url, fake.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["chen"])
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
        body = sent_bodies(fake, "/messages")[-1]
        assert body["kind"] == "template" and body["variables"] == {"1": "Chen", "2": "A-99"}


async def test_reassign_one_and_many(fake, make_app):
    """a assigns the thread under the cursor; space selects, A assigns the selection."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"bob", "enter")
        ana_ticket = fake.threads[fake.ids["ana"]].ticket.id
        await wait_for(lambda: fake.threads[fake.ids["ana"]].ticket.owner_id == 2)
        assert ("PATCH", f"/api/v1/tickets/{ana_ticket}", {"owner_id": 2}) in fake.requests
        await wait_for(
            lambda: (
                screen.threads.current is not None and screen.threads.current.ticket.owner_id == 2
            )
        )
        await pilot.press("g", "space", "space")
        assert len(screen.threads.selected) == 2
        await pilot.press("A")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"carol", "enter")
        await wait_for(lambda: bool(sent_bodies(fake, "/tickets/bulk")))
        body = sent_bodies(fake, "/tickets/bulk")[-1]
        assert len(body["ticket_ids"]) == 2 and body["owner_id"] == 3
        await wait_for(lambda: not screen.threads.selected)


async def test_close_and_reopen(fake, make_app):
    """c closes the ticket (it leaves All open), o reopens it."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ben"])
        await pilot.press("c")
        await wait_for(lambda: fake.threads[fake.ids["ben"]].ticket.status == TicketStatus.closed)
        await wait_for(lambda: screen.threads.total == 3)
        await wait_for(lambda: "Closed" in screen_text(app))
        await pilot.press("o")
        await wait_for(
            lambda: fake.threads[fake.ids["ben"]].ticket.status == TicketStatus.waiting_on_us
        )
        await wait_for(lambda: screen.threads.total == 4)


async def test_priority(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        await inbox_ready(app)
        await pilot.press("p")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"urg", "enter")
        await wait_for(lambda: fake.threads[fake.ids["ana"]].ticket.priority.value == "urgent")


async def test_create_whatsapp_view(fake, make_app):
    """v: name → sharing → property → operator → values → save."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(100, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, ViewBuilder))
        await pilot.pause(0.1)
        await pilot.press(*"WhatsApp", "enter")  # name
        await pilot.press("down", "down", "enter")  # sharing: everyone
        await pilot.press(*"channel", "enter")  # property search
        await pilot.pause(0.05)
        await pilot.press("enter")  # operator: is any of
        await pilot.pause(0.05)
        await pilot.press("space", "enter")  # tick WHATSAPP, add
        await pilot.pause(0.05)
        assert "Original channel type is any of WHATSAPP" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(v.name == "WhatsApp" for v in fake.views))
        body = sent_bodies(fake, "/views")[-1]
        assert body == {
            "name": "WhatsApp",
            "sharing": "everyone",
            "filters": [
                {
                    "property": "original_channel_type",
                    "operator": "is_any_of",
                    "values": ["WHATSAPP"],
                }
            ],
        }
        await wait_for(lambda: screen.view is not None and screen.view.name == "WhatsApp")
        await wait_for(lambda: screen.threads.total == 5)  # every WhatsApp thread, closed too
        assert "WhatsApp" in screen_text(app)


async def test_search_and_jump(fake, make_app):
    """/ searches; enter opens the thread at the matching message."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("slash")
        await wait_for(lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*"a123", "enter")
        search = app.screen
        await wait_for(lambda: len(search.hits) == 1)
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, InboxScreen))
        target = fake.messages[fake.ids["ana"]][1].id
        await wait_for(
            lambda: (
                screen.log_widget.selected is not None and screen.log_widget.selected.id == target
            )
        )


async def test_placeholders_and_inert_text(fake, make_app):
    """Unsupported and quarantined messages are placeholders; hostile text is inert."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["eve"])
        text = screen_text(app)
        assert "Unsupported message — poll_creation" in text
        assert "Quarantined message — rule: payment_card_number" in text
        assert "␛[31mRED␛[0m [bold]not bold[/bold] ⟨RLO⟩evil.exe⟨PDF⟩" in text
        assert "\x1b" not in text and "\u202e" not in text


async def test_admin_reveals_quarantined(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["eve"])
        await pilot.press("G", "R")
        await pilot.pause(0.1)
        await pilot.press("y")
        await wait_for(lambda: "revealed: card" in screen_text(app))


async def test_message_details(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await pilot.press("m")
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "WhatsApp id" in text and f"wamid.{fake.ids['ana']}.1" in text
        await pilot.press("escape")


async def test_second_client_change_arrives_live(fake, make_app):
    """Another agent's reassignment, a customer's message and presence show up live."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        other = ApiClient(fake.url, fake.agent_token)
        try:
            from backend.schemas import TicketUpdate

            await other.update_ticket(
                fake.threads[fake.ids["ana"]].ticket.id, TicketUpdate(owner_id=2)
            )
            await wait_for(lambda: screen.thread.ticket.owner_id == 2)
            await wait_for(lambda: "owner Bob Agent" in screen_text(app))
        finally:
            await other.aclose()
        await fake.inbound(fake.ids["ana"], "are you there?")
        await wait_for(lambda: screen.log_widget.messages[-1].text == "are you there?")
        from tui.client import LiveStream

        stream = LiveStream(ApiClient(fake.url, fake.agent_token))
        task = asyncio.create_task(stream.run(lambda e: None, lambda s, d: None))
        try:
            await wait_for(lambda: stream.state == "connected")
            from backend.schemas import PresenceState

            await stream.send_presence(fake.ids["ana"], PresenceState.typing)
            await wait_for(lambda: "Bob Agent is typing…" in screen_text(app))
        finally:
            task.cancel()
            await stream.client.aclose()


async def test_server_restart_no_missed_event(fake, make_app):
    """While the server is down the header says reconnecting; events are replayed after."""
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await fake.stop()
        await wait_for(lambda: app.conn_state == "reconnecting")
        assert "reconnecting…" in screen_text(app)
        # events committed while this client was away
        await fake.inbound(fake.ids["ana"], "first while down")
        await fake.inbound(fake.ids["ana"], "second while down")
        await fake.start()
        await wait_for(lambda: app.conn_state == "connected", timeout=10)
        await wait_for(
            lambda: (
                [m.text for m in screen.log_widget.messages][-2:]
                == ["first while down", "second while down"]
            )
        )
        assert app.stream is not None and app.stream.since == len(fake.events)


async def test_notification_toast(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)):
        await inbox_ready(app)
        await fake.inbound(fake.ids["ben"], "[bold]ping[/bold]")
        await wait_for(
            lambda: any("New message from Ben Okafor" in n.title for n in app._notifications)
        )
        note = next(n for n in app._notifications if "Ben" in n.title)
        assert note.message == "[bold]ping[/bold]" and not note.markup


async def test_wrong_token_is_one_sentence(fake, make_app):
    app = make_app(fake.url, "nope")
    async with app.run_test(size=(100, 30)):
        await wait_for(lambda: "did not accept your token" in screen_text(app))
        assert isinstance(app.screen, StartScreen)
        assert "Traceback" not in screen_text(app)


async def test_unreachable_server_is_one_sentence(make_app):
    from tests.tui.fake_backend import free_port

    app = make_app(f"http://127.0.0.1:{free_port()}", "x")
    async with app.run_test(size=(100, 30)):
        await wait_for(lambda: "Cannot reach the server" in screen_text(app))


async def test_first_run_prompt_saves_config_0600(fake, tmp_path):
    """No server or token anywhere: the login dialog asks, checks and saves them (0600)."""
    app = TtydeskApp(Settings(path=config_path()))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: isinstance(app.screen, LoginDialog))
        await pilot.press(*fake.url, "enter", *"wrong", "enter")
        await wait_for(lambda: "did not accept your token" in screen_text(app))
        app.screen.query_one("#login-token").value = fake.admin_token
        await pilot.press("enter")
        await inbox_ready(app)
    path = config_path()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert fake.admin_token in path.read_text()


async def test_insert_picker_fills_tokens(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await pilot.press("i")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"greet", "enter")
        await wait_for(lambda: screen.composer.text == "Hi Ana, thanks for writing!")


async def test_palette_jumps_to_view(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"view: all closed")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(lambda: screen.view is not None and screen.view.id == "builtin:closed")


async def test_help_lists_every_key(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
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


async def test_attachment_by_pasted_path(fake, make_app, tmp_path: Path):
    app = make_app(fake.url, fake.admin_token)
    document = tmp_path / "invoice 1.pdf"
    document.write_bytes(b"%PDF-1.4 test")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await pilot.press("r")
        await app.screen.composer.area._on_paste(
            __import__("textual.events", fromlist=["Paste"]).Paste(f"'{document}'")
        )
        await wait_for(lambda: screen.composer.attachment == document)
        assert screen.composer.text == ""
        await pilot.pause(0.1)
        assert "invoice 1.pdf" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.composer.attachment is None)


async def test_refused_attachment_shows_supported_formats(fake, make_app, tmp_path: Path):
    app = make_app(fake.url, fake.admin_token)
    program = tmp_path / "tool.exe"
    program.write_bytes(b"MZ\x90\x00")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await pilot.press("r")
        screen.composer.attachment = program
        await pilot.press(*"see attached", "ctrl+s")
        await wait_for(lambda: "Supported: images" in screen_text(app))
        assert screen.composer.attachment == program and screen.composer.text == "see attached"


async def test_usage_limit_refusal_keeps_the_draft(fake, make_app):
    fake.usage = fake.usage.model_copy(update={"used": 1000, "level": "exhausted"})
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        assert "limit reached, resets 01 Dec" in screen_text(app)
        await open_thread(pilot, screen, fake.ids["ana"])
        await pilot.press("r", *"hi", "ctrl+s")
        await wait_for(lambda: "resets on 01 December 2026" in screen_text(app))
        assert screen.composer.text == "hi"


async def test_failed_message_shows_reason_and_retries(fake, make_app):
    from backend.schemas import DeliveryStatus, Direction, Message, MessageKind

    thread_id = fake.ids["ana"]
    failed = Message(
        id=fake.next_id(),
        thread_id=thread_id,
        direction=Direction.outbound,
        kind=MessageKind.text,
        text="late reply",
        status=DeliveryStatus.failed,
        error_code=131047,
        error_message="more than 24 hours since the customer last replied — send a template",
        created_at=fake.now,
    )
    fake.messages[thread_id].append(failed)
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, thread_id)
        text = screen_text(app)
        assert "✗ Not delivered: more than 24 hours since the customer last replied" in text
        assert "(error 131047)" in text
        await pilot.press("G", "y")
        await wait_for(lambda: screen.log_widget.messages[-1].status == DeliveryStatus.queued)


async def test_no_color_and_no_mouse(fake, make_app, monkeypatch):
    """With NO_COLOR the cursor and markers stay visible as characters."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        text = screen_text(app)
        assert "▌ ● W Ana García" in text  # cursor marker and unread dot are glyphs
        await pilot.press("j", "enter")
        await wait_for(lambda: screen.thread is not None)
        await pilot.press("escape")
        await wait_for(lambda: not screen.thread_open)


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


async def test_keymap_from_the_config_remaps_keys(fake):
    from tui.client import ApiClient, LiveStream

    settings = Settings(server=fake.url, token=fake.admin_token, keymap={"inbox.close": "x"})
    app = TtydeskApp(
        settings,
        ApiClient(fake.url, fake.admin_token),
        live=lambda c, since: LiveStream(c, since=since),
        save_config=False,
    )
    async with app.run_test(size=(120, 36)) as pilot:
        await inbox_ready(app)
        await pilot.press("x")
        await wait_for(lambda: fake.threads[fake.ids["ana"]].ticket.status == TicketStatus.closed)
