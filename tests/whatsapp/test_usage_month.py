"""The month view of what WhatsApp bills: per category and business number, billable and
free, the estimate against a rate card (computed here by hand), months in the
subscription's terms, the trend, the budget; through the API and the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from backend import cli
from backend.store import conversations as conv
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import signed_post

SUBSCRIBED = date(2026, 1, 15)  # the usage month runs from the 15th to the 15th
RATE_CARD = """
currency = "EUR"
[markets.ES]
marketing = 0.0625
service = 0.02
[markets."*"]
utility = 0.01
"""
PMP = {"pricing_model": "PMP", "type": "regular"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def rate_card(tmp_path):
    path = tmp_path / "rate-card.toml"
    path.write_text(RATE_CARD, encoding="utf-8")
    return path


@pytest.fixture
def backend_overrides(rate_card) -> dict[str, Any]:
    return {
        "subscription_start": SUBSCRIBED,
        "rate_card": rate_card,
        "free_service_messages_per_month": 0,
        "budget": "0.1",
    }


async def send_at(
    backend, meta, clock, when: str, category: str, billable: bool, *, country: str | None = "ES"
) -> int:
    """An agent's message created at ``when`` to a customer in ``country``, then its `sent`
    status with its pricing."""
    clock.set(at(when))
    wamid = f"wamid.{when}.{category}"

    def insert(tx):
        thread = tx.one("SELECT id, contact_id FROM threads ORDER BY id LIMIT 1")
        tx.execute("UPDATE contacts SET country = ? WHERE id = ?", (country, thread["contact_id"]))
        return conv.insert_message(
            tx,
            thread_id=thread["id"],
            direction="out",
            kind="text",
            text="hi",
            author_id=backend.agent.id,
            wamid=wamid,
            status="sending",
        )

    message_id = await backend.store.write(insert)
    status = p.status(wamid, "sent", at=at(when))
    status["pricing"] = PMP | {"category": category, "billable": billable}
    response = await signed_post(meta, p.statuses_envelope(status))
    assert response.status_code == 200, response.text
    return message_id


@pytest.fixture
async def month_of_sends(backend, meta, clock):
    response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
    assert response.status_code == 200
    await send_at(backend, meta, clock, "2026-11-14T23:59:59", "marketing", True)  # October's
    await send_at(backend, meta, clock, "2026-11-15T00:00:00", "marketing", True)
    await send_at(backend, meta, clock, "2026-11-20T12:00:00", "service", True)
    await send_at(backend, meta, clock, "2026-11-21T12:00:00", "utility", False)
    await send_at(backend, meta, clock, "2026-11-22T12:00:00", "utility", True)
    await send_at(backend, meta, clock, "2026-12-15T00:00:00", "marketing", True)  # December's
    clock.set(at("2026-11-26T10:00:00"))


NOVEMBER = {
    "month": "2026-11",
    "period_start": "2026-11-15",
    "resets_on": "2026-12-15",
    "rate_card": True,
    "currency": "EUR",
    "free_service_messages_per_month": 0,
    "previous_month": "2026-10",
    "messages_change": 3,  # 4 against 1
    "messages_change_percent": 300.0,
}


async def test_the_month_view_by_category_with_the_estimate_by_hand(admin, month_of_sends):
    response = await admin.get("/api/v1/usage/month", params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    view = response.json()
    assert {key: view[key] for key in NOVEMBER} == NOVEMBER
    lines = {line["category"]: line for line in view["lines"]}
    assert set(lines) == {"marketing", "service", "utility"}
    assert {line["business_number"] for line in view["lines"]} == {"+" + p.DISPLAY_NUMBER}
    # the message at 23:59:59 before the reset is October's, the one at 00:00 November's
    assert (lines["marketing"]["messages"], lines["marketing"]["estimate"]) == (1, "0.0625")
    assert (lines["service"]["charged"], lines["service"]["estimate"]) == (1, "0.02")
    utility = lines["utility"]
    assert (utility["messages"], utility["billable"], utility["free"]) == (2, 1, 1)
    assert utility["estimate"] == "0.01"
    total = view["total"]
    assert (total["messages"], total["billable"], total["free"]) == (4, 3, 1)
    assert total["estimate"] == "0.0925"  # 0.0625 + 0.02 + 0.01
    assert (view["previous"]["messages"], view["previous"]["estimate"]) == (1, "0.0625")
    assert view["estimate_change"] == "0.0300"
    assert view["budget"] == {
        "amount": "0.1",
        "spent": "0.0925",
        "currency": "EUR",
        "level": "warning",
    }
    # without ?month: the month the clock is in; and the meter carries the budget
    current = (await admin.get("/api/v1/usage/month")).json()
    assert current["month"] == "2026-11" and current["total"] == total
    usage = (await admin.get("/api/v1/usage")).json()
    assert usage["budget"]["level"] == "warning" and usage["budget"]["spent"] == "0.0925"
    december = (await admin.get("/api/v1/usage/month", params={"month": "2026-12"})).json()
    assert december["total"]["messages"] == 1 and december["messages_change"] == -3


async def test_a_bad_month_or_a_broken_rate_card_is_a_clear_json_error(
    admin, month_of_sends, rate_card
):
    response = await admin.get("/api/v1/usage/month", params={"month": "November"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "month"
    assert "YYYY-MM" in response.json()["error"]["message"]
    rate_card.write_text('currency = "EUR"\n[markets.ES]\nmarketing = "cheap"\n')
    response = await admin.get("/api/v1/usage/month", params={"month": "2026-11"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "rate_card_unusable" and "markets.ES.marketing" in error["message"]


@pytest.fixture
def cli_env(backend, monkeypatch, tmp_path, rate_card):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TTYDESK_CONFIG_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TTYDESK_DATA_DIR", str(backend.data_dir))
    if backend.database is not None:  # the backend's PostgreSQL database
        monkeypatch.setenv("TTYDESK_DATABASE", backend.database)
    monkeypatch.setenv("TTYDESK_SUBSCRIPTION_START", SUBSCRIBED.isoformat())
    monkeypatch.setenv("TTYDESK_FREE_SERVICE_MESSAGES_PER_MONTH", "0")
    monkeypatch.setenv("TTYDESK_RATE_CARD", str(rate_card))
    monkeypatch.setenv("TTYDESK_BUDGET", "0.1")
    return monkeypatch


async def test_the_cli_prints_the_month_as_json_and_as_a_table(
    backend, month_of_sends, cli_env, capsys
):
    await backend.stop()  # one process on the database at a time

    def main(*argv: str) -> int:  # the CLI runs its own event loop
        return cli.main(list(argv))

    assert await asyncio.to_thread(main, "admin", "usage", "--month", "2026-11", "--json") == 0
    view = json.loads(capsys.readouterr().out)
    assert {key: view[key] for key in NOVEMBER} == NOVEMBER
    assert view["total"]["estimate"] == "0.0925" and view["budget"]["level"] == "warning"
    assert await asyncio.to_thread(main, "admin", "usage", "--month", "2026-11") == 0
    text = capsys.readouterr().out
    assert "usage month 2026-11 (2026-11-15 to 2026-12-15" in text
    assert "in EUR" in text and "0.0925" in text
    assert "Against 2026-10 (1 messages, 0.0625 EUR): +3 messages (+300.0 %)" in text
    assert "Budget: 0.0925 of 0.1 EUR (92 %) — over 80 %." in text
    cli_env.delenv("TTYDESK_RATE_CARD")
    assert await asyncio.to_thread(main, "admin", "usage", "--month", "2026-10") == 0
    text = capsys.readouterr().out
    assert "No rate card (setting rate_card): counts only." in text and "EUR" not in text
    assert await asyncio.to_thread(main, "admin", "usage", "--month", "2026-1") == 1
    assert "YYYY-MM" in capsys.readouterr().err


def test_a_broken_rate_card_stops_the_cli_in_one_line(tmp_path, monkeypatch, capsys):
    card = tmp_path / "card.toml"
    card.write_text('currency = "EUR"\n[markets.SPAIN]\nmarketing = 1\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TTYDESK_CONFIG_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TTYDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TTYDESK_RATE_CARD", str(card))
    assert cli.main(["admin", "usage", "--month", "2026-11"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "rate_card" in err and "markets.SPAIN" in err


async def test_a_message_is_counted_once_as_its_statuses_price_it(backend, meta, admin, clock):
    response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
    assert response.status_code == 200
    wamid = "wamid.twice"

    def insert(tx):
        thread = tx.one("SELECT id FROM threads ORDER BY id LIMIT 1")["id"]
        return conv.insert_message(
            tx, thread_id=thread, direction="out", kind="text", text="hi", wamid=wamid
        )

    await backend.store.write(insert)

    async def month() -> dict[str, Any]:
        response = await admin.get("/api/v1/usage/month", params={"month": "2026-11"})
        assert response.status_code == 200, response.text
        return {line["category"]: line["messages"] for line in response.json()["lines"]}

    sent = p.status(wamid, "sent", at=clock.now())
    sent.pop("pricing", None)
    await signed_post(meta, p.statuses_envelope(sent))
    assert await month() == {"unknown": 1}
    delivered = p.status(wamid, "delivered", at=clock.now())
    delivered["pricing"] = PMP | {"category": "service", "billable": True}
    await signed_post(meta, p.statuses_envelope(delivered))
    assert await month() == {"service": 1}
    read = p.status(wamid, "read", at=clock.now())
    read["pricing"] = PMP | {"category": "service", "billable": True}
    await signed_post(meta, p.statuses_envelope(read))  # the same again: counted once
    assert await month() == {"service": 1}


async def test_a_message_counts_in_the_month_it_was_sent_though_priced_after_the_reset(
    backend, meta, admin, clock
):
    response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
    assert response.status_code == 200
    clock.set(at("2026-11-14T23:59:59"))  # the last second of the month before the reset
    wamid = "wamid.late"

    def insert(tx):
        thread = tx.one("SELECT id FROM threads ORDER BY id LIMIT 1")["id"]
        return conv.insert_message(
            tx, thread_id=thread, direction="out", kind="text", text="hi", wamid=wamid
        )

    await backend.store.write(insert)
    clock.set(at("2026-11-15T00:00:01"))  # its status comes after the reset
    sent = p.status(wamid, "sent", at=clock.now())
    sent["pricing"] = PMP | {"category": "service", "billable": True}
    await signed_post(meta, p.statuses_envelope(sent))

    async def messages(month: str) -> int:
        response = await admin.get("/api/v1/usage/month", params={"month": month})
        assert response.status_code == 200, response.text
        return response.json()["total"]["messages"]

    assert (await messages("2026-10"), await messages("2026-11")) == (1, 0)


async def test_every_category_a_new_one_and_a_missing_block_are_counted_in_the_month(
    backend, meta, admin, clock
):
    response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
    assert response.status_code == 200
    categories = ["service", "utility", "marketing", "authentication", "marketing_lite"]
    for second, category in enumerate(categories):
        await send_at(backend, meta, clock, f"2026-11-20T12:00:0{second}", category, True)
    await send_at(backend, meta, clock, "2026-11-20T12:00:09", "UNSAID", True)
    unsaid = p.status("wamid.2026-11-20T12:00:09.UNSAID", "delivered", at=clock.now())
    unsaid.pop("pricing", None)  # a later status without a block changes nothing
    await signed_post(meta, p.statuses_envelope(unsaid))

    def insert(tx):
        thread = tx.one("SELECT id FROM threads ORDER BY id LIMIT 1")["id"]
        return conv.insert_message(
            tx, thread_id=thread, direction="out", kind="text", text="hi", wamid="wamid.none"
        )

    await backend.store.write(insert)
    bare = p.status("wamid.none", "sent", at=clock.now())
    bare.pop("pricing", None)
    await signed_post(meta, p.statuses_envelope(bare))
    view = (await admin.get("/api/v1/usage/month", params={"month": "2026-11"})).json()
    lines = {line["category"]: line for line in view["lines"]}
    assert {c: line["messages"] for c, line in lines.items()} == {
        "authentication": 1,
        "marketing": 1,
        "marketing_lite": 1,
        "service": 1,
        "unknown": 1,  # the status without a pricing block
        "unsaid": 1,  # kept as Meta gave it, lower-cased
        "utility": 1,
    }
    # by hand: service 0.02 (ES) + utility 0.01 ("*") + marketing 0.0625 (ES); the card has
    # no price for authentication, marketing_lite or unsaid: counted unpriced, never guessed
    assert view["total"]["estimate"] == "0.0925"
    assert (view["total"]["charged"], view["total"]["unpriced"]) == (6, 3)
    assert (lines["unknown"]["unknown"], lines["unknown"]["charged"]) == (1, 0)


async def month_lines(admin) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    response = await admin.get("/api/v1/usage/month", params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    view = response.json()
    return view, {line["category"]: line for line in view["lines"]}


async def test_a_repriced_message_moves_to_its_new_price_in_the_market_first_priced(
    backend, meta, admin, clock
):
    """A later status that prices a message otherwise takes it out of its first category
    (its own billable count, one message) into the new one, in the market it was first
    priced in, though the customer's country changed since."""
    response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
    assert response.status_code == 200
    await send_at(backend, meta, clock, "2026-11-20T12:00:00", "service", True)
    await send_at(backend, meta, clock, "2026-11-20T12:00:01", "service", True)
    await backend.store.write(lambda tx: tx.execute("UPDATE contacts SET country = 'FR'"))
    delivered = p.status("wamid.2026-11-20T12:00:00.service", "delivered", at=clock.now())
    delivered["pricing"] = PMP | {"category": "marketing", "billable": True}
    response = await signed_post(meta, p.statuses_envelope(delivered))
    assert response.status_code == 200, response.text
    view, lines = await month_lines(admin)
    counts = {category: (line["messages"], line["billable"]) for category, line in lines.items()}
    assert counts == {"marketing": (1, 1), "service": (1, 1)}
    assert view["total"]["estimate"] == "0.0825"  # Spain's prices: 0.0625 + 0.02


class TestWithAFreeServiceMessage:
    @pytest.fixture
    def backend_overrides(self, rate_card) -> dict[str, Any]:
        return {
            "subscription_start": SUBSCRIBED,
            "rate_card": rate_card,
            "free_service_messages_per_month": 1,
        }

    async def test_the_allowance_goes_first_to_a_market_not_known_on_a_tie(
        self, backend, meta, admin, clock
    ):
        """The free service message covers the busiest market first, ties by market code,
        where a customer whose country is not known comes first: Spain's is charged."""
        response = await signed_post(meta, p.messages_envelope(p.text("help", at=clock.now())))
        assert response.status_code == 200
        await send_at(backend, meta, clock, "2026-11-20T12:00:00", "service", True, country=None)
        await send_at(backend, meta, clock, "2026-11-20T12:00:01", "service", True)
        view, lines = await month_lines(admin)
        service = lines["service"]
        assert (service["messages"], service["in_allowance"], service["charged"]) == (2, 1, 1)
        assert (service["unpriced"], service["estimate"]) == (0, "0.02")  # at Spain's price
