"""Records, settings, new conversation, view edit/delete and resync, against the in-memory
backend."""

from __future__ import annotations

from backend.schemas import NotificationChoice
from tests.tui.fake_backend import screen_text, wait_for
from tests.tui.test_flows import inbox_ready
from tui.dialogs.simple import ConfirmDialog
from tui.dialogs.template_picker import TemplatePicker
from tui.dialogs.view_builder import ViewBuilder
from tui.screens.records import RecordScreen, RecordSearchPicker, RecordsScreen
from tui.screens.settings import ChannelWizard, SettingsScreen


async def test_records_search_and_record_page(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
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


async def test_new_conversation_from_a_contact_needs_a_template(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
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
        body = [b for m, p, b in fake.requests if p.endswith("/conversations")][-1]
        assert body["template"]["name"] == "order_update"
        assert body["template"]["variables"] == {"1": "Dora", "2": "B-7"}


async def test_settings_notification_choice_is_saved(fake, make_app):
    app = make_app(fake.url, fake.agent_token)
    async with app.run_test(size=(120, 36)) as pilot:
        await inbox_ready(app)
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause(0.2)
        mine = next(b for b in app.screen.query("#notify-choice RadioButton") if b.name == "mine")
        mine.value = True
        await wait_for(lambda: fake.agents[2].notify == NotificationChoice.mine)
        assert app.me.notify == NotificationChoice.mine
        assert "C" not in [
            b.key
            for b in app.screen.active_bindings.values()
            if b.enabled and b.binding.action == "connect_channel"
        ]


async def test_admin_channel_wizard_shows_refusals(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 40)) as pilot:
        await inbox_ready(app)
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
        wizard.query_one("#access_token").value = "tok"
        wizard.query_one("#waba_id").value = "W1"
        await pilot.press("ctrl+s")
        await wait_for(lambda: wizard.step == "profile")
        await pilot.press("ctrl+s")  # the fake has no POST /channels: the refusal is shown
        await wait_for(lambda: "(405)" in screen_text(app) or "refused" in screen_text(app))
        await pilot.press("escape")
        await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(lambda: isinstance(app.screen, SettingsScreen))


async def test_edit_and_delete_a_custom_view(fake, make_app):
    from backend.schemas import View

    fake.views.append(
        View(
            id="77",
            name="Urgent",
            filters=[{"property": "priority", "operator": "is_any_of", "values": ["urgent"]}],
        )
    )
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        screen.sidebar.focus()
        await pilot.press("G", "E")
        await wait_for(lambda: isinstance(app.screen, ViewBuilder))
        await pilot.pause(0.1)
        app.screen.query_one("#vb-name").value = "Very urgent"
        await pilot.press("ctrl+s")
        await wait_for(lambda: any(v.name == "Very urgent" for v in fake.views))
        screen.sidebar.focus()
        await pilot.press("G", "D")
        await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await wait_for(lambda: not any(v.id == "77" for v in fake.views))
        await wait_for(lambda: not any(v.id == "77" for v in app.views))


async def test_resync_refetches_everything(fake, make_app):
    app = make_app(fake.url, fake.admin_token)
    async with app.run_test(size=(120, 36)):
        screen = await inbox_ready(app)
        fake.usage = fake.usage.model_copy(update={"used": 950})
        fetches = screen.threads.fetch_count
        for ws in list(fake.sockets):
            await ws.send_str('{"seq": 0, "type": "resync", "data": {"reason": "slow_client"}}')
            await ws.close()
        await wait_for(lambda: app.usage is not None and app.usage.used == 950)
        await wait_for(lambda: screen.threads.fetch_count > fetches)
        await wait_for(lambda: app.conn_state == "connected")
        assert "⚠ WA 950/1000 (95%)" in screen_text(app)
