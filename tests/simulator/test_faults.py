"""Injected faults: token expiry, 5xx, rate limits, latency, hanging calls, scripted failures."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from .conftest import ACCESS_TOKEN, PHONE_ID, WABA_ID, RunningSimulator, WebhookReceiver

CUSTOMER = "34612345678"


async def test_bad_or_missing_token_is_190(running: RunningSimulator) -> None:
    for token in ("wrong", None):
        status, body = await running.graph("GET", f"/{WABA_ID}", token=token)
        assert status == 401
        assert body["error"]["code"] == 190 and body["error"]["type"] == "OAuthException"
        assert "fbtrace_id" in body["error"]
    # Meta also takes the token as a query parameter.
    async with running.client.get(f"/v26.0/{WABA_ID}?access_token={ACCESS_TOKEN}") as response:
        assert response.status == 200


async def test_token_expired_fault_answers_190_on_every_call(running: RunningSimulator) -> None:
    status, faults = await running.control("POST", "/faults", json={"token_expired": True})
    assert faults["token_expired"] is True
    for method, path in (("GET", f"/{WABA_ID}"), ("GET", f"/{WABA_ID}/message_templates")):
        status, body = await running.graph(method, path)
        assert status == 401
        assert body["error"]["code"] == 190 and body["error"]["error_subcode"] == 463
    status, body = await running.send({"to": CUSTOMER, "text": {"body": "x"}})
    assert status == 401 and body["error"]["code"] == 190
    # The control API keeps working.
    status, _ = await running.control("POST", "/faults", json={"token_expired": False})
    assert status == 200
    status, _ = await running.graph("GET", f"/{WABA_ID}")
    assert status == 200


async def test_5xx_and_rate_limit_do_not_send(running: RunningSimulator) -> None:
    await running.control("POST", "/faults", json={"error_rate_5xx": 1.0})
    status, body = await running.send({"to": CUSTOMER, "text": {"body": "x"}})
    assert status == 500 and body["error"]["code"] == 131000
    await running.control("POST", "/faults", json={"error_rate_5xx": 0, "rate_limit_rate": 1.0})
    status, body = await running.send({"to": CUSTOMER, "text": {"body": "x"}})
    assert status == 429 and body["error"]["code"] == 130429
    _, sent = await running.control("GET", "/sent")
    assert sent["items"] == []


async def test_latency(running: RunningSimulator) -> None:
    await running.control("POST", "/faults", json={"latency_ms": 150})
    started = time.monotonic()
    status, _ = await running.graph("GET", f"/{WABA_ID}")
    assert status == 200 and time.monotonic() - started >= 0.14


async def test_timeout_fault_accepts_the_send_then_hangs(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    await running.control("POST", "/faults", json={"timeout_rate": 1.0, "timeout_hang_s": 1.0})
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "text": {"body": "did it go?"},
        "biz_opaque_callback_data": "ttydesk:7",
    }
    try:
        async with running.client.post(
            f"/v26.0/{PHONE_ID}/messages",
            json=body,
            headers={"Authorization": f"Bearer {ACCESS_TOKEN}"},
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            raise AssertionError("expected a timeout")
    except TimeoutError:
        pass
    # The message went out anyway: its statuses carry our callback data.
    await receiver.wait_for(lambda: len(receiver.statuses()) >= 3)
    assert {s["biz_opaque_callback_data"] for s in receiver.statuses()} == {"ttydesk:7"}
    await asyncio.sleep(1.0)  # let the hanging handler finish before teardown


async def test_scripted_failures_are_consumed_in_order(running: RunningSimulator) -> None:
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    status, faults = await running.control(
        "POST",
        "/faults",
        json={
            "fail_next": [
                {"kind": "5xx", "code": 131016, "http_status": 503},
                {"kind": "error", "code": 131056, "details": "pair rate limit"},
                {"kind": "rate_limit"},
            ]
        },
    )
    assert len(faults["fail_next"]) == 3
    # A GET does not match the POST-to-/messages failures.
    assert (await running.graph("GET", f"/{WABA_ID}"))[0] == 200
    outcomes = []
    for _ in range(4):
        status, body = await running.send({"to": CUSTOMER, "text": {"body": "x"}})
        outcomes.append((status, body.get("error", {}).get("code")))
    assert outcomes == [(503, 131016), (400, 131056), (429, 130429), (200, None)]
    _, faults = await running.control("GET", "/faults")
    assert faults["fail_next"] == []


async def test_reset_restores_the_configured_state(running: RunningSimulator) -> None:
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    await running.control("POST", "/faults", json={"token_expired": True})
    await running.control("POST", "/clock", json={"advance_seconds": 100})
    status, _ = await running.control("POST", "/reset")
    assert status == 200
    _, state = await running.control("GET", "/state")
    assert state["customers"] == 0 and state["received"] == 0 and state["deliveries"] == 0
    assert state["clock_offset_seconds"] == 0
    _, faults = await running.control("GET", "/faults")
    assert faults["token_expired"] is False
