"""Webhook delivery: retries, batching, drops and status chaos."""

from __future__ import annotations

from backend.simulator.config import Faults, WebhookDeliveryConfig
from backend.simulator.webhooks import WebhookEvent, build_payload

from .conftest import PHONE_ID, StartSimulator, WebhookReceiver

CUSTOMER = "34612345678"


async def test_retries_until_the_backend_answers_200(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator()
    receiver.answer_with = [500, 503]
    result = await running.customer_writes(CUSTOMER, {"type": "text", "text": "retry me"})
    await running.sim.wait_idle()
    assert receiver.attempts == 3
    assert [m["id"] for m in receiver.messages()] == [result["wamid"]]
    status, deliveries = await running.control("GET", "/deliveries")
    (delivery,) = deliveries["items"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    assert delivery["last_status"] == 200


async def test_gives_up_after_max_attempts(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator(
        webhooks=WebhookDeliveryConfig(
            concurrency=1, max_attempts=2, retry_base_delay_s=0.01, retry_max_delay_s=0.01
        )
    )
    receiver.answer_with = [500, 500, 500]
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "lost"})
    await running.sim.wait_idle()
    _, deliveries = await running.control("GET", "/deliveries?state=abandoned")
    (delivery,) = deliveries["items"]
    assert delivery["attempts"] == 2 and delivery["last_status"] == 500


async def test_unreachable_backend_is_recorded(start_simulator: StartSimulator) -> None:
    running = await start_simulator(
        webhook_url="http://127.0.0.1:9/webhooks/whatsapp",
        webhooks=WebhookDeliveryConfig(concurrency=1, max_attempts=2, retry_base_delay_s=0.01),
    )
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "nobody home"})
    await running.sim.wait_idle()
    delivery = running.sim.webhooks.deliveries[-1]
    assert delivery.state == "abandoned" and delivery.last_error


async def test_no_webhook_url_keeps_deliveries_recorded(start_simulator: StartSimulator) -> None:
    running = await start_simulator(webhook_url=None)
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    await running.sim.wait_idle()
    assert running.sim.webhooks.deliveries[-1].state == "no_target"
    status, body = await running.control("POST", "/webhook", json={"url": "http://x/y"})
    assert body == {"url": "http://x/y"}


async def test_batching_merges_messages_and_statuses(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator()
    status, faults = await running.control("POST", "/faults", json={"batch_webhooks": True})
    assert faults["batch_webhooks"] is True
    for i in range(3):
        await running.customer_writes(f"3460000000{i}", {"type": "text", "text": f"m{i}"})
    await running.sim.wait_idle()
    assert len(receiver.payloads) == 1
    (value,) = receiver.values()
    assert [m["text"]["body"] for m in value["messages"]] == ["m0", "m1", "m2"]
    assert len(value["contacts"]) == 3


def test_build_payload_groups_by_waba_and_phone_number() -> None:
    def value(phone_id: str, **lists: list) -> dict:
        metadata = {"display_phone_number": "1", "phone_number_id": phone_id}
        return {"messaging_product": "whatsapp", "metadata": metadata} | lists

    payload = build_payload(
        [
            WebhookEvent("W1", "messages", value("P1", messages=[{"id": "a"}])),
            WebhookEvent("W1", "messages", value("P1", statuses=[{"id": "b"}])),
            WebhookEvent("W1", "messages", value("P2", messages=[{"id": "c"}])),
            WebhookEvent("W2", "account_update", {"event": "X"}),
        ]
    )
    first, second = payload["entry"]
    assert first["id"] == "W1" and len(first["changes"]) == 2
    merged = first["changes"][0]["value"]
    assert merged["messages"] == [{"id": "a"}] and merged["statuses"] == [{"id": "b"}]
    assert second["changes"] == [{"value": {"event": "X"}, "field": "account_update"}]


async def test_dropped_deliveries(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator(faults=Faults(drop_webhook_rate=1.0))
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "dropped"})
    await running.sim.wait_idle()
    assert receiver.payloads == []
    assert running.sim.webhooks.deliveries[-1].state == "dropped"


async def test_duplicated_and_out_of_order_statuses(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator(
        faults=Faults(status_duplicate_rate=1.0, status_out_of_order_rate=1.0)
    )
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    _, body = await running.send({"to": CUSTOMER, "text": {"body": "hello"}})
    await running.sim.wait_idle()
    sequence = [s["status"] for s in receiver.statuses(body["messages"][0]["id"])]
    assert sequence == ["sent", "sent", "read", "read", "delivered", "delivered"]
    # pricing rides on the first of delivered/read to arrive
    read = receiver.statuses(body["messages"][0]["id"])[2]
    assert "pricing" in read


async def test_template_status_update_and_raw_events(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator()
    status, template = await running.control(
        "POST",
        "/templates",
        json={"name": "spring_sale", "status": "APPROVED", "notify": True},
    )
    assert status == 200 and template["status"] == "APPROVED"
    await running.control(
        "POST",
        "/events",
        json={"field": "phone_number_quality_update", "value": {"event": "FLAGGED"}},
    )
    await running.sim.wait_idle()
    (update,) = receiver.values("message_template_status_update")
    assert update == {
        "event": "APPROVED",
        "message_template_id": int(template["id"]),
        "message_template_name": "spring_sale",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "MARKETING",
    }
    assert receiver.values("phone_number_quality_update") == [{"event": "FLAGGED"}]
    # Now sendable.
    _, sent = await running.send(
        {
            "to": CUSTOMER,
            "type": "template",
            "template": {"name": "spring_sale", "language": {"code": "en_US"}},
        },
        phone_id=PHONE_ID,
    )
    assert sent["messages"][0]["message_status"] == "accepted"


async def test_status_delays_are_respected(
    start_simulator: StartSimulator, receiver: WebhookReceiver
) -> None:
    running = await start_simulator(status_timing={"sent": 0.0, "delivered": 0.15, "read": 0.0})
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    _, body = await running.send({"to": CUSTOMER, "text": {"body": "hello"}})
    wamid = body["messages"][0]["id"]
    await receiver.wait_for(lambda: len(receiver.statuses(wamid)) == 1)
    assert [s["status"] for s in receiver.statuses(wamid)] == ["sent"]
    await receiver.wait_for(lambda: len(receiver.statuses(wamid)) == 3)
