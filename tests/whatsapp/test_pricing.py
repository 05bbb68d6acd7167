"""What each of our messages is billed as: the `pricing` block of its statuses is kept on
the message (leniently) and shown on the wire Message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW
from tests.whatsapp.test_statuses import message, outbound, statuses

AT = NOW - timedelta(minutes=5)
wa = fx.wa  # the fixture


def status(wamid: str, state: str, pricing: dict[str, Any] | None, *, at=AT) -> dict[str, Any]:
    data = p.status(wamid, state, at=at)
    data.pop("pricing", None)
    if pricing is not None:
        data["pricing"] = pricing
    return data


async def wire_pricing(backend, client, message_id: int) -> dict[str, Any] | None:
    """The message's pricing as the API shows it."""
    row = await backend.store.readers.one(
        "SELECT thread_id FROM messages WHERE id = ?", (message_id,)
    )
    response = await client.get(f"/api/v1/threads/{row['thread_id']}/messages")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return next(item for item in items if item["id"] == message_id).get("pricing")


async def stored_pricing(backend, message_id: int) -> dict[str, Any]:
    row = await message(backend, message_id)  # checks the message exists
    assert row is not None
    found = await backend.store.readers.one(
        "SELECT pricing_category, pricing_billable, pricing_model, pricing_type "
        "FROM messages WHERE id = ?",
        (message_id,),
    )
    return dict(found)


# ------------------------------------------------------------------ through the real simulator


async def test_every_category_the_simulator_bills_is_kept_on_the_message(wa):
    thread = await wa.customer_writes()
    sends = {
        "service": {"kind": "text", "text": "on it"},
        "utility": {"kind": "template", "name": "hello_world", "language": "en_US"},
        "marketing": {
            "kind": "template",
            "name": "follow_up",
            "language": "en_US",
            "variables": {"1": "Ana"},
        },
        "authentication": {
            "kind": "template",
            "name": "login_code",
            "language": "en_US",
            "variables": {"1": "123456"},
        },
    }
    for category, body in sends.items():
        response = await wa.send(thread["id"], body)
        assert response.status_code == 202, response.text
        sent = await wa.wait_message(response.json()["id"], lambda m: m.pricing is not None)
        assert sent.pricing is not None
        # since 2026-10-01 every category is billed, in the window too (WHATSAPP.md)
        assert (sent.pricing.category, sent.pricing.billable) == (category, True), category
        assert (sent.pricing.pricing_model, sent.pricing.type) == ("PMP", "regular")
        items = (await wa.agent.get(f"/api/v1/threads/{thread['id']}/messages")).json()["items"]
        shown = next(item for item in items if item["id"] == sent.id)
        assert shown["pricing"] == {
            "category": category,
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
        }


# ------------------------------------------------------------------ webhooks as Meta sends them


async def test_pricing_of_every_category_and_an_unknown_one_is_kept_as_given(backend, meta, agent):
    cases = {
        "service": ("service", 1),
        "UTILITY": ("utility", 1),
        "marketing": ("marketing", 1),
        "authentication": ("authentication", 1),
        "marketing_lite": ("marketing_lite", 1),  # a category Meta adds later
        "authentication-international": ("authentication-international", 1),
    }
    for n, (given, (kept, billable)) in enumerate(cases.items()):
        wamid = f"wamid.cat{n}"
        mid = await outbound(backend, meta, wamid=wamid)
        block = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": given}
        await statuses(meta, status(wamid, "sent", block))
        assert await stored_pricing(backend, mid) == {
            "pricing_category": kept,
            "pricing_billable": billable,
            "pricing_model": "PMP",
            "pricing_type": "regular",
        }
        assert (await wire_pricing(backend, agent, mid)) == {
            "category": kept,
            "billable": True,
            "pricing_model": "PMP",
            "type": "regular",
        }


async def test_a_status_without_pricing_is_unknown_and_never_hides_real_pricing(
    backend, meta, agent
):
    mid = await outbound(backend, meta, wamid="wamid.np")
    assert await wire_pricing(backend, agent, mid) is None  # no status yet
    await statuses(meta, status("wamid.np", "sent", None))
    assert await wire_pricing(backend, agent, mid) == {
        "category": "unknown",
        "billable": None,
        "pricing_model": None,
        "type": None,
    }
    free = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service"}
    await statuses(meta, status("wamid.np", "delivered", free | {"category": "service"}))
    assert (await wire_pricing(backend, agent, mid))["category"] == "service"
    await statuses(meta, status("wamid.np", "read", None, at=AT + timedelta(seconds=2)))
    assert await wire_pricing(backend, agent, mid) == {
        "category": "service",
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
    }


async def test_unreadable_pricing_blocks_are_unknown_and_the_webhook_is_still_200(
    backend, meta, agent
):
    shapes: list[Any] = [
        "PMP",
        [],
        {"billable": "yes", "category": 7},
        {"category": "", "billable": "false"},
    ]
    for n, block in enumerate(shapes):
        wamid = f"wamid.odd{n}"
        mid = await outbound(backend, meta, wamid=wamid)
        data = status(wamid, "sent", None)
        data["pricing"] = block
        await statuses(meta, data)
        got = await wire_pricing(backend, agent, mid)
        assert got is not None and got["category"] in ("unknown", "7"), (block, got)
    last = await wire_pricing(backend, agent, mid)
    assert last == {"category": "unknown", "billable": False, "pricing_model": None, "type": None}


async def test_a_failed_status_says_nothing_about_billing(backend, meta, agent):
    mid = await outbound(backend, meta, wamid="wamid.failed")
    failed = status("wamid.failed", "failed", None)
    failed["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    await statuses(meta, failed)
    assert (await message(backend, mid))["status"] == "failed"
    assert await wire_pricing(backend, agent, mid) is None


async def test_a_ticket_counts_its_billable_messages_as_they_are_priced_and_repriced(
    backend, meta, agent
):
    """The ticket's ``billable_messages``: one for a message first priced billable, one off
    when a later status says it is free, one again when it is billable once more; a status
    that keeps the price, or says none, changes nothing."""
    mid = await outbound(backend, meta, wamid="wamid.billed")
    row = await backend.store.readers.one("SELECT thread_id FROM messages WHERE id = ?", (mid,))

    async def billable_messages() -> int:
        response = await agent.get(f"/api/v1/threads/{row['thread_id']}")
        assert response.status_code == 200, response.text
        return response.json()["ticket"]["billable_messages"]

    billed = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "service"}
    free = billed | {"billable": False, "type": "free_customer_service"}
    assert await billable_messages() == 0
    steps = [("sent", billed, 1), ("delivered", free, 0), ("read", billed, 1)]
    for n, (state, block, expected) in enumerate(steps):
        await statuses(meta, status("wamid.billed", state, block, at=AT + timedelta(seconds=n)))
        assert await billable_messages() == expected, state
    await statuses(meta, status("wamid.billed", "read", billed, at=AT + timedelta(seconds=5)))
    await statuses(meta, status("wamid.billed", "read", None, at=AT + timedelta(seconds=6)))
    assert await billable_messages() == 1


async def test_pricing_of_a_status_that_came_before_the_send_answer_is_kept(backend, meta, agent):
    mid = await outbound(backend, meta, wamid=None, status="sending")
    block = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    await statuses(meta, status("wamid.early", "sent", block))

    def answer(tx):
        from backend.store.statuses import apply_early_statuses

        tx.execute("UPDATE messages SET wamid = 'wamid.early' WHERE id = ?", (mid,))
        return apply_early_statuses(tx, mid, "wamid.early")

    await backend.store.write(answer)
    assert (await wire_pricing(backend, agent, mid))["category"] == "utility"
