"""The inbox against the real backend AND the real WhatsApp simulator: customers write
(signed webhooks through the real ingest and content policy), the agent replies and the
delivery marks follow the simulator's statuses."""

from __future__ import annotations

from backend.schemas import DeliveryStatus, MessageKind
from tests.tui.backend_fixtures import make_app, screen_text, wait_for
from tests.whatsapp import conftest as whatsapp_fixtures
from tests.whatsapp.conftest import SimEnv

sim = whatsapp_fixtures.sim  # the fixture (an ImportError fails the module, never skips it)


async def test_customer_messages_arrive_live_with_placeholders_and_reply_marks(sim: SimEnv):
    backend = sim.backend
    app = make_app(backend.url, backend.admin_token)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await inbox_ready_empty(app)
        await sim.customer_sends({"type": "text", "text": "Hola, *where* is my order?"})
        await wait_for(
            lambda: screen.threads.total == 1 and screen.threads.current is not None, timeout=10
        )
        await pilot.press("enter")
        await wait_for(lambda: len(screen.log_widget.messages) == 1)
        assert "Hola, where is my order?" in screen_text(app)
        await sim.customer_sends({"type": "unsupported", "unsupported_type": "poll_creation"})
        await sim.customer_sends({"type": "text", "text": "card 4111 1111 1111 1111"})
        await wait_for(
            lambda: (
                [m.kind for m in screen.log_widget.messages][-2:]
                == [MessageKind.unsupported, MessageKind.quarantined]
            ),
            timeout=10,
        )
        await pilot.pause(0.1)
        text = screen_text(app)
        assert "Unsupported message" in text and "Quarantined message" in text
        assert "4111 1111" not in text
        await pilot.press("r", *"On its way!", "ctrl+s")
        await wait_for(lambda: any(m.text == "On its way!" for m in screen.log_widget.messages))
        await wait_for(
            lambda: (
                next(m for m in screen.log_widget.messages if m.text == "On its way!").status
                == DeliveryStatus.read
            ),
            timeout=10,
        )
        await pilot.pause(0.1)
        assert "✓✓" in screen_text(app)


async def inbox_ready_empty(app):
    """Like ``inbox_ready`` but for a backend that has no thread yet."""
    from tui.screens.inbox import InboxScreen

    await wait_for(
        lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.query("#threads")),
        timeout=10,
    )
    await wait_for(lambda: app.conn_state == "connected")
    await wait_for(lambda: app.screen.threads.total == 0)
    return app.screen
