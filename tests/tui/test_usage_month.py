"""The month view (f6): what WhatsApp bills for a usage month, from the real backend whose
messages the real simulator priced; figures computed here by hand from the rate card."""

from __future__ import annotations

from asyncio import sleep as asyncio_sleep
from asyncio import timeout as asyncio_timeout
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.tui.backend_fixtures import (
    T0,
    Desk,
    ThreadedDesk,
    inbox_ready,
    screen_text,
    start_desk,
    stop_desk,
    wait_for,
)
from tui.screens.help import HelpScreen
from tui.screens.usage_month import UsageMonthScreen, shift_month

RATE_CARD = """currency = "EUR"
[markets.ES]
service = 0.02
marketing = 0.0625
[markets."*"]
service = 0.01
marketing = 0.05
utility = 0.01
"""
REPLY = {"kind": "text", "text": "on it"}
MARKETING = {"kind": "template", "name": "hello_again", "language": "en_US"}
UTILITY = {
    "kind": "template",
    "name": "order_update",
    "language": "en_US",
    "variables": {"1": "A123", "2": "Friday"},
}


def overrides(tmp_path: Path, *, card: bool = True) -> dict[str, Any]:
    settings: dict[str, Any] = {"free_service_messages_per_month": 1, "budget": "0.1"}
    if card:
        path = tmp_path / "rate-card.toml"
        path.write_text(RATE_CARD, encoding="utf-8")
        settings["rate_card"] = path
    return settings


async def bill(desk: Desk, key: str, body: dict[str, Any]) -> None:
    """Send, and wait until the simulator's statuses priced the message."""
    thread = desk.ids[key]
    sent = await desk.call("POST", f"/threads/{thread}/messages", json=body)

    async def priced() -> bool:
        items = (await desk.call("GET", f"/threads/{thread}/messages"))["items"]
        return any(m["id"] == sent["id"] and m.get("pricing") for m in items)

    async with asyncio_timeout(10):
        while not await priced():
            await asyncio_sleep(0.02)


async def bill_two_months(desk: Desk) -> None:
    """October: one marketing template to Chen (China: the "*" price, 0.05). November (now):
    two replies to Ana (Spain: the first in the free allowance of 1, the second 0.02), a
    marketing template to Chen (0.05) and a utility one to Dora (0.01): 0.08 in all."""
    desk.clock.set(datetime(2026, 10, 20, 12, 0, tzinfo=UTC))
    await bill(desk, "chen", MARKETING)
    desk.clock.set(T0)
    await bill(desk, "ana", REPLY)
    await bill(desk, "ana", REPLY)
    await bill(desk, "chen", MARKETING)
    await bill(desk, "dora", UTILITY)


def rows_of(text: str) -> dict[str, list[str]]:
    """The screen's lines by their first word."""
    return {line.split()[0]: line.split()[1:] for line in text.splitlines() if line.strip()}


async def month_shown(app: Any, month: str) -> str:
    """The screen once the month is laid out (its last line, the trend, is there too)."""

    def shown() -> bool:
        text = screen_text(app)
        return f"Usage month {month}:" in text and "Against " in text

    await wait_for(shown)
    return screen_text(app)


def test_months_move_across_years():
    assert shift_month("2026-11", 1) == "2026-12"
    assert shift_month("2026-12", 1) == "2027-01"
    assert shift_month("2026-01", -1) == "2025-12"


async def test_the_month_view_by_category_with_the_estimate_and_the_trend(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    desk = await start_desk(tmp_path / "data", backend_overrides=overrides(tmp_path))
    try:
        await bill_two_months(desk)
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)) as pilot:
            await inbox_ready(app)
            await pilot.press("f6")
            await wait_for(lambda: isinstance(app.screen, UsageMonthScreen))
            await month_shown(app, "2026-11")
            text = screen_text(app)
            rows = rows_of(text)
            # messages, billable, free, in allowance, charged, estimate
            assert rows["service"] == ["2", "2", "0", "1", "1", "0.02"], text
            assert rows["marketing"] == ["1", "1", "0", "0", "1", "0.05"], text
            assert rows["utility"] == ["1", "1", "0", "0", "1", "0.01"], text
            assert rows["total"] == ["4", "4", "0", "1", "3", "0.08"], text
            assert "Estimate by the rate card, in EUR." in text
            assert (
                "Against 2026-10: 1 message, 0.05 EUR; now +3 messages (+300.0 %), +0.03 EUR."
                in text
            )
            assert "Budget: 0.08 of 0.10 EUR (80 %) ⚠ over 80 %" in text
            assert all(len(line) <= 80 for line in text.splitlines())
            await pilot.press("left_square_bracket")
            await month_shown(app, "2026-10")
            assert rows_of(screen_text(app))["total"] == ["1", "1", "0", "0", "1", "0.05"]
            await pilot.press("right", "right")
            await month_shown(app, "2026-12")
            assert "No priced messages in this month." in screen_text(app)
            await pilot.press("t")
            await month_shown(app, "2026-11")
            await pilot.press("question_mark")
            await wait_for(lambda: isinstance(app.screen, HelpScreen))
            groups = dict(app.screen.rows())
            assert ("f6", "WhatsApp month") in {(k, d) for k, d, _ in groups["Everywhere"]}
            keys = {d: k for k, d, _ in groups["WhatsApp month"]}
            assert (keys["Month before"], keys["Month after"]) == ("[ / ←", "] / →")
            await pilot.press("escape", "escape")
            await wait_for(lambda: app.current_mode == "inbox")
    finally:
        await stop_desk(desk)


async def test_without_a_rate_card_it_counts_and_the_palette_opens_it(tmp_path):
    desk = await start_desk(tmp_path / "data", backend_overrides=overrides(tmp_path, card=False))
    try:
        await bill(desk, "ana", REPLY)
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await inbox_ready(app)
            commands = {c.title: c for c in app.get_system_commands(screen)}
            commands["WhatsApp month"].callback()
            await month_shown(app, "2026-11")
            text = screen_text(app)
            assert "No rate card (setting rate_card): counts only." in text, text
            assert "EUR" not in text and "estimate" not in text and "Budget" not in text
            assert rows_of(text)["service"] == ["1", "1", "0", "1", "0"], text
            assert "Against 2026-10: 0 messages; now +1 message." in text
            # statuses that price a new reply count it while the month is shown
            await desk.call("POST", f"/threads/{desk.ids['ana']}/messages", json=REPLY)
            await wait_for(lambda: rows_of(screen_text(app))["service"][0] == "2", timeout=10)
            await pilot.press("q")
            await wait_for(lambda: app.current_mode == "inbox")
    finally:
        await stop_desk(desk)


@pytest.fixture
def billed(tmp_path: Path) -> Iterator[Desk]:
    threaded = ThreadedDesk(tmp_path / "data", backend_overrides=overrides(tmp_path))
    with threaded as desk:
        threaded.run(bill_two_months(desk))
        yield desk


def test_the_month_view_80x24(snap_compare, billed):
    from tests.tui.backend_fixtures import make_app

    app = make_app(billed.url, billed.admin_token, clock=lambda: T0)

    async def run_before(pilot) -> None:
        await wait_for(lambda: pilot.app.current_mode == "inbox", timeout=10)
        await wait_for(lambda: pilot.app.conn_state == "connected")
        await pilot.press("f6")
        await month_shown(pilot.app, "2026-11")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
