"""Settings → Profile: an agent writes their e-mail signature (P, then ctrl+s), at 80×24
with NO_COLOR and without a mouse; a refused one keeps what was typed and says why."""

from __future__ import annotations

import pytest

from tests.tui.backend_fixtures import inbox_ready, screen_text, wait_for
from tui.screens.help import HelpScreen
from tui.screens.settings import SettingsScreen


async def test_an_agent_writes_saves_and_clears_their_signature(
    desk, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("NO_COLOR", "1")
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, SettingsScreen))
        settings = app.screen
        footer_keys = lambda: screen_text(app).splitlines()[-1]  # noqa: E731
        await wait_for(lambda: "Signature" in footer_keys())
        assert "Save signature" not in footer_keys()  # only on the Profile tab
        await pilot.press("P")
        await wait_for(
            lambda: settings.focused is not None and settings.focused.id == "signature-text"
        )
        await wait_for(lambda: "Save signature" in footer_keys())
        assert "My e-mail signature" in screen_text(app)

        # a control character is refused by the server: the text stays to be put right
        await pilot.press(*"Bob", "enter", *"Acme", "ctrl+s")
        settings.query_one("#signature-text").insert("\x07")
        await pilot.press("ctrl+s")
        await wait_for(lambda: "control character (U+0007)" in screen_text(app))
        assert "Not saved" in screen_text(app)
        assert settings.query_one("#signature-text").text.startswith("Bob\nAcme")
        assert (await desk.store.get_agent(desk.backend.agent.id)).signature in (None, "Bob\nAcme")

        area = settings.query_one("#signature-text")
        area.load_text("{agent}\nSupport, Acme  \n\n")
        area.focus()
        await pilot.press("ctrl+s")
        await wait_for(lambda: "Saved: your e-mails are signed with it." in screen_text(app))
        assert area.text == "{agent}\nSupport, Acme"  # as stored
        assert app.me.signature == "{agent}\nSupport, Acme"
        assert (await desk.store.get_agent(desk.backend.agent.id)).signature == (
            "{agent}\nSupport, Acme"
        )

        # the key is in the ? help (and so in the palette, from the same bindings)
        await pilot.press("shift+tab")  # out of the text box: the screen's keys
        await wait_for(lambda: settings.focused is not area)
        await pilot.press("question_mark")
        await wait_for(lambda: isinstance(app.screen, HelpScreen))
        help_rows = [row for _, rows in app.screen.rows() for row in rows]
        assert ("P", "Signature", "Write my e-mail signature (Profile)") in help_rows
        await pilot.press("escape")
        await wait_for(lambda: app.screen is settings)

        area.load_text("")
        area.focus()
        await pilot.press("ctrl+s")
        await wait_for(lambda: "Saved: no signature" in screen_text(app))
    assert (await desk.store.get_agent(desk.backend.agent.id)).signature is None


async def test_my_signature_is_read_again_when_an_admin_changes_it(desk):
    """agent.updated carries no signature (other agents may not read it): news of a change
    to me has mine read again, so the Profile tab shows what an admin set."""
    app = desk.make_app(desk.agent_token)
    async with app.run_test(size=(80, 24)) as pilot:
        await inbox_ready(app)
        await desk.call(
            "PATCH", f"/agents/{desk.backend.agent.id}", json={"signature": "Bob\nAcme"}
        )
        await wait_for(lambda: app.me.signature == "Bob\nAcme")
        await pilot.press("f4")
        await wait_for(lambda: isinstance(app.screen, SettingsScreen))
        assert app.screen.query_one("#signature-text").text == "Bob\nAcme"
        await desk.call("PATCH", f"/agents/{desk.backend.agent.id}", json={"availability": "away"})
        newest = (await desk.store.event_bounds())[1]
        await wait_for(lambda: app.stream is not None and app.stream.since >= newest)
        await wait_for(lambda: app.me.availability.value == "away")
        assert app.me.signature == "Bob\nAcme"
