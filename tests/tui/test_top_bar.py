"""The top bar at 80 and 60 columns: the view's name outlives the agent's when room runs out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.app import App, ComposeResult

from backend.schemas import Agent
from tui.widgets.chrome import TopBar

ALICE = Agent.model_validate(
    {
        "id": 1,
        "name": "Alice Fernández-Whitaker",
        "role": "admin",
        "availability": "available",
        "notify": "all",
        "created_at": datetime(2026, 11, 26, tzinfo=UTC),
    }
)


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TopBar()


@pytest.mark.parametrize("width", [80, 60])
async def test_waiting_updates_never_hide_which_view_they_are_for(width):
    """ "1 update — press . to refresh" took the room of the left part, and the view's name
    went first ("ttydesk · alice (admin) · …"): the agent's own name gives way instead."""
    app = BarApp()
    async with app.run_test(size=(width, 5)) as pilot:
        bar = app.query_one(TopBar)
        bar.agent, bar.title, bar.connection = ALICE, "Unassigned", "connected"
        await pilot.pause()
        shown = str(bar.render())
        assert "Unassigned" in shown, shown
        assert ("Alice" in shown) == (width == 80)  # with room for it, the agent too
        bar.held = 12
        await pilot.pause()
        shown = str(bar.render())
        assert "Unassigned" in shown, shown
        assert "12 updates" in shown, shown
        assert len(shown) <= width - 2
