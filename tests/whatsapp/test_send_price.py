"""What a send would be billed as, before it is sent (GET /api/v1/threads/{id}/send-price):
per category, free inside the number's monthly allowance, and with a rate card the price in
the customer's market; prices here are the rate card's, the allowance counted by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import signed_post
from tests.whatsapp.test_usage_month import RATE_CARD, SUBSCRIBED, at, send_at


@pytest.fixture
def backend_overrides(tmp_path) -> dict[str, Any]:
    card = tmp_path / "rate-card.toml"
    card.write_text(RATE_CARD, encoding="utf-8")  # ES: marketing 0.0625, service 0.02; *: utility
    return {
        "subscription_start": SUBSCRIBED,
        "rate_card": card,
        "free_service_messages_per_month": 2,
    }


async def thread_id(backend, meta, clock) -> int:
    response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
    assert response.status_code == 200, response.text
    row = await backend.store.readers.one("SELECT id FROM threads ORDER BY id LIMIT 1")
    return row["id"]


async def prices(client, thread: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/threads/{thread}/send-price")
    assert response.status_code == 200, response.text
    return response.json()


def by_category(view: dict[str, Any]) -> dict[str, tuple[bool, str | None]]:
    return {line["category"]: (line["free"], line["price"]) for line in view["prices"]}


async def test_a_service_reply_is_free_until_the_months_allowance_is_used(
    backend, meta, agent, clock
):
    thread = await thread_id(backend, meta, clock)
    # last usage month's service message (the month resets on the 15th at 00:00 UTC) does
    # not use this month's allowance; this month's, billable or not, do
    await send_at(backend, meta, clock, "2026-11-14T23:59:59", "service", True)  # sets ES
    clock.set(at("2026-11-15T00:00:00"))
    view = await prices(agent, thread)
    assert (view["market"], view["currency"], view["rate_card"]) == ("ES", "EUR", True)
    assert view["business_number"] == "+" + p.DISPLAY_NUMBER
    assert view["free_service_messages_left"] == 2
    assert by_category(view) == {
        "service": (True, "0"),
        "utility": (False, "0.01"),  # the "*" market's
        "marketing": (False, "0.0625"),
        "authentication": (False, None),  # the card has no price for it
    }
    await send_at(backend, meta, clock, "2026-11-15T00:00:00", "service", False)
    assert (await prices(agent, thread))["free_service_messages_left"] == 1
    await send_at(backend, meta, clock, "2026-11-20T12:00:00", "service", True)
    await send_at(backend, meta, clock, "2026-11-20T12:00:01", "marketing", True)
    view = await prices(agent, thread)
    assert view["free_service_messages_left"] == 0
    assert by_category(view)["service"] == (False, "0.02")
    # the next usage month starts with the whole allowance again
    clock.set(at("2026-12-15T00:00:00"))
    assert by_category(await prices(agent, thread))["service"] == (True, "0")


@pytest.mark.parametrize("backend_overrides", [{"free_service_messages_per_month": 0}])
async def test_without_a_rate_card_it_says_the_category_and_no_price(backend, meta, agent, clock):
    thread = await thread_id(backend, meta, clock)
    view = await prices(agent, thread)
    assert (view["rate_card"], view["currency"]) == (False, None)
    assert view["free_service_messages_left"] == 0
    assert by_category(view) == {
        "service": (False, None),
        "utility": (False, None),
        "marketing": (False, None),
        "authentication": (False, None),
    }


async def test_an_unknown_thread_or_a_broken_rate_card_is_a_clear_json_error(
    backend, meta, agent, clock, backend_overrides
):
    response = await agent.get("/api/v1/threads/999999/send-price")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "thread_not_found"
    response = await agent.get("/api/v1/threads/x/send-price")
    assert response.status_code == 422 and response.json()["error"]["field"] == "id"
    thread = await thread_id(backend, meta, clock)
    backend_overrides["rate_card"].write_text('currency = "EUR"\n[markets.ES]\nservice = "?"\n')
    response = await agent.get(f"/api/v1/threads/{thread}/send-price")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "rate_card_unusable"
