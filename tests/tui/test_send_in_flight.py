"""What the agent does while a send is on its way (a slow network, a busy server): goes on
writing, or opens another thread. The send's answer must not take that work with it, nor
bring the sent text back as a draft. Against the REAL backend, with a network that holds
the sends until the test lets them through."""

from __future__ import annotations

import asyncio

import httpx
from textual import events

from backend import schemas
from tests.tui.backend_fixtures import CUSTOMERS, Desk, inbox_ready, open_thread, wait_for


class HoldsSends(httpx.AsyncBaseTransport):
    """The network: a message POST waits until ``release`` is set, then goes through."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.release = asyncio.Event()
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/messages"):
            self.held += 1
            await self.release.wait()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def app_over(desk: Desk, transport: HoldsSends):  # noqa: ANN201 - TtydeskApp
    from tui.app import TtydeskApp
    from tui.client import ApiClient, LiveStream
    from tui.config import Settings

    return TtydeskApp(
        Settings(server=desk.url, token=desk.agent_token),
        ApiClient(desk.url, desk.agent_token, transport=transport),
        live=lambda c, since: LiveStream(c, since=since, backoff=(0.05, 0.1, 0.2)),
        save_config=False,
        clock=desk.clock.now,
    )


async def sent_texts(desk: Desk, key: str) -> list[str]:
    items = await desk.env.sent(to=CUSTOMERS[key].wa_id)
    return [item["body"].get("text", {}).get("body") for item in items]


async def server_draft(desk: Desk, thread_id: int) -> str | None:
    response = await desk.agent.get(f"/api/v1/threads/{thread_id}/draft")
    return response.json()["text"] if response.status_code == 200 else None


async def test_what_is_written_while_a_send_is_on_its_way_stays(desk):
    """ctrl+s, then the next message begun at once: the answer to the first takes the sent
    text out of the composer, not what was written after it."""
    transport = HoldsSends()
    app = app_over(desk, transport)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: transport.held == 1)
        await pilot.press("enter", *"Anything else?")
        composer = screen.composer
        assert composer.text == "On its way!\nAnything else?"
        transport.release.set()
        await wait_for(lambda: not composer.sending)
        await wait_for(lambda: any(m.text == "On its way!" for m in screen.log_widget.messages))
        assert composer.text == "Anything else?"
        await pilot.press("ctrl+s")
        await wait_for(lambda: composer.text == "")

        async def both() -> bool:
            return len(await sent_texts(desk, "ana")) >= 2

        await desk.env.until(both)
    assert await sent_texts(desk, "ana") == ["On its way!", "Anything else?"]


async def test_opening_another_thread_while_a_send_is_on_its_way_keeps_both(desk):
    """ctrl+s in Ana's thread, then Chen's opened and a draft begun there: the answer to
    Ana's send neither empties Chen's composer (nor deletes his kept draft) nor brings the
    sent reply back as Ana's draft, to be sent twice."""
    transport = HoldsSends()
    app = app_over(desk, transport)
    ana, chen = desk.ids["ana"], desk.ids["chen"]
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, ana)
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: transport.held == 1)
        await open_thread(pilot, screen, chen)
        await pilot.press("r", *"Your plan can change today")
        composer = screen.composer
        transport.release.set()

        async def delivered() -> bool:
            return await sent_texts(desk, "ana") == ["On its way!"]

        await desk.env.until(delivered)
        await wait_for(
            lambda: not any(w.group == "send" and not w.is_finished for w in app.workers)
        )
        await pilot.pause()
        assert composer.text == "Your plan can change today"
        assert "Not sent" not in str(composer.query_one("#composer-status").render())
        await open_thread(pilot, screen, ana)
        await pilot.pause()
        assert composer.text == ""
    assert await server_draft(desk, chen) == "Your plan can change today"
    assert await server_draft(desk, ana) is None
    assert await sent_texts(desk, "ana") == ["On its way!"]


async def test_a_refusal_after_opening_another_thread_names_its_thread(desk):
    """ctrl+s in Chen's thread (his 24-hour window is over), then Ana's opened and written
    in: the refusal is a notice naming Chen, with his draft kept; Ana's composer does not
    say "Not sent", and no template picker opens for Ana."""
    from tui.dialogs.template_picker import TemplatePicker

    transport = HoldsSends()
    app = app_over(desk, transport)
    ana, chen = desk.ids["ana"], desk.ids["chen"]
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, chen)
        await pilot.press("r", *"Yes you can", "ctrl+s")
        await wait_for(lambda: transport.held == 1)
        await open_thread(pilot, screen, ana)
        await pilot.press("r", *"Half a reply")
        transport.release.set()
        await wait_for(lambda: any("Chen Li" in n.message for n in app._notifications))
        await pilot.pause()
        composer = screen.composer
        assert not isinstance(app.screen, TemplatePicker)
        assert composer.text == "Half a reply" and composer.session_open
        assert "Not sent" not in str(composer.query_one("#composer-status").render())
        await open_thread(pilot, screen, chen)
        await wait_for(lambda: composer.text == "Yes you can")
    assert await sent_texts(desk, "chen") == []


async def test_another_agents_reply_is_asked_about_after_a_resync_too(desk):
    """Another agent's reply came while I was writing; the connection then had to resync
    (the server's event log no longer reached back to this client): the reload shows the
    thread again, and sending still asks about that reply before it goes."""
    from backend.store.sqlite import SqliteStore
    from tui.dialogs.collision import ThreadChangedDialog

    backend = desk.backend
    app = desk.make_app(desk.agent_token)
    ana = desk.ids["ana"]
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, ana)
        await pilot.press("r", *"On its way")
        await desk.call(
            "POST", f"/threads/{ana}/messages", json={"kind": "text", "text": "Admin: shipped"}
        )
        await wait_for(lambda: any(m.text == "Admin: shipped" for m in screen.log_widget.messages))

        async def delivered() -> bool:  # (stored and shown is not yet sent: the outbox sends)
            return await sent_texts(desk, "ana") == ["Admin: shipped"]

        await desk.env.until(delivered)
        reloads: list[object] = []
        app.reloaded.subscribe(screen, reloads.append)
        await backend.stop()
        await wait_for(lambda: app.conn_state == "reconnecting")
        store = SqliteStore(backend.settings.database_path, clock=desk.clock)
        await store.open()
        try:
            # a change this client has not seen, then no event left to replay it from
            await store.update_agent(backend.admin.id, schemas.MeUpdate(availability="away"))
            await store.prune_events(keep=0)  # this client's place in the log is gone
        finally:
            await store.close()
        await backend.start()
        await wait_for(lambda: app.conn_state == "connected" and bool(reloads), timeout=20)
        await wait_for(
            lambda: not any(w.group == "thread-load" and not w.is_finished for w in app.workers)
        )
        assert any(m.text == "Admin: shipped" for m in screen.log_widget.messages)
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ThreadChangedDialog))
        await pilot.press("n")
        await wait_for(
            lambda: "draft is kept" in str(screen.composer.query_one("#composer-status").render())
        )
        assert screen.composer.text == "On its way"
    assert await sent_texts(desk, "ana") == ["Admin: shipped"]


async def test_undo_leaves_a_ticket_another_agent_changed_since(desk):
    """I close Ben's ticket; Bob reopens it (he is waiting on Ben now); my ``u`` in the
    undo window must not put back the status from before my close over Bob's change: it
    says so and changes nothing."""
    ben = desk.ids["ben"]
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: screen.threads.find(ben) is not None)
        screen.threads.focus()
        screen.threads.move_to(ben)
        await pilot.pause()
        await pilot.press("c")
        await wait_for(lambda: any("Closed" in n.message for n in app._notifications))
        assert (await desk.thread("ben")).ticket.status.value == "closed"
        await desk.call(
            "PATCH",
            f"/tickets/{desk.tickets['ben']}",
            client=desk.agent,
            json={"status": "waiting_on_contact"},
        )
        await pilot.press("u")
        await wait_for(lambda: any("changed since" in n.message for n in app._notifications))
        assert not any("Undone" in n.message for n in app._notifications)
    assert (await desk.thread("ben")).ticket.status.value == "waiting_on_contact"


async def test_pasted_escape_codes_and_bidi_overrides_are_left_out_of_the_reply(desk):
    """Text copied from a terminal or a web page, escapes and a bidi override in it, pasted
    into the composer: the agent's terminal obeys none of it (no colour switched on, no
    line turned around) and the customer is not sent it; the words stay."""
    from textual import events

    from tests.tui.backend_fixtures import HOSTILE_TEXT, screen_text

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        app.post_message(events.Paste(HOSTILE_TEXT))  # the terminal's bracketed paste
        await wait_for(lambda: "evil" in screen.composer.text)
        await pilot.pause()
        clean = "Pay now RED [bold]not bold[/bold] evil.exe ok"
        assert screen.composer.text == clean
        shown = screen_text(app)
        assert "\x1b" not in shown and "\u202e" not in shown and clean in shown
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.composer.text == "")

        async def delivered() -> bool:
            return len(await sent_texts(desk, "ana")) == 1

        await desk.env.until(delivered)
    assert await sent_texts(desk, "ana") == [clean]


async def test_ctrl_s_twice_in_the_template_picker_sends_the_template_only(desk):
    """A draft waits in the composer; the agent picks a template and presses ctrl+s twice
    (a double tap, a key repeat): the template goes, and the second ctrl+s, pressed while
    the picker was open, does not send the draft under it."""
    from tui.dialogs.template_picker import TemplatePicker

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", *"my draft", "ctrl+t")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        picker = app.screen
        await pilot.press(*"hello")
        await wait_for(
            lambda: picker._current is not None and picker._current.name == "hello_again"
        )
        # both keys in the terminal's input before the first is handled
        first, second = events_key("ctrl+s"), events_key("ctrl+s")
        app.post_message(first)
        app.post_message(second)
        await wait_for(
            lambda: any(m.template_name == "hello_again" for m in screen.log_widget.messages)
        )
        await pilot.pause()
        assert app.screen is screen and not screen.composer.sending  # no send of the draft
        assert screen.composer.text == "my draft"
    sent = await desk.env.sent(to=CUSTOMERS["ana"].wa_id)
    assert [item["type"] for item in sent] == ["template"]


def events_key(key: str):  # noqa: ANN201 - textual.events.Key
    from textual import events

    return events.Key(key, None)


def _quit_question(app) -> str | None:  # noqa: ANN001
    from tui.dialogs.simple import ConfirmDialog

    screen = app.screen
    if isinstance(screen, ConfirmDialog) and screen.id == "quit-confirm":
        return screen.question
    return None


async def test_quitting_while_a_reply_is_on_its_way_asks_first(desk):
    """ctrl+s, back to the list, q: the reply has not reached the server yet, so quitting
    would lose it; the inbox asks (y/n shown), n stays and the reply goes out; once it is
    answered, q quits at once."""
    from tests.tui.backend_fixtures import screen_text

    transport = HoldsSends()
    app = app_over(desk, transport)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: transport.held == 1)
        await pilot.press("escape", "q")  # composer → messages → the list
        await wait_for(lambda: not screen.thread_open)
        await pilot.press("q")
        await wait_for(lambda: _quit_question(app) is not None)
        assert app.return_code is None
        assert "A reply is still being sent" in _quit_question(app)
        shown = screen_text(app)
        assert "(y)" in shown and "(n)" in shown
        await pilot.press("n")
        await wait_for(lambda: app.screen is screen)
        transport.release.set()

        async def delivered() -> bool:
            return await sent_texts(desk, "ana") == ["On its way!"]

        await desk.env.until(delivered)
        await wait_for(lambda: not app.client.sending)
        await pilot.press("q")
        await wait_for(lambda: app.return_code == 0)
        assert _quit_question(app) is None


async def test_quitting_while_a_template_is_on_its_way_asks_first(desk):
    from tests.tui.backend_fixtures import open_template_picker

    transport = HoldsSends()
    app = app_over(desk, transport)
    async with app.run_test(size=(80, 24)) as pilot:
        picker = await open_template_picker(app, pilot, desk.ids["ana"])
        await pilot.press(*"hello")
        await wait_for(
            lambda: picker._current is not None and picker._current.name == "hello_again"
        )
        await pilot.press("ctrl+s")
        await wait_for(lambda: transport.held == 1)
        await pilot.press("ctrl+q")
        await wait_for(lambda: _quit_question(app) is not None)
        assert "A template is still being sent" in _quit_question(app)
        await pilot.press("y")
        await wait_for(lambda: app.return_code == 0)


class HoldsAnswers(HoldsSends):
    """The network: a message POST reaches the server at once, and its answer waits
    until ``release`` is set (a send the server took while the agent saw it pending)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/messages"):
            await response.aread()
            self.held += 1
            await self.release.wait()
        return response


async def test_quitting_while_a_sent_reply_is_unanswered_keeps_no_draft_of_it(desk):
    """ctrl+s, the server takes the reply, its answer is slow; the agent quits (y to "a
    reply is still being sent"): the quit's save of the composer, which still holds the
    reply, must not make the sent text Ana's draft again (to be sent twice)."""
    transport = HoldsAnswers()
    app = app_over(desk, transport)
    ana = desk.ids["ana"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, ana)
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: transport.held == 1)

        async def delivered() -> bool:
            return await sent_texts(desk, "ana") == ["On its way!"]

        await desk.env.until(delivered)
        assert screen.composer.text == "On its way!"  # the answer has not come
        await pilot.press("ctrl+q")
        await wait_for(lambda: _quit_question(app) is not None)
        assert "A reply is still being sent" in _quit_question(app)
        app.answer_wait_s = 0.3  # (the answer never comes: the inbox leaves without it)
        await pilot.press("y")
        await wait_for(lambda: app.return_code == 0)
    transport.release.set()
    assert await server_draft(desk, ana) is None
    assert await sent_texts(desk, "ana") == ["On its way!"]


async def test_quitting_after_writing_on_while_a_reply_is_unanswered_keeps_only_the_rest(desk):
    """ctrl+s, the server takes the reply, its answer is slow; the agent writes on and
    quits (y): the quit's save kept "On its way!" and what followed as Ana's draft, the
    sent text ready to be sent twice. Quitting now waits a moment for the answer, which
    takes the sent text out, and keeps only what was written after it."""
    transport = HoldsAnswers()
    app = app_over(desk, transport)
    ana = desk.ids["ana"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, ana)
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: transport.held == 1)
        await pilot.press("enter", *"Anything else?")
        await pilot.press("ctrl+q")
        await wait_for(lambda: _quit_question(app) is not None)
        await pilot.press("y")
        await pilot.pause(0.2)
        assert app.return_code is None  # waiting for the answer
        transport.release.set()
        await wait_for(lambda: app.return_code == 0)
    assert await server_draft(desk, ana) == "Anything else?"
    assert await sent_texts(desk, "ana") == ["On its way!"]


class HoldsDraftSaves(httpx.AsyncBaseTransport):
    """The network: a draft PUT is on the wire (the agent's terminal giving up on it does
    not call it back) and reaches the server when ``release`` is set."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.release = asyncio.Event()
        self.held = 0
        self.arrived: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.endswith("/draft"):
            self.held += 1
            return await asyncio.shield(asyncio.ensure_future(self._late(request)))
        return await self.inner.handle_async_request(request)

    async def _late(self, request: httpx.Request) -> httpx.Response:
        await self.release.wait()
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.arrived.append(response.status_code)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_draft_save_on_its_way_when_the_reply_is_sent_does_not_come_back(desk):
    """The composer's save leaves after a pause in typing and is slow; ctrl+s, the reply is
    sent and the composer emptied; then the save reaches the server: it must not make the
    sent reply Ana's draft again."""
    transport = HoldsDraftSaves()
    app = app_over(desk, transport)  # type: ignore[arg-type]
    ana = desk.ids["ana"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, ana)
        await pilot.press("r", *"On its way!")
        await wait_for(lambda: transport.held == 1, timeout=10)
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.composer.text == "" and not screen.composer.sending)
        assert await sent_texts(desk, "ana") == ["On its way!"]
        transport.release.set()
        await wait_for(lambda: len(transport.arrived) == 1)
    assert await server_draft(desk, ana) is None


async def test_keys_typed_before_ctrl_s_in_one_burst_are_in_what_is_sent(desk):
    """A fast typist, or keys batched by a slow SSH link: backspace, a letter and ctrl+s
    reach the inbox before it has handled the first. What is sent is the text after every
    key before ctrl+s, never the text from before them (which then came back as a draft)."""
    transport = HoldsSends()
    transport.release.set()
    app = app_over(desk, transport)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", *"Second tryq")
        composer = screen.composer
        await wait_for(lambda: composer.text == "Second tryq")
        for key, character in (("backspace", None), ("exclamation_mark", "!"), ("ctrl+s", None)):
            app.post_message(events.Key(key, character))
        await wait_for(lambda: any(m.text == "Second try!" for m in screen.log_widget.messages))
        await wait_for(lambda: composer.text == "" and not composer.sending)
        await pilot.pause()
        assert composer.text == ""
    assert await sent_texts(desk, "ana") == ["Second try!"]
    assert await server_draft(desk, desk.ids["ana"]) is None


async def test_ctrl_s_typed_with_the_filter_in_one_burst_never_sends_an_unseen_template(desk):
    """The picker shows hello_again; "order" and ctrl+s arrive together. The list had not
    caught up with the filter when ctrl+s ran, so hello_again (not what was typed) went
    out. Now ctrl+s first brings the list up to the filter; a template the agent has not
    seen is shown, not sent, and is sent once its variables are filled."""
    from tui.dialogs.template_picker import TemplatePicker

    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("t")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        picker = app.screen
        await wait_for(
            lambda: picker._current is not None and picker._current.name == "hello_again"
        )
        for key in [*"order", "ctrl+s"]:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await wait_for(
            lambda: picker._current is not None and picker._current.name == "order_update"
        )
        await pilot.pause()
        assert app.screen is picker
        assert "check the preview" in str(picker.query_one("#tp-status").render())
        assert await desk.env.sent(to=CUSTOMERS["ana"].wa_id) == []
        await pilot.press("enter", "ctrl+u", *"Ana", "enter", "ctrl+u", *"A-1", "ctrl+s")
        await wait_for(
            lambda: any(m.template_name == "order_update" for m in screen.log_widget.messages)
        )
    sent = await desk.env.sent(to=CUSTOMERS["ana"].wa_id)
    assert [item["body"]["template"]["name"] for item in sent] == ["order_update"]
    (body,) = sent[0]["body"]["template"]["components"]
    assert [p["text"] for p in body["parameters"]] == ["Ana", "A-1"]


async def test_keys_typed_with_the_key_that_opens_the_composer_keep_their_order(desk):
    """ "r" and what follows it in one burst: the letters reach the list (the focus moves
    only when "r" runs) and are handed on to the text box; a backspace among them ran
    before the letters it follows were typed, and erased nothing."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        screen.log_widget.focus()
        await pilot.pause()
        for key, character in (
            ("r", "r"),
            ("H", "H"),
            ("i", "i"),
            ("backspace", None),
            ("exclamation_mark", "!"),
        ):
            app.post_message(events.Key(key, character))
        await wait_for(lambda: "!" in screen.composer.text)
        await pilot.pause()
        assert screen.composer.text == "H!"
