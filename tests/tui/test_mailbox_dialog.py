"""Settings → Channels: an admin connects a mailbox; the backend tries the IMAP login (a
real dovecot) and the relay's (a real aiosmtpd) first, a refusal is shown in one line
with every field kept, and the saved mailbox is listed beside the WhatsApp channel. The
picked mailbox is edited (e: a refused login keeps the dialog and the old settings) and
removed (x, after a confirmation that says what it does)."""

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
                await wait_for(lambda: USER in _channels(app))
                assert "IMAP 127.0.0.1 · relay 127.0.0.1" in _channels(app)
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
    """The Channels tab's text and its list of mailboxes."""
    screen = app.screen
    text = str(screen.query_one("#channels-text").render())
    options = screen.query_one("#mailboxes-list")
    lines = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    return "\n".join([text, *lines])


async def test_admin_edits_then_removes_a_mailbox_at_80x24(tmp_path: Path):
    from textual.widgets import Tabs

    from tests.email.test_edit_remove_mailbox import body, relay_keeping
    from tui.dialogs.simple import ConfirmDialog

    desk = await start_desk(tmp_path / "data", seed=False)
    try:
        async with relay_keeping() as old_port, relay_keeping() as new_port:
            await desk.call("POST", "/mailboxes", json=body(old_port))
            app = desk.make_app(desk.admin_token)
            async with app.run_test(size=(80, 24)) as pilot:
                await inbox_ready(app, threads=False)
                await pilot.press("f4")
                await wait_for(lambda: isinstance(app.screen, SettingsScreen))
                await wait_for(lambda: USER in _channels(app))
                settings = app.screen
                assert not settings.check_action("edit_mailbox", ())  # the mailbox is not seen
                settings.query_one(Tabs).focus()
                await pilot.press("right", "right", "right", "right")  # the Channels tab
                await wait_for(lambda: settings.check_action("edit_mailbox", ()))
                await pilot.press("e")
                await wait_for(lambda: isinstance(app.screen, MailboxDialog))
                dialog = app.screen
                await pilot.pause(0.1)
                assert dialog.query_one("#address").value == USER
                assert dialog.query_one("#smtp_port").value == str(old_port)
                dialog.query_one("#smtp_port").value = "1"  # nothing listens there
                await pilot.press("ctrl+s")
                await wait_for(lambda: "cannot reach" in screen_text(app))
                assert app.screen is dialog
                dialog.query_one("#smtp_port").value = str(new_port)
                dialog.query_one("#display_name").value = "Acme Help"
                await pilot.press("ctrl+s")
                await wait_for(lambda: app.screen is settings)
                await wait_for(lambda: "Acme Help" in _channels(app))
                [saved] = (await desk.call("GET", "/mailboxes"))["items"]
                assert (saved["display_name"], saved["smtp_port"]) == ("Acme Help", new_port)

                await pilot.press("x")
                await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
                await wait_for(lambda: "Remove (y)" in screen_text(app))
                assert "threads and messages stay" in app.screen.question
                await pilot.press("n")  # kept
                await wait_for(lambda: app.screen is settings)
                await pilot.press("x")
                await wait_for(lambda: isinstance(app.screen, ConfirmDialog))
                await pilot.press("y")
                await wait_for(lambda: "No mailbox yet" in _channels(app))
        listed = await desk.call("GET", "/mailboxes")
        assert listed["items"] == []
    finally:
        await stop_desk(desk)


async def test_the_channels_tabs_own_keys_lead_the_footer_at_80_columns(tmp_path: Path):
    from textual.widgets import Tabs

    from tests.email.test_edit_remove_mailbox import body, relay_keeping
    from tui.widgets.footer import KeyFooter

    desk = await start_desk(tmp_path / "data", seed=False)
    try:
        async with relay_keeping() as port:
            await desk.call("POST", "/mailboxes", json=body(port))
            app = desk.make_app(desk.admin_token)
            async with app.run_test(size=(80, 24)) as pilot:
                await inbox_ready(app, threads=False)
                await pilot.press("f4")
                await wait_for(lambda: isinstance(app.screen, SettingsScreen))
                await wait_for(lambda: USER in _channels(app))
                settings = app.screen
                footer = settings.query_one(KeyFooter)
                settings.query_one(Tabs).focus()
                await pilot.press("right", "right", "right", "right")  # the Channels tab
                await wait_for(lambda: settings.check_action("edit_mailbox", ()))
                await wait_for(
                    lambda: (
                        "e Edit mailbox" in str(footer.render())
                        and "x Remove mailbox" in str(footer.render())
                    )
                )
                assert str(footer.render()).startswith("e Edit mailbox x Remove mailbox C Connect")
                await pilot.press("left", "left", "left")  # the Profile tab: its save key leads
                await wait_for(lambda: "^s Save signature" in str(footer.render()))
                assert "Edit mailbox" not in str(footer.render())
    finally:
        await stop_desk(desk)


async def test_a_failed_reload_drops_the_mailbox_rows_so_e_and_x_act_on_nothing_stale(
    tmp_path: Path,
):
    """The Channels tab reloads after the mailbox dialog closes; when that reload fails,
    the failure is shown and the old rows go with it: e and x must not open a mailbox the
    list could no longer confirm."""
    from textual.widgets import Tabs

    from tests.email.test_edit_remove_mailbox import body, relay_keeping

    desk = await start_desk(tmp_path / "data", seed=False)
    try:
        async with relay_keeping() as port:
            await desk.call("POST", "/mailboxes", json=body(port))
            app = desk.make_app(desk.admin_token)
            async with app.run_test(size=(80, 24)) as pilot:
                await inbox_ready(app, threads=False)
                await pilot.press("f4")
                await wait_for(lambda: isinstance(app.screen, SettingsScreen))
                await wait_for(lambda: USER in _channels(app))
                settings = app.screen
                settings.query_one(Tabs).focus()
                await pilot.press("right", "right", "right", "right")  # the Channels tab
                await wait_for(lambda: settings.check_action("edit_mailbox", ()))
                await pilot.press("e")
                await wait_for(lambda: isinstance(app.screen, MailboxDialog))
                await desk.backend.stop()  # the server goes away while the dialog is open
                await pilot.press("escape")  # closing it reloads the list: that fails
                await wait_for(lambda: app.screen is settings)
                await wait_for(lambda: USER not in _channels(app))
                assert "reach" in _channels(app).lower()  # the failure, in words
                assert not settings.check_action("edit_mailbox", ())
                assert not settings.check_action("remove_mailbox", ())
                await pilot.press("e", "x")
                await pilot.pause(0.1)
                assert app.screen is settings
    finally:
        await stop_desk(desk)
