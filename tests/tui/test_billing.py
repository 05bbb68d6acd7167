"""What WhatsApp will bill, in the TUI: the header warns when the month's estimate passes 80 %
and 100 % of the budget (settings ``rate_card`` and ``budget``), like the conversation meter;
the composer and the template picker say what a send is billed as."""

from __future__ import annotations

from asyncio import sleep as asyncio_sleep
from asyncio import timeout as asyncio_timeout
from datetime import date
from decimal import Decimal

from backend.schemas import Budget, Usage
from tests.tui.backend_fixtures import (
    inbox_ready,
    open_thread,
    screen_text,
    start_desk,
    stop_desk,
    wait_for,
)
from tui.dialogs.template_picker import TemplatePicker
from tui.widgets.chrome import usage_text

EVERY_CATEGORY_COSTS_2 = """currency = "EUR"
[markets."*"]
service = 2
utility = 2
marketing = 2
authentication = 2
"""
HELLO = {"kind": "template", "name": "hello_again", "language": "en_US"}


def meter(level: str, spent: str) -> Usage:
    budget = Budget(amount=Decimal(100), spent=Decimal(spent), currency="EUR", level=level)
    return Usage(
        used=3,
        limit=1000,
        period_start=date(2026, 11, 1),
        resets_on=date(2026, 12, 1),
        business_initiated_24h=0,
        budget=budget,
    )


def test_the_meter_says_budget_from_80_percent_and_over_budget_from_100():
    assert usage_text(meter("ok", "79")).plain == "WA 3/1000"
    warning = usage_text(meter("warning", "85"))
    assert warning.plain == "WA 3/1000 · ⚠ budget 85%"
    exceeded = usage_text(meter("exceeded", "130"))
    assert exceeded.plain == "WA 3/1000 · ⚠ over budget 130%"
    assert any("reverse" in str(span.style) for span in exceeded.spans)


async def test_the_header_warns_over_budget_and_keeps_it_across_pushed_meters(tmp_path):
    card = tmp_path / "rate-card.toml"
    card.write_text(EVERY_CATEGORY_COSTS_2, encoding="utf-8")
    desk = await start_desk(
        tmp_path / "data",
        backend_overrides={"rate_card": card, "budget": "1", "free_service_messages_per_month": 0},
    )
    try:
        thread = desk.ids["ana"]
        sent = await desk.call("POST", f"/threads/{thread}/messages", json=HELLO)

        async def priced() -> bool:
            items = (await desk.call("GET", f"/threads/{thread}/messages"))["items"]
            return any(m["id"] == sent["id"] and m.get("pricing") for m in items)

        async with asyncio_timeout(10):
            while not await priced():
                await asyncio_sleep(0.02)
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)):
            await inbox_ready(app)
            assert app.usage is not None and app.usage.budget is not None
            assert app.usage.budget.level == "exceeded"
            assert "over budget" in screen_text(app)
            before = app.usage
            # Dora's session is closed: a template to her counts, and the meter is pushed
            await desk.call("POST", f"/threads/{desk.ids['dora']}/messages", json=HELLO)
            await wait_for(lambda: app.usage is not None and app.usage.used == before.used + 1)
            assert app.usage.budget is not None and "over budget" in screen_text(app)
    finally:
        await stop_desk(desk)


async def reply_and_picker_billing(desk, app) -> tuple[str, str, str]:
    """What the composer's bar says for a reply to Ana (her session is open) and what the
    template picker's preview says for a marketing and a utility template to Chen."""
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        await wait_for(lambda: app.screen.composer.send_prices is not None)
        bar = str(app.screen.query_one("#composer-bar").render())
        await pilot.press("escape")
        await open_thread(pilot, screen, desk.ids["chen"])  # his has expired
        assert "billed as a service message" not in screen_text(app)
        await pilot.press("r", *"hello?", "ctrl+s")
        await wait_for(lambda: isinstance(app.screen, TemplatePicker))
        picker = app.screen
        await wait_for(lambda: picker._current is not None)
        assert picker._current.name == "hello_again"  # a marketing template
        preview = picker.query_one("#tp-preview")
        marketing = str(preview.render())
        await pilot.press(*"order")
        await wait_for(lambda: picker._current.name == "order_update")
        await wait_for(lambda: "Billed as utility" in str(preview.render()))
        return bar, marketing, str(preview.render())


async def test_without_a_rate_card_the_composer_and_picker_say_the_category(desk):
    bar, marketing, utility = await reply_and_picker_billing(desk, desk.make_app(desk.admin_token))
    # the free allowance (1000 by default) is untouched: a reply is free
    assert "Reply · billed as a service message: free (1000 left this month)" in bar
    assert "A marketing template: WhatsApp bills it as marketing.\n" in marketing + "\n"
    assert "Billed as utility." in utility and "marketing" not in utility
    assert "EUR" not in bar + marketing + utility


async def test_the_composers_free_allowance_drops_as_a_sent_reply_is_priced(desk):
    """A reply uses one of the month's free service messages when WhatsApp prices it (its
    status comes in the live stream): the composer's bar follows without reopening."""
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        bar = screen.query_one("#composer-bar")
        await wait_for(lambda: "free (1000 left this month)" in str(bar.render()))
        await pilot.press(*"On its way", "ctrl+s")
        await wait_for(lambda: screen.composer.text == "")
        await wait_for(lambda: "free (999 left this month)" in str(bar.render()), timeout=10)


PRICES_BY_MARKET = """currency = "EUR"
[markets.ES]
service = 0.0200
marketing = 0.0625
[markets."*"]
service = 0.5
marketing = 0.5
utility = 0.01
"""


async def test_with_a_rate_card_they_give_the_price_in_the_customers_market(tmp_path):
    card = tmp_path / "rate-card.toml"
    card.write_text(PRICES_BY_MARKET, encoding="utf-8")
    desk = await start_desk(
        tmp_path / "data",
        backend_overrides={"rate_card": card, "free_service_messages_per_month": 0},
    )
    try:
        app = desk.make_app(desk.admin_token)
        bar, marketing, utility = await reply_and_picker_billing(desk, app)
    finally:
        await stop_desk(desk)
    assert "Reply · billed as a service message: 0.02 EUR" in bar  # Ana is in Spain
    # Chen's market has no row of its own: the "*" prices
    assert "A marketing template: WhatsApp bills it as marketing, 0.50 EUR." in marketing
    assert "Billed as utility: 0.01 EUR." in utility


async def test_the_budget_warning_follows_statuses_that_price_a_message(tmp_path):
    card = tmp_path / "rate-card.toml"
    card.write_text(EVERY_CATEGORY_COSTS_2, encoding="utf-8")
    desk = await start_desk(
        tmp_path / "data",
        backend_overrides={
            "rate_card": card,
            "budget": "2.5",
            "free_service_messages_per_month": 0,
        },
    )
    try:
        app = desk.make_app(desk.admin_token)
        async with app.run_test(size=(80, 24)):
            await inbox_ready(app)
            assert app.usage is not None and app.usage.budget is not None
            assert app.usage.budget.level == "ok" and "budget" not in screen_text(app)
            # a reply in Ana's open session pushes no meter: only its statuses' pricing
            # (2 EUR of a 2.50 EUR budget, then 4) can move the warning
            reply = {"kind": "text", "text": "on it"}
            await desk.call("POST", f"/threads/{desk.ids['ana']}/messages", json=reply)
            await wait_for(lambda: "⚠ budget 80%" in screen_text(app), timeout=10)
            await desk.call("POST", f"/threads/{desk.ids['ana']}/messages", json=reply)
            await wait_for(lambda: "⚠ over budget 160%" in screen_text(app), timeout=10)
    finally:
        await stop_desk(desk)


async def test_a_budget_fetch_cancelled_before_it_starts_leaves_no_coroutine_unawaited():
    """The app cancels its workers as it exits: a budget fetch asked for just before must
    not leave a coroutine made and never run ("coroutine BudgetFollower._fetch was never
    awaited")."""
    import gc
    import warnings

    from textual.app import App

    from backend.schemas import Direction, Message, MessagePricing
    from tui.budget import BudgetFollower

    class Harness(App[None]):
        usage = meter("ok", "10")
        client = None

    app = Harness()
    priced = Message.model_construct(
        id=1, direction=Direction.outbound, pricing=MessagePricing(category="service")
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        async with app.run_test():
            BudgetFollower(app).message_updated(priced)  # type: ignore[arg-type]
            app.workers.cancel_group(app, "budget")  # as the app's exit does, before it ran
        gc.collect()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
