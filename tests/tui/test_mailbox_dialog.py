"""Settings → Channels: an admin connects a mailbox; the backend tries the IMAP login (a
real dovecot) and the relay's (a real aiosmtpd) first, a refusal is shown in one line
with every field kept, and the saved mailbox is listed beside the WhatsApp channel."""

from __future__ import annotations

from pathlib import Path

from tests.email.dovecot import PASSWORD, USER, Dovecot
from tests.email.test_connect_mailbox import RELAY_PASSWORD, RELAY_USER, relay_with_login
from tests.tui.backend_fixtures import inbox_ready, screen_text, start_desk, stop_desk, wait_for
from tui.dialogs.mailbox import MailboxDialog
from tui.screens.settings import SettingsScreen


async def test_admin_connects_a_mailbox_after_a_refused_login_and_sees_it_listed(tmp_path: Path):
    dovecot = Dovecot().start()
    desk = await start_desk(tmp_path / "data", seed=False)
    try:
        async with relay_with_login() as smtp_port:
            app = desk.make_app(desk.admin_token)
            async with app.run_test(size=(80, 24)) as pilot:
                await inbox_ready(app, threads=False)
                await pilot.press("f4")
                await wait_for(lambda: isinstance(app.screen, SettingsScreen))
                await wait_for(lambda: "No mailbox yet" in str(_channels(app)))
                await pilot.press("E")
                await wait_for(lambda: isinstance(app.screen, MailboxDialog))
                dialog = app.screen
                await pilot.pause(0.1)
                for field, value in {
                    "address": USER,
                    "display_name": "Acme Support",
                    "imap_host": "127.0.0.1",
                    "imap_port": str(dovecot.port),
                    "imap_password": "wrong",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": str(smtp_port),
                    "smtp_user": RELAY_USER,
                    "smtp_password": RELAY_PASSWORD,
                }.items():
                    dialog.query_one(f"#{field}").value = value
                dialog.query_one("#imap_tls").value = False
                dialog.query_one("#smtp_starttls").value = False
                await pilot.press("ctrl+s")
                await wait_for(lambda: "login refused" in screen_text(app))
                assert isinstance(app.screen, MailboxDialog)
                assert dialog.query_one("#smtp_password").value == RELAY_PASSWORD  # kept
                dialog.query_one("#imap_password").value = PASSWORD
                await pilot.press("ctrl+s")
                await wait_for(lambda: isinstance(app.screen, SettingsScreen))
                await wait_for(lambda: USER in str(_channels(app)))
                assert "IMAP 127.0.0.1 · relay 127.0.0.1" in str(_channels(app))
            agent_app = desk.make_app(desk.agent_token)
            async with agent_app.run_test(size=(80, 24)) as pilot:
                await inbox_ready(agent_app, threads=False)
                await pilot.press("f4")
                await wait_for(lambda: isinstance(agent_app.screen, SettingsScreen))
                assert not any(
                    b.enabled and b.binding.action == "connect_mailbox"
                    for b in agent_app.screen.active_bindings.values()
                )
    finally:
        await stop_desk(desk)
        dovecot.remove()


def _channels(app):
    return app.screen.query_one("#channels-text").render()
