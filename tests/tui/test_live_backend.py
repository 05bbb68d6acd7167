"""The core inbox flows against the REAL backend (``live_backend``: aiohttp on 127.0.0.1,
a fresh SQLite file), seeded through the store's own transaction functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend import schemas
from tests.tui.fake_backend import screen_text, wait_for
from tests.tui.test_flows import HOSTILE_TEXT, inbox_ready, open_thread
from tui.client import ApiClient
from tui.dialogs.picker import FuzzyPicker
from tui.dialogs.template_picker import TemplatePicker
from tui.screens.search import SearchScreen

try:
    from backend.store.conversations import emit_message, emit_thread, insert_message
    from tests.backend.seed import inbound
except ImportError:  # pragma: no cover - the backend is not there yet
    pytest.skip("the backend is not available", allow_module_level=True)


async def connect_channel(store) -> None:
    """A connected WhatsApp number (PNID1, the seed helpers' default) so replies are accepted."""
    channel = await store.upsert_channel(
        schemas.ChannelCreate(
            business=schemas.BusinessDetails(
                legal_name="Acme SL",
                display_name="Acme",
                website="https://acme.example",
                email="help@acme.example",
                country="ES",
                time_zone="Europe/Madrid",
            ),
            access_token="test-graph-token",
            waba_id="WABA1",
            profile=schemas.BusinessProfile(display_name="Acme", category="OTHER"),
        ),
        verified_business=True,
        actor_id=None,
    )
    number = await store.add_phone_number(
        channel.id, {"id": "PNID1", "display_phone_number": "+1 555 000 1111"}, actor_id=None
    )
    await store.connect_phone_number(channel.id, number.id, actor_id=None)


async def seed(store) -> dict[str, int]:
    await connect_channel(store)
    now = datetime.now(UTC)

    def write(tx) -> dict[str, int]:
        ids = {
            "old": inbound(
                tx,
                name="Olga Old",
                phone="+34610000001",
                text="Is anyone there?",
                at=now - timedelta(hours=30),
            ),
            "eve": inbound(
                tx,
                name="Eve Hacker",
                phone="+34610000002",
                text=HOSTILE_TEXT,
                at=now - timedelta(minutes=20),
            ),
            "ana": inbound(
                tx,
                name="Ana García",
                phone="+34610000003",
                text="My order A123 is late",
                at=now - timedelta(minutes=5),
            ),
        }
        for kind, extra in (
            ("unsupported", {"unsupported_reason": "poll_creation"}),
            (
                "quarantined",
                {"quarantine_rule": "payment_card_number", "text": "4111 1111 1111 1111"},
            ),
        ):
            message_id = insert_message(
                tx,
                thread_id=ids["eve"],
                direction="in",
                kind=kind,
                at=now - timedelta(minutes=19),
                **extra,
            )
            emit_message(tx, message_id, created=True)
        emit_thread(tx, ids["eve"])
        return ids

    ids = await store.write(write)
    await store.replace_templates(
        "WABA1",
        [
            {
                "name": "order_update",
                "language": "en_US",
                "status": "APPROVED",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}],
            },
            {
                "name": "promo",
                "language": "es",
                "status": "PENDING",
                "components": [{"type": "BODY", "text": "x"}],
            },
        ],
    )
    return ids


@pytest.fixture
async def live(live_backend):
    live_backend.ids = await seed(live_backend.store)
    return live_backend


async def test_live_open_view_and_thread(live, make_app):
    app = make_app(live.url, live.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        assert screen.threads.total == 3
        assert screen.threads.current.contact.name == "Ana García"
        await open_thread(pilot, screen, live.ids["eve"])
        text = screen_text(app)
        assert "Unsupported message — poll_creation" in text
        assert "Quarantined message — rule: payment_card_number" in text
        assert "4111" not in text
        assert "␛[31mRED␛[0m [bold]not bold[/bold] ⟨RLO⟩evil.exe⟨PDF⟩" in text


async def test_live_reply_refused_then_template(live, make_app):
    app = make_app(live.url, live.agent_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, live.ids["ana"])
        await pilot.press("r", *"On its way", "ctrl+s")
        await wait_for(lambda: any(m.text == "On its way" for m in screen.log_widget.messages))
        await open_thread(pilot, screen, live.ids["old"])
        await pilot.press("r", *"hello?", "ctrl+s")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        assert screen.composer.text == "hello?"
        await pilot.pause(0.1)
        await pilot.press("enter")
        for field in app.screen.query("#tp-vars Input"):
            field.value = field.value or "X-1"
        await pilot.press("ctrl+s")
        await wait_for(
            lambda: any(m.template_name == "order_update" for m in screen.log_widget.messages)
        )


async def test_live_reassign_close_reopen(live, make_app):
    app = make_app(live.url, live.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"bob", "enter")
        await wait_for(
            lambda: (
                screen.threads.current is not None
                and screen.threads.current.ticket.owner_id == live.agent.id
            )
        )
        await pilot.press("g", "space", "space", "A")
        await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
        await pilot.press(*"ada", "enter")
        await wait_for(lambda: not screen.threads.selected)
        await wait_for(
            lambda: all(
                t.ticket.owner_id == live.admin.id for t in screen.threads.loaded_threads()[:2]
            )
        )
        await pilot.press("g", "c")
        await wait_for(lambda: screen.threads.total == 2)
        await pilot.press("3" if False else "5")  # all closed
        await wait_for(lambda: screen.view.id == "builtin:closed" and screen.threads.total == 1)
        await wait_for(lambda: screen.threads.current is not None)
        await pilot.press("o")
        await wait_for(lambda: screen.threads.total == 0)


async def test_live_search_and_jump(live, make_app):
    app = make_app(live.url, live.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("slash", *"A123", "enter")
        await wait_for(lambda: isinstance(app.screen, SearchScreen) and len(app.screen.hits) >= 1)
        await pilot.press("enter")
        await wait_for(lambda: screen.thread is not None and screen.thread.id == live.ids["ana"])
        await wait_for(lambda: screen.log_widget.selected is not None)


async def test_live_second_client_and_restart(live, make_app):
    app = make_app(live.url, live.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, live.ids["ana"])
        other = ApiClient(live.url, live.agent_token)
        try:
            await other.update_ticket(
                screen.thread.ticket.id,
                schemas.TicketUpdate(priority=schemas.TicketPriority.urgent),
            )
            await wait_for(lambda: screen.thread.ticket.priority == schemas.TicketPriority.urgent)
            await live.stop()
            await wait_for(lambda: app.conn_state == "reconnecting")
            assert "reconnecting…" in screen_text(app)
            await live.start()
            # committed before this client is back: it must come from the replay
            await other.update_ticket(
                screen.thread.ticket.id, schemas.TicketUpdate(status=schemas.TicketStatus.closed)
            )
            await wait_for(lambda: app.conn_state == "connected", timeout=15)
            await wait_for(lambda: screen.thread.ticket.status == schemas.TicketStatus.closed)
            await wait_for(lambda: "Closed" in screen_text(app))
        finally:
            await other.aclose()


async def test_live_create_whatsapp_view(live, make_app):
    from tui.dialogs.view_builder import ViewBuilder

    app = make_app(live.url, live.admin_token)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await inbox_ready(app)
        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, ViewBuilder))
        await pilot.pause(0.1)
        await pilot.press(*"WhatsApp", "enter", "down", "down", "enter")
        await pilot.press(*"original channel", "enter")
        await pilot.pause(0.1)
        if app.screen.query_one("#vb-operator").has_focus:
            await pilot.press("enter")  # is any of
            await pilot.pause(0.1)
        value_list = app.screen.query_one("#vb-value-list")
        if value_list.display:
            await pilot.press("space", "enter")
        else:
            await pilot.press(*"WHATSAPP", "enter")
        await pilot.pause(0.1)
        await pilot.press("ctrl+s")
        await wait_for(lambda: screen.view is not None and screen.view.name == "WhatsApp")
        assert screen.view.filters[0].property == "original_channel_type"
        await wait_for(lambda: screen.threads.total == 3)
        await wait_for(lambda: any(v.name == "WhatsApp" for v in app.views))


async def test_live_contact_panel_and_records(live, make_app):
    from tui.screens.records import RecordsScreen

    app = make_app(live.url, live.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, live.ids["ana"])
        await pilot.press("s")
        await wait_for(
            lambda: "Ticket timeline" in screen_text(app) and "+34610000003" in screen_text(app)
        )
        await pilot.press("f3")
        await wait_for(lambda: isinstance(app.screen, RecordsScreen))
        await wait_for(lambda: "Olga Old" in screen_text(app))


async def test_live_settings_notifications(live, make_app):
    from tui.screens.settings import SettingsScreen

    app = make_app(live.url, live.agent_token)
    async with app.run_test(size=(120, 40)) as pilot:
        await inbox_ready(app)
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, SettingsScreen))
        await pilot.pause(0.2)
        off = next(b for b in app.screen.query("#notify-choice RadioButton") if b.name == "off")
        off.value = True
        await wait_for(lambda: app.me.notify == schemas.NotificationChoice.off)
        assert (await live.store.get_agent(live.agent.id)).notify == schemas.NotificationChoice.off
