"""What the composer says after a send gives way to what became of it (real backend and
simulator, pilot)."""

from __future__ import annotations

from backend.schemas import DeliveryStatus
from tests.tui.backend_fixtures import inbox_ready, open_thread, wait_for
from tui.dialogs.template_picker import TemplatePicker

SENT = (DeliveryStatus.sent, DeliveryStatus.delivered, DeliveryStatus.read)


def composer_status(screen) -> str:  # noqa: ANN001 - the InboxScreen
    status = screen.composer.query_one("#composer-status")
    return str(status.render()) if status.has_class("-shown") else ""


async def test_template_queued_gives_way_once_the_template_is_sent(desk):
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["chen"])
        await pilot.press("t")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        picker = app.screen
        await wait_for(lambda: picker._current is not None)
        assert picker._current.name == "hello_again"
        await pilot.press("ctrl+s")

        def template_sent() -> bool:
            return any(
                m.template_name == "hello_again" and m.status in SENT
                for m in screen.log_widget.messages
            )

        await wait_for(template_sent, timeout=10)
        await pilot.pause()
        assert "queued" not in composer_status(screen), composer_status(screen)
