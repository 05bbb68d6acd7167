"""The outbox's retry rules (WHATSAPP.md "Retry only what cannot have been sent"): what a
proxy's 502 and an unknown 429 do, a send cut off by a restart, the back-off and its cut-off.

A 502 from a proxy in front of Meta may have come after Meta took the message: it is
ambiguous, so it waits for a status and is failed, never resent. A 429 is a rate limit
(nothing was sent), whatever its code: retried after the back-off.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.domain.clock import FixedClock
from backend.whatsapp import outbound_service
from backend.whatsapp.graph import GraphClient
from backend.whatsapp.outbox import AMBIGUOUS_REASON, OutboxWorker
from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER, WhatsAppEnv, start_env, stop_env

wa = fx.wa  # fixtures
short_ambiguous_wait = fx.short_ambiguous_wait
proxied = fx.proxied

SENT = ("sent", "delivered", "read")
PROXY_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


async def test_a_proxys_502_with_an_html_body_is_ambiguous_failed_and_never_resent(proxied, caplog):
    env, proxy = proxied
    caplog.set_level(logging.WARNING, logger="backend.whatsapp.outbox")
    thread = await env.customer_writes()
    proxy.script.append((502, "text/html", PROXY_502))
    message = (await env.send(thread["id"], {"kind": "text", "text": "once at most"})).json()
    failed = await env.wait_message(message["id"], lambda m: m.status == "failed")
    assert failed.error_message == AMBIGUOUS_REASON
    assert proxy.sends == 1
    assert await env.sent(CUSTOMER) == []
    assert await env.backend.store.outbox_state(message["id"]) == "done"
    proxys_answer = "Graph API error None (HTTP 502): HTTP 502 without a Graph API error body"
    row = await env.backend.store.readers.one(
        "SELECT last_error FROM outbox WHERE message_id = ?", (message["id"],)
    )
    assert row["last_error"] == proxys_answer  # why it waited
    # the operator's log says what happened to which message, in that order
    assert logged(caplog, message["id"]) == [
        f"message {message['id']}: {proxys_answer}; waiting for its status",
        f"message {message['id']}: no status after an ambiguous send; failed, not resent",
    ]


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "application/json",
            json.dumps({"error": {"message": "(#99999) Unknown", "type": "X", "code": 99999}}),
        ),
        ("text/html", "<html><body>429 Too Many Requests</body></html>"),
    ],
    ids=["unknown-code", "html"],
)
async def test_a_429_with_an_unknown_code_is_retried_after_the_back_off_and_sent_once(
    proxied, content_type, body
):
    env, proxy = proxied
    thread = await env.customer_writes()
    proxy.script.append((429, content_type, body))
    message = (await env.send(thread["id"], {"kind": "text", "text": "rate limited"})).json()
    sent = await env.wait_message(message["id"], lambda m: m.status in SENT)
    assert proxy.sends == 2
    items = await env.sent(CUSTOMER)
    assert len(items) == 1 and items[0]["wamid"] == sent.wamid


async def test_a_send_cut_off_by_a_restart_with_no_status_ever_fails_and_is_never_resent(
    tmp_path, monkeypatch, short_ambiguous_wait, caplog
):
    monkeypatch.setattr(outbound_service, "STOP_GRACE", 0.1)
    env = await start_env(tmp_path / "data")
    try:
        await env.connect_channel()
        thread = await env.customer_writes()
        await env.faults(timeout_hang_s=5.0, fail_next=[{"kind": "timeout"}], drop_webhook_rate=1.0)
        message = (await env.send(thread["id"], {"kind": "text", "text": "on the wire"})).json()
        await env.until(env.sent)  # Meta took it; its answer hangs
        await env.backend.stop()  # cut off: the row stays in_flight
        assert await _outbox_state(env, message["id"]) == "in_flight"
        caplog.set_level(logging.WARNING, logger="backend.whatsapp.outbox")
        await env.backend.start()
        assert (
            "1 message(s) were being sent when the backend stopped; waiting for their "
            "statuses instead of resending"
        ) in [record.getMessage() for record in caplog.records]
        failed = await env.wait_message(message["id"], lambda m: m.status == "failed")
        assert failed.error_message == AMBIGUOUS_REASON
        assert len(await env.sent(CUSTOMER)) == 1
        assert await env.backend.store.outbox_state(message["id"]) == "done"
    finally:
        await stop_env(env)


def logged(caplog: pytest.LogCaptureFixture, message_id: int) -> list[str]:
    """The outbox's log lines about one message."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "backend.whatsapp.outbox"
        and record.getMessage().startswith(f"message {message_id}: ")
    ]


async def _outbox_state(env: WhatsAppEnv, message_id: int) -> str:
    from backend.store.engine import connect_sqlite

    conn = connect_sqlite(env.backend.settings.database_path)
    try:
        return conn.execute(
            "SELECT state FROM outbox WHERE message_id = ?", (message_id,)
        ).fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("jitter", ["least", "most"])
async def test_the_back_off_doubles_up_to_its_cap_and_gives_up_after_max_attempts(
    wa, monkeypatch, caplog, jitter
):
    """Driven by hand with a fixed clock: the delay each retry is scheduled at is read off
    the outbox row, so no test time passes. The jitter (±20 %) is drawn at its least and at
    its most, so each delay is known exactly."""
    from backend.whatsapp import outbox

    drawn: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return low if jitter == "least" else high

    monkeypatch.setattr(outbox.random, "uniform", uniform)
    caplog.set_level(logging.INFO, logger="backend.whatsapp.outbox")
    await wa.outbox.stop()  # this test's worker does the sending
    clock = FixedClock(datetime.now(UTC))
    graph = GraphClient(wa.sim_url, wa.backend.settings.whatsapp_api_version, timeout=5.0)
    worker = OutboxWorker(
        wa.backend.store,
        graph,
        media_dir=wa.backend.settings.media_dir,
        clock=clock,
        max_attempts=4,
        base_delay=1.0,
        max_delay=2.5,
    )
    try:
        thread = await wa.customer_writes()
        await wa.faults(fail_next=[{"kind": "rate_limit"}] * 4)
        message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]

        async def settled() -> Any:
            row = await wa.backend.store.readers.one(
                "SELECT state, attempts, next_attempt FROM outbox WHERE message_id = ?",
                (message_id,),
            )
            return row if row["state"] != "in_flight" else None

        delays = []
        for attempt in range(1, 5):
            await worker.run_once()
            row = await wa.until(settled)
            assert row["attempts"] == attempt
            if row["state"] == "pending":
                due = datetime.fromisoformat(row["next_attempt"])
                delays.append((due - clock.now()).total_seconds())
                clock.set(due)
        assert row["state"] == "done" and len(delays) == 3
        # 1, 2, 4 s capped at 2.5, each ±20 % jitter
        factor = 0.8 if jitter == "least" else 1.2
        assert delays == pytest.approx([1.0 * factor, 2.0 * factor, 2.5 * factor])
        assert drawn == [(0.8, 1.2)] * 3
        assert logged(caplog, message_id)[:3] == [
            f"message {message_id}: Graph API error 130429 (HTTP 429): Scripted failure; "
            f"retrying in {delay:.1f} s"
            for delay in delays
        ]
        failed = await wa.message(message_id)
        assert failed.status == "failed" and failed.error_code == 130429
        # its sentence promised a retry: that part gives way to what happened
        assert failed.error_message == (
            "WhatsApp's throughput limit was reached; gave up after 4 attempts."
        )
        assert await wa.sent(CUSTOMER) == []
    finally:
        await graph.close()


async def test_giving_up_on_a_refusal_that_promised_no_retry_keeps_metas_words(wa):
    """Only a sentence that says "it will be retried" is rewritten when the outbox gives up;
    an unknown code's sentence (Meta's details, semicolon and all) stays as it was."""
    wa.outbox.max_attempts, wa.outbox.base_delay = 2, 0.05
    thread = await wa.customer_writes()
    refusal = {"kind": "error", "code": 99999, "http_status": 429, "details": "Slow down; later"}
    await wa.faults(fail_next=[refusal] * 2)
    message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    failed = await wa.wait_message(message_id, lambda m: m.status == "failed")
    assert failed.error_code == 99999
    assert failed.error_message == "WhatsApp error 99999: Slow down; later"
    assert await wa.sent(CUSTOMER) == []


async def test_a_late_failure_never_overwrites_what_a_status_already_said(wa):
    """The worker's failure can come after a status (the last attempt's answer, an ambiguous
    wait over): a message a status called sent, delivered, read or failed keeps that, and its
    first reason; one still waiting fails, and its ticket says so."""
    thread = await wa.customer_writes()
    await wa.faults(drop_webhook_rate=1.0)  # no status webhooks: the test sets each state
    message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    await wa.wait_message(message_id, lambda m: m.status == "sent")
    # settled by the send's answer alone: no status is needed to free the thread's queue
    assert await wa.backend.store.outbox_state(message_id) == "done"

    async def set_state(status: str, code: int | None) -> None:
        await wa.backend.store.write(
            lambda tx: tx.execute(
                "UPDATE messages SET status = ?, error_code = ?, error_message = ? WHERE id = ?",
                (status, code, "first reason" if code else None, message_id),
            )
        )

    async def ticket_status() -> str | None:
        return await wa.backend.store.readers.value(
            "SELECT last_delivery_status FROM tickets WHERE id = ?", (thread["ticket"]["id"],)
        )

    for status, code in (("sent", None), ("delivered", None), ("read", None), ("failed", 131026)):
        await set_state(status, code)
        before = await ticket_status()
        await wa.backend.store.outbox_failed(message_id, 131000, "a late failure")
        message = await wa.message(message_id)
        assert (message.status, message.error_code) == (status, code)
        assert message.error_message == ("first reason" if code else None)
        assert await ticket_status() == before
    await set_state("checking", None)
    await wa.backend.store.outbox_failed(message_id, 131000, "a late failure")
    message = await wa.message(message_id)
    assert (message.status, message.error_code) == ("failed", 131000)
    assert message.error_message == "a late failure" and message.failed_at is not None
    assert await ticket_status() == "failed"
    assert await wa.backend.store.outbox_state(message_id) == "done"


async def test_the_apps_outbox_tries_eight_times_backing_off_from_a_second_to_a_minute(wa):
    """The app's worker as built: eight attempts, 1 s doubling up to 60 s between them (about
    two minutes in all), eight sends at once, and a look at the queue every second."""
    worker = wa.outbox
    assert (worker.max_attempts, worker.base_delay, worker.max_delay) == (8, 1.0, 60.0)
    assert (worker.concurrency, worker.poll_interval) == (8, 1.0)
    assert worker.ambiguous_wait == wa.backend.settings.whatsapp_ambiguous_wait
