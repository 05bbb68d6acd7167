"""Faults on send: retried only when nothing can have been sent; never two sends of one message."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time

import pytest

from backend.whatsapp import outbound_service
from backend.whatsapp.outbox import AMBIGUOUS_REASON
from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER, start_env, stop_env

wa = fx.wa  # fixtures
short_ambiguous_wait = fx.short_ambiguous_wait

SENT = ("sent", "delivered", "read")


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    from backend.whatsapp import outbox

    original = outbox.OutboxWorker.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.base_delay = 0.05

    monkeypatch.setattr(outbox.OutboxWorker, "__init__", init)


@pytest.mark.parametrize(
    "failure",
    [
        {"kind": "5xx", "code": 131000, "http_status": 500},
        {"kind": "5xx", "code": 131016, "http_status": 503},
        {"kind": "rate_limit"},
        {"kind": "error", "code": 131056, "http_status": 400},
        {"kind": "error", "code": 80007, "http_status": 400},
    ],
)
async def test_retryable_errors_are_retried_and_sent_once(wa, failure):
    thread = await wa.customer_writes()
    await wa.faults(fail_next=[failure, failure])
    message = (await wa.send(thread["id"], {"kind": "text", "text": "retry me"})).json()
    sent = await wa.wait_message(message["id"], lambda m: m.status in SENT)
    items = await wa.sent(CUSTOMER)
    assert len(items) == 1 and items[0]["wamid"] == sent.wamid


async def test_other_errors_fail_with_plain_words(wa):
    thread = await wa.customer_writes()
    await wa.faults(fail_next=[{"kind": "error", "code": 131026, "http_status": 400}])
    message = (await wa.send(thread["id"], {"kind": "text", "text": "hello"})).json()
    failed = await wa.wait_message(message["id"], lambda m: m.status == "failed")
    assert failed.error_code == 131026
    assert "could not be delivered" in failed.error_message
    # a code with no sentence of its own keeps Meta's details
    odd = {"kind": "error", "code": 99999, "http_status": 400, "details": "Odd  request"}
    await wa.faults(fail_next=[odd])
    message = (await wa.send(thread["id"], {"kind": "text", "text": "again"})).json()
    failed = await wa.wait_message(message["id"], lambda m: m.status == "failed")
    assert (failed.error_code, failed.error_message) == (99999, "WhatsApp error 99999: Odd request")
    assert await wa.sent(CUSTOMER) == []


async def test_timeout_is_resolved_by_the_status_with_opaque_data(tmp_path, short_ambiguous_wait):
    env = await start_env(tmp_path / "data", backend_overrides={"whatsapp_send_timeout": 0.5})
    try:
        await env.connect_channel()
        thread = await env.customer_writes()
        await env.faults(timeout_hang_s=2.0, fail_next=[{"kind": "timeout"}])
        queued_at = time.monotonic()
        message = (await env.send(thread["id"], {"kind": "text", "text": "ambiguous"})).json()
        resolved = await env.wait_message(message["id"], lambda m: m.wamid is not None, timeout=5)
        assert resolved.status in SENT
        await _outbox_ran_past_the_ambiguous_wait(env, thread["id"], queued_at)
        items = await env.sent(CUSTOMER)
        assert [item["wamid"] for item in items].count(resolved.wamid) == 1 and len(items) == 2
        assert (await env.message(message["id"])).status in SENT
        assert await env.backend.store.outbox_state(message["id"]) == "done"
    finally:
        await stop_env(env)


async def _sent_into_silence(env, text: str) -> tuple[dict, dict]:  # noqa: ANN001
    """A customer's thread and a reply whose send Graph takes and never answers, its
    webhooks dropped: the send is taken for ambiguous."""
    await env.connect_channel()
    thread = await env.customer_writes()
    await env.faults(timeout_hang_s=2.0, fail_next=[{"kind": "timeout"}], drop_webhook_rate=1.0)
    message = (await env.send(thread["id"], {"kind": "text", "text": text})).json()
    return thread, message


async def _ticket_delivery(env, thread: dict) -> str | None:  # noqa: ANN001
    """The thread's ticket's ``last_delivery_status`` as the API gives it."""
    response = await env.agent.get(f"/api/v1/threads/{thread['id']}")
    return response.json()["ticket"]["last_delivery_status"]


async def _status_in_the_thread(env, thread: dict, message: dict) -> str:  # noqa: ANN001
    """The message's status as the thread's messages API lists it."""
    listed = await env.agent.get(f"/api/v1/threads/{thread['id']}/messages")
    return next(m for m in listed.json()["items"] if m["id"] == message["id"])["status"]


async def test_an_ambiguous_send_shows_checking_while_it_waits_for_a_status(tmp_path, caplog):
    """Graph took the request and never answered: the message is not "queued" (it may well
    have been sent) but "checking" until a status settles it, in the API's own JSON; the
    row and the operator's log say why."""
    caplog.set_level(logging.WARNING, logger="backend.whatsapp.outbox")
    env = await start_env(tmp_path / "data", backend_overrides={"whatsapp_send_timeout": 0.5})
    try:
        thread, message = await _sent_into_silence(env, "did it go?")
        assert message["status"] == "queued"
        checking = await env.wait_message(message["id"], lambda m: m.status == "checking")
        assert checking.wamid is None and checking.failed_at is None
        assert await _status_in_the_thread(env, thread, message) == "checking"
        # the ticket's last delivery status follows its message's: not "queued" either
        assert await _ticket_delivery(env, thread) == "checking"
        assert await env.backend.store.outbox_state(message["id"]) == "ambiguous"
        why = await env.backend.store.readers.value(
            "SELECT last_error FROM outbox WHERE message_id = ?", (message["id"],)
        )
        assert why.startswith("no answer from the Graph API: ")  # and how it timed out
        assert f"message {message['id']}: {why}; waiting for its status" in [
            record.getMessage() for record in caplog.records
        ]
    finally:
        await stop_env(env)


@pytest.mark.parametrize("status", ["sending", "queued"])
async def test_a_status_below_sent_naming_an_ambiguous_send_ends_checking(tmp_path, status):
    """A status of a send taken for ambiguous settles its outbox row: WhatsApp has it, so
    the message reads "sending", not "checking" for ever (nothing would settle it later)."""
    env = await start_env(tmp_path / "data", backend_overrides={"whatsapp_send_timeout": 0.5})
    try:
        thread, message = await _sent_into_silence(env, "did it go?")
        await env.wait_message(message["id"], lambda m: m.status == "checking")
        await env.faults(drop_webhook_rate=0.0)
        opaque = f"ttydesk:{message['id']}"
        taken = next(m for m in await env.sent(CUSTOMER) if m["biz_opaque_callback_data"] == opaque)
        await env.control(
            "POST", "/statuses", json={"message_id": taken["wamid"], "status": status}
        )
        named = await env.wait_message(message["id"], lambda m: m.wamid == taken["wamid"])
        assert await env.backend.store.outbox_state(message["id"]) == "done"
        assert named.status == "sending"
        assert await _status_in_the_thread(env, thread, message) == "sending"
        assert await _ticket_delivery(env, thread) == "sending"
        await env.control(
            "POST", "/statuses", json={"message_id": taken["wamid"], "status": "sent"}
        )
        await env.wait_message(message["id"], lambda m: m.status == "sent")
        assert await _ticket_delivery(env, thread) == "sent"
    finally:
        await stop_env(env)


async def test_timeout_without_any_status_fails_and_is_never_resent(tmp_path, short_ambiguous_wait):
    env = await start_env(tmp_path / "data", backend_overrides={"whatsapp_send_timeout": 0.5})
    try:
        await env.connect_channel()
        thread = await env.customer_writes()
        await env.faults(timeout_hang_s=2.0, fail_next=[{"kind": "timeout"}], drop_webhook_rate=1.0)
        queued_at = time.monotonic()
        message = (await env.send(thread["id"], {"kind": "text", "text": "lost"})).json()
        failed = await env.wait_message(message["id"], lambda m: m.status == "failed", timeout=6)
        assert failed.error_message == AMBIGUOUS_REASON
        await _outbox_ran_past_the_ambiguous_wait(env, thread["id"], queued_at)
        items = await env.sent(CUSTOMER)
        opaque = [item["biz_opaque_callback_data"] for item in items]
        assert opaque.count(f"ttydesk:{message['id']}") == 1  # Meta took it once; never again
        assert len(items) == 2  # and the later message
    finally:
        await stop_env(env)


async def _outbox_ran_past_the_ambiguous_wait(env, thread_id: int, queued_at: float) -> None:
    """Wait until an ambiguous wait of a send queued at ``queued_at`` (``time.monotonic``)
    is surely over (its send timeout, then the wait), then until a later message of the
    thread has been sent: the outbox has run since (settling ambiguous rows first)."""
    settings = env.backend.settings
    over = queued_at + settings.whatsapp_send_timeout + settings.whatsapp_ambiguous_wait
    await env.until(lambda: _past(over))
    later = (await env.send(thread_id, {"kind": "text", "text": "a later one"})).json()
    await env.wait_message(later["id"], lambda m: m.wamid is not None)


async def _past(moment: float) -> bool:
    return time.monotonic() > moment


async def test_expired_token_marks_the_channel_unhealthy(wa):
    thread = await wa.customer_writes()
    await wa.faults(token_expired=True)
    message = (await wa.send(thread["id"], {"kind": "text", "text": "hello"})).json()
    failed = await wa.wait_message(message["id"], lambda m: m.status == "failed")
    assert failed.error_code == 190
    # the message and the channel each say why, in the agent's words
    reconnect = "The WhatsApp access token expired or was revoked: the channel needs reconnecting."
    assert failed.error_message == reconnect
    channels = (await wa.admin.get("/api/v1/channels")).json()["items"]
    assert (channels[0]["status"], channels[0]["status_reason"]) == ("unhealthy", reconnect)
    assert "access_token" not in str(channels) and "sim-access-token" not in str(channels)
    events = await wa.backend.store.events_after(0)
    assert any('"channel.updated"' in frame and '"unhealthy"' in frame for _, frame in events)
    refused = await wa.send(thread["id"], {"kind": "text", "text": "again"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "channel_unhealthy"
    # reconnecting with a working token heals it
    await wa.faults(token_expired=False)
    from tests.whatsapp.outbound_fixtures import channel_body

    assert (await wa.admin.post("/api/v1/channels", json=channel_body())).status_code == 201
    channels = (await wa.admin.get("/api/v1/channels")).json()["items"]
    assert channels[0]["status"] == "connected"


async def test_a_channel_unhealthy_for_the_same_reason_is_not_told_again(wa):
    """Sends failing with 190 at once each mark the channel: the inboxes hear it once, and
    again only when the reason changes."""
    (channel,) = (await wa.admin.get("/api/v1/channels")).json()["items"]
    store = wa.backend.store

    async def told() -> list[str]:
        frames = [json.loads(frame) for _, frame in await store.events_after(0)]
        return [
            frame["data"]["status_reason"]
            for frame in frames
            if frame["type"] == "channel.updated" and frame["data"]["status"] == "unhealthy"
        ]

    await store.mark_channel_unhealthy(channel["id"], "The access token expired.")
    await store.mark_channel_unhealthy(channel["id"], "The access token expired.")
    assert await told() == ["The access token expired."]
    await store.mark_channel_unhealthy(channel["id"], "Another reason.")
    assert await told() == ["The access token expired.", "Another reason."]
    (channel,) = (await wa.admin.get("/api/v1/channels")).json()["items"]
    assert (channel["status"], channel["status_reason"]) == ("unhealthy", "Another reason.")
    await store.mark_channel_unhealthy(channel["id"] + 1, "No such channel.")
    assert len(await told()) == 2


async def test_restart_with_messages_in_the_outbox_sends_each_exactly_once(
    tmp_path, monkeypatch, short_ambiguous_wait
):
    """Stopped mid-send: requests on the wire (Meta took them, no answer yet) stay in_flight,
    are treated as ambiguous after the restart and resolved by their statuses; queued ones
    resume. Every message reaches Meta exactly once."""
    from backend.simulator.config import StatusTiming

    monkeypatch.setattr(outbound_service, "STOP_GRACE", 0.1)
    env = await start_env(
        tmp_path / "data", status_timing=StatusTiming(sent=1.0, delivered=0.05, read=0.05)
    )
    try:
        await env.connect_channel()
        customers = [f"3461234{n:04d}" for n in range(4)]
        threads = [await env.customer_writes("hi", customer=c) for c in customers]
        await env.faults(timeout_hang_s=3.0, fail_next=[{"kind": "timeout"}] * len(threads))
        ids = []
        for n in range(2):
            for thread in threads:
                response = await env.send(thread["id"], {"kind": "text", "text": f"m{n}"})
                ids.append(response.json()["id"])
        # the first message of each thread is on the wire (Meta has it, the answer hangs)
        await env.until(lambda: _at_least(env, len(threads)))
        await env.backend.stop()  # cuts them: they stay in_flight; the others stay pending
        states = await _outbox_states(env, ids)
        assert states.count("in_flight") == len(threads) and states.count("pending") == len(threads)
        await env.backend.start()
        env.open_clients()
        for message_id in ids:
            await env.wait_message(message_id, lambda m: m.wamid is not None, timeout=10)
        items = await env.sent()
        assert sorted(item["biz_opaque_callback_data"] for item in items) == sorted(
            f"ttydesk:{i}" for i in ids
        )
    finally:
        await stop_env(env)


async def _at_least(env, count: int) -> bool:
    return len(await env.sent()) >= count


async def _outbox_states(env, ids):
    from backend.store.engine import connect_sqlite

    conn = connect_sqlite(env.backend.settings.database_path)
    try:
        marks = ",".join("?" for _ in ids)
        rows = conn.execute(f"SELECT state FROM outbox WHERE message_id IN ({marks})", ids)
        return [row[0] for row in rows]
    finally:
        conn.close()


async def test_stop_is_not_lost_when_a_send_wakes_the_outbox_at_the_same_moment(backend):
    """A send finishing as the app stops wakes the outbox loop in the same turn of the event
    loop as the stop cancels it; 3.11's wait_for swallowed that cancel, and the stop (and
    the app's shutdown with it) waited forever."""
    from backend.keys import SERVICES

    worker = backend.app[SERVICES]["outbox"]
    loop_task = worker._task
    async with asyncio.timeout(5):  # the loop is waiting for work
        while not worker._wake._waiters:
            await asyncio.sleep(0.01)
    worker.wake()
    # (stop() swallows its own cancellation: the bound is read off the timeout itself)
    bound = asyncio.timeout(5)
    async with bound:
        await worker.stop()
    assert not bound.expired() and loop_task.done()


async def test_a_pass_of_the_loop_that_fails_is_logged_and_the_loop_goes_on(tmp_path, caplog):
    """The store failing under a running worker (refusing every claim, then its outbox
    table gone for a moment: every look at the queue fails) costs passes, never the
    worker: the operator's log says so, and once the store is back the send queued
    meanwhile goes out by itself, without a restart or a new send to wake it."""
    caplog.set_level(logging.ERROR, logger="backend.whatsapp.outbox")
    env = await start_env(tmp_path / "data")
    database = tmp_path / "data" / "ttydesk.db"

    def alter(*statements: str) -> None:
        with contextlib.closing(sqlite3.connect(database, timeout=10)) as conn:
            for statement in statements:
                conn.execute(statement)
            conn.commit()

    async def failed_pass(error: str) -> logging.LogRecord | None:
        for record in caplog.records:
            if (
                record.name == "backend.whatsapp.outbox"
                and record.getMessage() == "the outbox loop failed; trying again"
                and record.exc_info is not None
                and error in str(record.exc_info[1])
            ):
                return record
        return None

    try:
        await env.connect_channel()
        thread = await env.customer_writes()
        alter(
            "CREATE TRIGGER refuse_claims BEFORE UPDATE OF state ON outbox "
            "WHEN NEW.state = 'in_flight' BEGIN SELECT RAISE(ABORT, 'no claims now'); END"
        )
        message = (await env.send(thread["id"], {"kind": "text", "text": "still here"})).json()
        await env.until(lambda: failed_pass("no claims now"))
        alter("ALTER TABLE outbox RENAME TO outbox_away")
        await env.until(lambda: failed_pass("no such table: outbox"))
        alter("ALTER TABLE outbox_away RENAME TO outbox", "DROP TRIGGER refuse_claims")
        assert (await env.message(message["id"])).status == "queued"
        sent = await env.wait_message(message["id"], lambda m: m.status in SENT)
        assert [item["wamid"] for item in await env.sent(CUSTOMER)] == [sent.wamid]
    finally:
        await stop_env(env)
