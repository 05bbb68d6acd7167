"""Nothing stale, nothing lost, nothing sent wrong (issue 15), driven by keys against the
REAL backend and simulator (``backend_fixtures``): per-component template variables,
collision at send, drafts kept on the server, live counts, reconnects."""

from __future__ import annotations

import httpx

from backend.simulator.config import TemplateConfig
from tests.tui.backend_fixtures import (
    CUSTOMERS,
    WABA_ID,
    Desk,
    inbox_ready,
    open_template_picker,
    open_thread,
    screen_text,
    wait_for,
)
from tui.dialogs.template_picker import TemplatePicker


async def sent_to(desk: Desk, key: str) -> list[dict]:
    return await desk.env.sent(to=CUSTOMERS[key].wa_id)


async def wait_for_sent(desk: Desk, key: str, count: int = 1) -> None:
    async def probe() -> bool:
        return len(await sent_to(desk, key)) >= count

    await desk.env.until(probe)


async def add_template(desk: Desk, template: TemplateConfig) -> None:
    """The WABA gains a template; the help desk syncs it."""
    state = desk.env.sim.state
    state.wabas[WABA_ID].templates.append(state.template_from_config(template))
    await desk.call("POST", "/templates/sync")


async def test_template_picker_fills_header_and_body_separately(desk):
    """The header's {{1}} is not the body's: "Order A-7", never "Order Ana"."""
    await add_template(
        desk,
        TemplateConfig(
            name="order_news",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
                {"type": "BODY", "text": "Hi {{1}}, it ships soon."},
            ],
        ),
    )
    templates = (await desk.call("GET", "/templates", params={"limit": 100}))["items"]
    news = next(t for t in templates if t["name"] == "order_news")
    await desk.call(
        "PATCH", f"/templates/{news['id']}", json={"variable_mapping": {"1": "first_name"}}
    )
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        picker = await open_template_picker(app, pilot, desk.ids["ana"])
        await pilot.press(*"news")
        await wait_for(lambda: picker._current is not None and picker._current.name == "order_news")
        labels = [str(label.render()) for label in picker.query("#tp-vars Label")]
        assert labels == ["Header", "{{1}}", "Body", "{{1}} ← first_name"]
        assert picker._values == {"header.1": "", "1": "Ana"}
        shown = str(picker.query_one("#tp-preview").render())
        assert "Order {{1}}" in shown and "Hi Ana, it ships soon." in shown
        await pilot.press("ctrl+s")  # the header's {{1}} is empty: refused
        await wait_for(lambda: "header {{1}}" in str(picker.query_one("#tp-status").render()))
        assert isinstance(app.screen, TemplatePicker)
        await pilot.press("enter", *"A-7")  # enter: to the first variable, the header's
        await wait_for(lambda: "Order A-7" in str(picker.query_one("#tp-preview").render()))
        assert "Hi Ana" in str(picker.query_one("#tp-preview").render())
        await pilot.press("ctrl+s")
        await wait_for(lambda: not isinstance(app.screen, TemplatePicker))

        async def delivered() -> list:
            return await sent_to(desk, "ana")

        (item,) = await desk.env.until(delivered)
    components = item["body"]["template"]["components"]
    assert components == [
        {"type": "header", "parameters": [{"type": "text", "text": "A-7"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
    ]


async def test_a_reply_after_another_agents_asks_before_sending(desk):
    """Another agent answers while I write: sending shows their reply and asks; no keeps my
    draft, yes sends it."""
    from tui.dialogs.collision import ThreadChangedDialog

    app = desk.make_app(desk.agent_token)
    thread_id = desk.ids["ana"]
    path = f"/threads/{thread_id}/messages"
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, thread_id)
        await pilot.press("r", *"On its way")
        await desk.call("POST", path, json={"kind": "text", "text": "Admin here: shipped today"})
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ThreadChangedDialog))
        assert "Admin here: shipped today" in screen_text(app)
        await pilot.press("n")
        await wait_for(
            lambda: "draft is kept" in str(screen.composer.query_one("#composer-status").render())
        )
        assert screen.composer.text == "On its way"
        # the agent has seen it now; another answer comes in the meantime
        await desk.call("POST", path, json={"kind": "text", "text": "Admin again: tracking A-1"})
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ThreadChangedDialog))
        assert "Admin again: tracking A-1" in screen_text(app)
        assert "shipped today" not in screen_text(app)  # only what is new to the agent
        await pilot.press("y")
        await wait_for(lambda: screen.composer.text == "")
        await wait_for_sent(desk, "ana", 3)
    texts = [item["body"]["text"]["body"] for item in await sent_to(desk, "ana")]
    assert texts == ["Admin here: shipped today", "Admin again: tracking A-1", "On its way"]


async def test_my_own_template_does_not_count_as_someone_writing_since(desk):
    """The agent sends a template, then a reply: nobody else wrote, so the reply goes out
    without "new messages since you started writing", even when the template's own event
    has not come down the stream yet (a slow link): the template is the agent's own."""
    from tui.dialogs.collision import ThreadChangedDialog

    thread_id = desk.ids["ana"]
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        picker = await open_template_picker(app, pilot, thread_id)
        screen = app.screen_stack[-2]
        held: list = []
        publish = app.live.publish
        app.live.publish = held.append  # the stream lags behind the answers to the sends
        await pilot.press(*"hello")
        await wait_for(
            lambda: picker._current is not None and picker._current.name == "hello_again"
        )
        await pilot.press("ctrl+s")
        await wait_for(
            lambda: any(m.template_name == "hello_again" for m in screen.log_widget.messages)
        )
        await pilot.press("r", *"And a word from me", "ctrl+s")
        await wait_for(
            lambda: isinstance(app.screen, ThreadChangedDialog) or screen.composer.text == ""
        )
        assert not isinstance(app.screen, ThreadChangedDialog), screen_text(app)
        await pilot.press(*"And one more", "ctrl+s")  # my reply is mine too
        await wait_for(
            lambda: isinstance(app.screen, ThreadChangedDialog) or screen.composer.text == ""
        )
        assert not isinstance(app.screen, ThreadChangedDialog), screen_text(app)
        app.live.publish = publish
        for event in held:
            publish(event)
        await wait_for_sent(desk, "ana", 3)
    sent = await sent_to(desk, "ana")
    assert sent[0]["type"] == "template"
    assert [item["body"]["text"]["body"] for item in sent[1:]] == [
        "And a word from me",
        "And one more",
    ]


async def server_draft(desk: Desk, thread_id: int) -> dict | None:
    response = await desk.agent.get(f"/api/v1/threads/{thread_id}/draft")
    return response.json() if response.status_code == 200 else None


async def test_a_draft_survives_quitting_and_comes_back_with_the_cursor_at_its_end(desk):
    thread_id = desk.ids["ana"]
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, thread_id)
        await pilot.press("r", *"Your parcel left", "enter", *"the warehouse")
        app.exit()  # at once: no time for the pause after typing
    assert (await server_draft(desk, thread_id))["text"] == "Your parcel left\nthe warehouse"
    again = desk.make_app(desk.agent_token)  # a new start, or a second terminal
    async with again.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(again)
        await open_thread(pilot, screen, thread_id)
        composer = screen.composer
        await wait_for(lambda: composer.text == "Your parcel left\nthe warehouse")
        assert composer.area.cursor_location == (1, len("the warehouse"))
        await pilot.press("r", *" today")
        await wait_for(lambda: composer.text.endswith("the warehouse today"))

        async def saved() -> bool:
            draft = await server_draft(desk, thread_id)
            return draft is not None and draft["text"].endswith("today")

        await desk.env.until(saved)  # kept a moment after typing stops, without leaving
        await pilot.press("ctrl+s")
        await wait_for(lambda: composer.text == "")
        await wait_for_sent(desk, "ana")
    assert await server_draft(desk, thread_id) is None  # the send took it


async def test_counts_follow_the_live_stream(desk):
    """Another client assigns a ticket: "Assigned to me" and the owner picker's open counts
    change in the running inbox."""
    from tui.dialogs.picker import FuzzyPicker

    bob = desk.backend.agent
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        assert screen.sidebar.counts["builtin:mine"] == 2  # ben and mal
        await desk.call("PATCH", f"/tickets/{desk.tickets['ana']}", json={"owner_id": bob.id})
        await wait_for(lambda: screen.sidebar.counts["builtin:mine"] == 3, timeout=10)
        sidebar = screen.sidebar
        mine = next(i for i, view in enumerate(sidebar.views) if view.id == "builtin:mine")
        assert str(sidebar.get_option_at_index(mine).prompt).rstrip().endswith(" 3")
        screen.threads.focus()
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        shown = screen_text(app)
        bob_line = next(line for line in shown.splitlines() if bob.name in line)
        assert "3 open" in bob_line


async def test_the_owner_picker_counts_follow_the_stream_while_it_is_open(desk):
    """The picker is open when another client assigns Bob a ticket: his line says so
    without closing and reopening the picker, and the highlighted agent stays highlighted."""
    from tui.dialogs.picker import FuzzyPicker

    bob = desk.backend.agent
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        screen.threads.focus()
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        picker = app.screen
        highlighted = picker.highlighted_item.value

        def bob_line() -> str:
            return next(line for line in screen_text(app).splitlines() if bob.name in line)

        assert "2 open" in bob_line()
        await desk.call("PATCH", f"/tickets/{desk.tickets['ana']}", json={"owner_id": bob.id})
        await wait_for(lambda: "3 open" in bob_line(), timeout=10)
        assert app.screen is picker and picker.highlighted_item.value == highlighted


async def test_a_thread_opened_while_the_server_is_down_fills_when_it_is_back(desk):
    backend = desk.backend
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: screen.threads.find(desk.ids["ben"]) is not None)
        await backend.stop()
        await wait_for(lambda: app.conn_state == "reconnecting")
        screen.threads.focus()
        screen.threads.move_to(desk.ids["ben"])
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: screen.thread is not None and screen.thread.id == desk.ids["ben"])
        await wait_for(lambda: any("Could not load" in n.title for n in app._notifications))
        assert screen.log_widget.messages == []
        await backend.start()  # the same port and database
        await wait_for(lambda: app.conn_state == "connected", timeout=10)
        await wait_for(lambda: len(screen.log_widget.messages) > 0, timeout=10)
        assert screen.log_widget.messages[0].thread_id == desk.ids["ben"]


async def test_a_shared_view_about_me_counts_my_threads_live(desk):
    """A view shared by the admin with "owner is me" counts the viewer's threads, also after a
    pushed change (the push counts it for the view's owner)."""
    filters = [
        {"property": "owner", "operator": "is_any_of", "values": ["me"]},
        {"property": "status", "operator": "is_none_of", "values": ["closed"]},
    ]
    shared = await desk.call(
        "POST", "/views", json={"name": "Mine too", "sharing": "everyone", "filters": filters}
    )
    bob = desk.backend.agent
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)):
        screen = await inbox_ready(app)
        assert screen.sidebar.counts[shared["id"]] == 2  # ben and mal
        await desk.call("PATCH", f"/tickets/{desk.tickets['ana']}", json={"owner_id": bob.id})
        await wait_for(lambda: screen.sidebar.counts["builtin:mine"] == 3, timeout=10)
        await wait_for(lambda: screen.sidebar.counts[shared["id"]] == 3)
        await desk.call("PATCH", f"/tickets/{desk.tickets['eve']}", json={"owner_id": bob.id})
        await wait_for(lambda: screen.sidebar.counts["builtin:mine"] == 4, timeout=10)
        await wait_for(lambda: screen.sidebar.counts[shared["id"]] == 4)


async def test_the_contacts_message_seen_while_writing_does_not_ask(desk):
    """What the contact writes shows up in the open thread as it comes: no question for it."""
    app = desk.make_app(desk.agent_token)
    thread_id = desk.ids["ana"]
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, thread_id)
        await pilot.press("r", *"Checking")
        await desk.customer_writes("ana", "Any news?")
        await wait_for(lambda: any(m.text == "Any news?" for m in screen.log_widget.messages))
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(m.text == "Checking" for m in screen.log_widget.messages))
        assert screen.composer.text == ""
        await wait_for_sent(desk, "ana")
    assert [item["body"]["text"]["body"] for item in await sent_to(desk, "ana")] == ["Checking"]


async def test_the_template_picker_offers_a_spanish_customer_spanish_first(desk):
    """Ana writes from a Spanish number: the picker puts the Spanish templates first and has
    one chosen; an English one chosen by hand says she likely reads Spanish."""
    for name, language in (("order_update", "es_ES"), ("aviso", "es")):
        await add_template(
            desk,
            TemplateConfig(
                name=name,
                language=language,
                components=[{"type": "BODY", "text": "Hola {{1}}, su pedido ha salido."}],
            ),
        )
    contact = await desk.call("GET", f"/contacts/{desk.contacts['ana']}")
    assert contact["languages"] == ["es_ES", "es"]
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        picker = await open_template_picker(app, pilot, desk.ids["ana"])
        await wait_for(lambda: picker._current is not None)
        shown = [(t.name, t.language) for t in picker._shown]
        assert shown[:2] == [("order_update", "es_ES"), ("aviso", "es")]
        assert (picker._current.name, picker._current.language) == ("order_update", "es_ES")
        assert "likely reads" not in str(picker.query_one("#tp-preview").render())
        await pilot.press(*"hello")
        await wait_for(
            lambda: picker._current is not None and picker._current.name == "hello_again"
        )
        preview = str(picker.query_one("#tp-preview").render())
        assert "In en_US: the contact likely reads es." in preview


class LosesFirstSendAnswer(httpx.AsyncBaseTransport):
    """The network between the inbox and the server: the first send reaches the server and
    is stored, and its answer is lost on the way back (a dropped connection, a reconnect)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/messages") and not self.lost:
            await response.aread()
            self.lost += 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_sending_again_after_a_lost_answer_sends_once(desk):
    """The send whose answer was lost reads "Not sent" with the draft kept, though the
    server has it: ctrl+s again must not give the customer the reply twice."""
    from tui.app import TtydeskApp
    from tui.client import ApiClient, LiveStream
    from tui.config import Settings

    transport = LosesFirstSendAnswer()
    client = ApiClient(desk.url, desk.agent_token, transport=transport)
    app = TtydeskApp(
        Settings(server=desk.url, token=desk.agent_token),
        client,
        live=lambda c, since: LiveStream(c, since=since, backoff=(0.05, 0.1, 0.2)),
        save_config=False,
        clock=desk.clock.now,
    )
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: transport.lost == 1 and not screen.composer.sending)
        assert screen.composer.text == "On its way!"  # the draft kept
        status = str(screen.composer.query_one("#composer-status").render())
        assert "may have been sent" in status and "Not sent" not in status
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.composer.text == "")
    # both sends have been answered: the server holds what they made
    page = await desk.call("GET", f"/threads/{desk.ids['ana']}/messages")
    assert [m["text"] for m in page["items"]].count("On its way!") == 1
    await wait_for_sent(desk, "ana")
    bodies = [item["body"].get("text", {}).get("body") for item in await sent_to(desk, "ana")]
    assert bodies.count("On its way!") == 1
