"""Records, settings, new conversation, the channel wizard, view edit/delete and resync,
against the real backend and the real simulator."""

from __future__ import annotations

from pathlib import Path

from backend.schemas import NotificationChoice
from backend.simulator.config import PhoneNumberConfig, WabaConfig
from backend.store.conversations import emit_thread, emit_ticket, set_ticket_status
from backend.store.usage import count_send, emit_usage
from tests.tui.backend_fixtures import (
    CUSTOMERS,
    TEMPLATES,
    inbox_ready,
    screen_text,
    start_desk,
    stop_desk,
    wait_for,
)
from tests.whatsapp.outbound_fixtures import PHONE_ID, SIM_TOKEN, WABA_ID
from tui.dialogs.simple import ConfirmDialog
from tui.dialogs.template_picker import TemplatePicker
from tui.dialogs.view_builder import ViewBuilder
from tui.screens.records import RecordScreen, RecordSearchPicker, RecordsScreen
from tui.screens.settings import ChannelWizard, SettingsScreen


async def test_records_search_and_record_page(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        await inbox_ready(app)
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, RecordsScreen))
        await wait_for(lambda: "Ana García" in screen_text(app))
        await pilot.press(*"dora", "enter")
        await wait_for(
            lambda: "Ana García" not in screen_text(app) and "Dora Müller" in screen_text(app)
        )
        await pilot.press("tab", "enter")
        await wait_for(lambda: isinstance(app.screen, RecordScreen))
        await wait_for(lambda: "+4915100000004" in screen_text(app))
        await pilot.press("escape", "escape")
        await wait_for(lambda: app.current_mode == "inbox")


async def test_new_conversation_from_a_contact_needs_a_template(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("N")
        await wait_for(lambda: isinstance(app.screen, RecordSearchPicker))
        await pilot.press(*"Dora")
        await wait_for(
            lambda: "Dora Müller" in screen_text(app) and "Ana García" not in screen_text(app)
        )
        await pilot.press("enter")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        await pilot.pause(0.1)
        await pilot.press(*"order", "enter", "tab", *"B-7", "ctrl+s")
        await wait_for(
            lambda: screen.thread is not None and screen.thread.contact.name == "Dora Müller"
        )

    async def delivered() -> list:
        return await desk.env.sent(to=CUSTOMERS["dora"].wa_id)

    (item,) = await desk.env.until(delivered)
    template = item["body"]["template"]
    assert template["name"] == "order_update"
    params = [p["text"] for c in template["components"] for p in c.get("parameters", [])]
    assert params == ["Dora", "B-7"]


async def test_settings_notification_choice_is_saved(desk):
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        await inbox_ready(app)
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause(0.2)
        choice = next(b for b in app.screen.query("#notify-choice RadioButton") if b.name == "off")
        choice.value = True
        await wait_for(lambda: app.me.notify == NotificationChoice.off)
        assert "C" not in [
            b.key
            for b in app.screen.active_bindings.values()
            if b.enabled and b.binding.action == "connect_channel"
        ]
    agent = await desk.store.get_agent(desk.backend.agent.id)
    assert agent.notify == NotificationChoice.off


async def test_admin_channel_wizard_shows_refusals(tmp_path: Path):
    """Every refusal on the way is shown: a bad URL (client side), a personal account and a
    number connected elsewhere (both Meta's, from the simulator, through the backend)."""
    personal = WabaConfig(id="200000000000001", name="Me", account_type="PERSONAL")
    business = WabaConfig(
        id=WABA_ID,
        name="Acme",
        phone_numbers=[PhoneNumberConfig(id=PHONE_ID, display_phone_number="15550001111")],
        templates=TEMPLATES,
    )
    desk = await start_desk(
        tmp_path / "data",
        seed=False,
        wabas=[personal, business],
        numbers_connected_elsewhere=["34600999888"],
    )
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(120, 40)) as pilot:
            await inbox_ready(app, threads=False)
            await pilot.press("f4")
            await wait_for(lambda: isinstance(app.screen, SettingsScreen))
            await pilot.press("C")
            await wait_for(lambda: isinstance(app.screen, ChannelWizard))
            wizard = app.screen
            await pilot.pause(0.1)
            for field, value in {
                "legal_name": "Acme SL",
                "display_name": "Acme",
                "website": "acme",
                "email": "help@acme.example",
                "country": "ES",
                "time_zone": "Europe/Madrid",
            }.items():
                wizard.query_one(f"#{field}").value = value
            await pilot.press("ctrl+s")
            await pilot.pause(0.1)
            assert "full URL" in screen_text(app)
            wizard.query_one("#website").value = "https://acme.example"
            await pilot.press("ctrl+s")
            await wait_for(lambda: wizard.step == "account")
            wizard.query_one("#access_token").value = SIM_TOKEN
            wizard.query_one("#waba_id").value = personal.id
            await pilot.press("ctrl+s")
            await wait_for(lambda: wizard.step == "profile")
            await pilot.press("ctrl+s")  # the backend asks the simulator: a personal account
            await wait_for(lambda: "This is a personal WhatsApp account" in screen_text(app))
            assert wizard.step == "account"  # back where it can be fixed
            wizard.query_one("#waba_id").value = WABA_ID
            await pilot.press("ctrl+s")
            await wait_for(lambda: wizard.step == "profile")
            await pilot.press("ctrl+s")
            await wait_for(lambda: wizard.step == "number", timeout=10)
            await wait_for(lambda: "15550001111" in screen_text(app))  # a verified number
            # register a new number instead: the code comes, then Meta refuses it
            wizard.query_one("#cc").value = "34"
            wizard.query_one("#phone_number").value = "600999888"
            wizard.query_one("#verified_name").value = "Acme"
            wizard.query_one("#cc").focus()
            await pilot.press("ctrl+s")
            await wait_for(lambda: wizard.step == "code", timeout=10)
            assert wizard.number is not None
            code = await desk.env.control("GET", f"/codes/{wizard.number.phone_number_id}")
            wizard.query_one("#code").value = code["code"]
            wizard.query_one("#pin").value = "123456"
            await pilot.press("ctrl+s")
            await wait_for(lambda: "Meta refused to register the number" in screen_text(app))
            assert "Disconnect it from the other" in screen_text(app)
            await pilot.press("escape")
            await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await wait_for(lambda: isinstance(app.screen, SettingsScreen))
        channels = (await desk.call("GET", "/channels"))["items"]
        assert [c["waba_id"] for c in channels] == [WABA_ID]
        assert [n["status"] for n in channels[0]["phone_numbers"]] == ["pending"]
    finally:
        await stop_desk(desk)


async def test_edit_and_delete_a_custom_view(desk):
    view_id = desk.views["whatsapp"]
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        screen.sidebar.focus()
        await pilot.press("G", "E")
        await wait_for(lambda: isinstance(app.screen, ViewBuilder))
        await pilot.pause(0.1)
        app.screen.query_one("#vb-name").value = "WhatsApp chats"
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(v.name == "WhatsApp chats" for v in app.views))
        assert any(v.name == "WhatsApp chats" for v in await desk.view_list())
        screen.sidebar.focus()
        await pilot.press("G", "D")
        await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(lambda: not any(v.id == view_id for v in app.views))
    assert not any(v.id == view_id for v in await desk.view_list())


async def test_resync_refetches_everything(tmp_path: Path):
    """A burst larger than the client's queue: the backend drops the client's frames and
    sends ``resync`` (slow client); what the lost frames carried comes from the refetch."""
    desk = await start_desk(
        tmp_path / "data", backend_overrides={"ws_queue_size": 10, "usage_limit": 20}
    )
    try:
        store = desk.store
        chen, ben = desk.ids["chen"], desk.ids["ben"]
        chen_contact = desk.contacts["chen"]

        def burst(tx) -> None:
            for _ in range(12):  # more frames than the queue holds
                emit_thread(tx, desk.ids["eve"])
            for _ in range(19):  # 19 conversations counted (chen's session is closed)
                count_send(
                    tx,
                    store.usage_rules,
                    thread_id=chen,
                    contact_id=chen_contact,
                    verified_business=True,
                )
            emit_usage(tx, store.usage_rules)
            set_ticket_status(tx, desk.tickets["ben"], "closed", None)
            emit_ticket(tx, desk.tickets["ben"])
            emit_thread(tx, ben)

        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(120, 36)):
            screen = await inbox_ready(app)
            assert screen.threads.total == 5
            fetches = screen.threads.fetch_count
            await store.write(burst)
            await wait_for(lambda: app.usage is not None and app.usage.used == 19)
            await wait_for(lambda: screen.threads.fetch_count > fetches)
            await wait_for(lambda: app.conn_state == "connected")
            await wait_for(lambda: screen.threads.total == 4)
            assert app.counts["builtin:all_open"] == 4
            assert "⚠ WA 19/20 (95%)" in screen_text(app)
            assert screen.threads.find(ben) is None
            assert app.stream is not None and app.stream.connections >= 2  # resynced
    finally:
        await stop_desk(desk)


async def test_contact_panel_shows_the_contact_and_the_ticket_timeline(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        await wait_for(lambda: screen.threads.find(desk.ids["ana"]) is not None)
        screen.threads.move_to(desk.ids["ana"])
        await pilot.press("enter")
        await wait_for(lambda: screen.thread is not None)
        await pilot.press("s")
        await wait_for(
            lambda: "Ticket timeline" in screen_text(app) and "+34600000001" in screen_text(app)
        )
        text = screen_text(app)
        assert "plan" in text and "pro" in text  # the imported contact's property
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, RecordsScreen))
        await wait_for(lambda: "Chen Li" in screen_text(app))
