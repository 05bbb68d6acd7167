"""The demo's mailbox: customers who write by e-mail through the desk's real SMTP
listener (one of them also on WhatsApp), and the SMTP sink the demo starts, which catches
what the desk sends and which a customer's scripted answer replies to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from backend.demo.stack import DemoOptions, DemoStack

WAIT_SECONDS = 30.0


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[DemoStack]:
    stack = DemoStack(DemoOptions(data_dir=tmp_path / "demo", traffic=False, rate=1000.0))
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


async def caught(stack: DemoStack, address: str, count: int = 1) -> list[EmailMessage]:
    """The mails the sink caught for ``address``, once there are ``count`` of them."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            mails = [m for m in stack.mail_sink.caught if address in str(m["To"])]
            if len(mails) >= count:
                return mails
            await asyncio.sleep(0.05)


async def api_get(stack: DemoStack, path: str) -> list[dict]:
    async with stack.client("alice") as api:
        response = await api.get(path, params={"limit": 100})
        assert response.status_code == 200, response.text
        return response.json()["items"]


async def test_the_demo_seeds_email_threads_and_one_customer_on_both_channels(demo: DemoStack):
    threads = await api_get(demo, "/api/v1/threads")
    by_email = {t["contact"]["name"]: t for t in threads if t["channel_type"] == "EMAIL"}
    assert set(by_email) == {c.name for c in demo.mail_customers}
    maria = by_email["Maria Lopez"]
    assert maria["ticket"]["subject"] == "Factura del pedido A123"
    on_whatsapp = [
        t for t in threads
        if t["channel_type"] == "WHATSAPP" and t["contact"]["id"] == maria["contact"]["id"]
    ]  # fmt: skip
    assert on_whatsapp, "Maria's WhatsApp and e-mail threads belong to one contact"


async def test_the_desks_mail_reaches_the_sink_and_the_customer_answers_it(demo: DemoStack):
    address = "oliver.grant@harbourfoods.example"
    thread = next(
        t for t in await api_get(demo, "/api/v1/threads") if t["contact"]["name"] == "Oliver Grant"
    )
    [first_reply] = await caught(demo, address)  # the seeded reply, sent through the outbox
    assert f"[#{thread['ticket']['id']}]" in str(first_reply["Subject"])
    # the customer's scripted answer replies to that mail: it threads into the same ticket
    await demo.play_mail_scripts()
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            texts = [
                m["text"] for m in await api_get(demo, f"/api/v1/threads/{thread['id']}/messages")
            ]
            if any("P.S. Our purchase order" in (text or "") for text in texts):
                break
            await asyncio.sleep(0.05)
    assert "A credit note works for us, thank you. Please send it to this address." in texts
    email_threads = [
        t for t in await api_get(demo, "/api/v1/threads") if t["channel_type"] == "EMAIL"
    ]
    assert len(email_threads) == len(demo.mail_customers)
    # an agent's own reply by e-mail reaches the sink too
    async with demo.client("alice") as api:
        sent = await api.post(
            f"/api/v1/threads/{thread['id']}/messages",
            json={"kind": "text", "text": "The credit note is on its way."},
        )
        assert sent.status_code == 202, sent.text
    mails = await caught(demo, address, count=2)
    body = mails[-1].get_body(preferencelist=("plain",))
    assert body is not None and "The credit note is on its way." in body.get_content()
    assert str(mails[-1]["In-Reply-To"]).startswith("<")
