"""Views by channel: with e-mail beside WhatsApp, "channel is EMAIL" and "original channel
type" mean something; a mailbox is picked by its address, as a business number is."""

from __future__ import annotations

from backend.store import EmailRecord
from tests.backend.seed import seed_thread

SUPPORT = "support@acme.test"


async def test_views_filter_threads_by_channel_and_by_mailbox(live_backend):
    store = live_backend.store
    whatsapp = await seed_thread(store, name="Ann Lee", phone="+34611111111", text="Hola")
    await store.add_mailbox(SUPPORT, "Acme Support")
    await store.add_mailbox("billing@acme.test", "Acme Billing")
    mailed = await store.ingest_email(
        EmailRecord(message_id="<v1@example.com>", mailbox=SUPPORT, sender="ann@example.com",
                    subject="Order", text="Where is it?")
    )  # fmt: skip
    billed = await store.ingest_email(
        EmailRecord(message_id="<v2@example.com>", mailbox="billing@acme.test",
                    sender="ann@example.com", subject="Invoice", text="Wrong amount")
    )  # fmt: skip
    cases = [
        ("channel_type", "is_any_of", ["EMAIL"], {mailed.thread_id, billed.thread_id}),
        ("channel_type", "is_none_of", ["EMAIL"], {whatsapp.id}),
        ("original_channel_type", "is_any_of", ["WHATSAPP"], {whatsapp.id}),
        ("business_number", "is_any_of", ["billing@acme.test"], {billed.thread_id}),
    ]
    async with live_backend.client(live_backend.agent_token) as client:
        for prop, operator, values, expected in cases:
            filters = [{"property": prop, "operator": operator, "values": values}]
            made = await client.post("/api/v1/views", json={"name": "v", "filters": filters})
            assert made.status_code == 201, made.text
            page = await client.get("/api/v1/threads", params={"view": made.json()["id"]})
            assert {t["id"] for t in page.json()["items"]} == expected, (prop, values)
        bad = [{"property": "channel_type", "operator": "is_any_of", "values": ["SMS"]}]
        refused = await client.post("/api/v1/views", json={"name": "x", "filters": bad})
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "filters[0].values[0]"
