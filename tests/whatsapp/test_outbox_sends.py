"""The outbox's answer to each outcome of one send that the other outbound tests leave out:
a number disconnected while the message waited, Meta never reached until the attempts run
out, an answer without a message id, and the attachment's upload (once per number; its
failures). Each against the real backend and the simulator's Graph API."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.domain.clock import FixedClock
from backend.simulator.media_samples import sample_bytes
from backend.whatsapp.errors import plain_error
from backend.whatsapp.graph import GraphClient
from backend.whatsapp.outbox import (
    AMBIGUOUS_REASON,
    DISCONNECTED_REASON,
    UNREACHABLE_REASON,
    OutboxWorker,
)
from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER, WhatsAppEnv

wa = fx.wa  # fixtures
short_ambiguous_wait = fx.short_ambiguous_wait
proxied = fx.proxied

SENT = ("sent", "delivered", "read")


def by_hand(env: WhatsAppEnv, graph: GraphClient, **options: Any) -> OutboxWorker:
    """An outbox worker the test drives with ``run_once`` (the app's own is stopped)."""
    return OutboxWorker(
        env.backend.store, graph, media_dir=env.backend.settings.media_dir, **options
    )


async def outbox_row(env: WhatsAppEnv, message_id: int) -> Any:
    return await env.backend.store.readers.one(
        "SELECT state, attempts, last_error FROM outbox WHERE message_id = ?", (message_id,)
    )


async def test_a_message_whose_number_was_disconnected_while_it_waited_fails_unsent(wa):
    await wa.outbox.stop()
    graph = GraphClient(wa.sim_url, wa.backend.settings.whatsapp_api_version, timeout=5.0)
    worker = by_hand(wa, graph)
    try:
        thread = await wa.customer_writes()
        message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
        (channel,) = (await wa.admin.get("/api/v1/channels")).json()["items"]
        number = channel["phone_numbers"][0]["id"]
        gone = await wa.admin.delete(f"/api/v1/channels/{channel['id']}/phone-numbers/{number}")
        assert gone.status_code == 200
        await worker.run_once()
        failed = await wa.wait_message(message_id, lambda m: m.status == "failed")
        assert failed.error_message == DISCONNECTED_REASON
        assert failed.error_code is None
        assert await wa.sent(CUSTOMER) == []
        assert (await outbox_row(wa, message_id))["state"] == "done"
    finally:
        await worker.stop()
        await graph.close()


async def test_a_message_whose_number_turned_unhealthy_while_it_waited_is_still_sent(wa):
    """An unhealthy number is still the business's number (Meta flags its quality): what was
    queued for it goes out."""
    await wa.outbox.stop()
    graph = GraphClient(wa.sim_url, wa.backend.settings.whatsapp_api_version, timeout=5.0)
    worker = by_hand(wa, graph)
    try:
        thread = await wa.customer_writes()
        message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
        await wa.backend.store.write(
            lambda tx: tx.execute("UPDATE phone_numbers SET status = 'unhealthy'")
        )
        await worker.run_once()
        await wa.wait_message(message_id, lambda m: m.status in SENT)
        assert len(await wa.sent(CUSTOMER)) == 1
    finally:
        await worker.stop()
        await graph.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed on leaving: connections are refused


async def test_meta_never_reached_is_retried_then_failed_in_plain_words(wa, caplog):
    """Connection refused: nothing left, so it is retried (a log line says so) until the
    attempts run out, then failed with no Meta code and the "could not be reached" line."""
    await wa.outbox.stop()
    clock = FixedClock(datetime.now(UTC))
    graph = GraphClient(
        f"http://127.0.0.1:{closed_port()}", wa.backend.settings.whatsapp_api_version
    )
    worker = by_hand(wa, graph, clock=clock, max_attempts=2)
    try:
        thread = await wa.customer_writes()
        message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
        caplog.set_level(logging.INFO, logger="backend.whatsapp.outbox")
        await worker.run_once()

        async def waiting() -> Any:
            row = await outbox_row(wa, message_id)
            return row if row["state"] == "pending" and row["attempts"] == 1 else None

        row = await wa.until(waiting)
        assert row["last_error"]  # why it waits: the connection error
        retrying = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
        assert retrying and retrying[0].startswith(f"message {message_id}: ")
        clock.set(clock.now().replace(year=clock.now().year + 1))  # past any back-off
        await worker.run_once()
        failed = await wa.wait_message(message_id, lambda m: m.status == "failed")
        assert failed.error_message == UNREACHABLE_REASON
        assert failed.error_code is None
        assert (await outbox_row(wa, message_id))["attempts"] == 2
    finally:
        await worker.stop()
        await graph.close()


@pytest.mark.parametrize(
    "answer",
    [
        '{"messaging_product": "whatsapp", "messages": []}',
        '{"messaging_product": "whatsapp", "messages": [{"message_status": "accepted"}]}',
        '{"messaging_product": "whatsapp", "messages": ["wamid.X"]}',
        '{"messaging_product": "whatsapp", "messages": {"id": "wamid.X"}}',
        '["wamid.X"]',
    ],
    ids=["no-messages", "no-id", "not-an-object", "not-a-list", "not-a-dict"],
)
async def test_an_answer_without_a_message_id_is_ambiguous_never_resent(proxied, answer):
    """Meta said 200 but named no message: it may well have gone out, so the outbox waits
    for a status (none comes: the proxy kept it from Meta) and fails it, never resending."""
    env, proxy = proxied
    thread = await env.customer_writes()
    proxy.script.append((200, "application/json", answer))
    message = (await env.send(thread["id"], {"kind": "text", "text": "once"})).json()
    checking = await env.wait_message(message["id"], lambda m: m.status != "queued")
    assert checking.status in ("checking", "failed")
    row = await outbox_row(env, message["id"])
    assert row["last_error"] == "no message id in the answer"
    failed = await env.wait_message(message["id"], lambda m: m.status == "failed")
    assert failed.error_message == AMBIGUOUS_REASON
    assert failed.wamid is None
    assert proxy.sends == 1


async def upload(env: WhatsAppEnv, content: bytes, filename: str) -> dict[str, Any]:
    response = await env.agent.post("/api/v1/media", files={"file": (filename, content)})
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_attachment_is_uploaded_once_per_number_and_sent_again_by_its_id(wa):
    thread = await wa.customer_writes()
    image = await upload(wa, sample_bytes("image/jpeg"), "photo.jpg")
    ids = []
    for caption in ("first", "again"):
        body = {"kind": "media", "media_id": image["id"], "caption": caption}
        message = (await wa.send(thread["id"], body)).json()
        await wa.wait_message(message["id"], lambda m: m.status in SENT)
        ids.append(message["id"])
    items = await wa.sent(CUSTOMER)
    assert [item["body"]["image"]["caption"] for item in items] == ["first", "again"]
    first, again = (item["body"]["image"]["id"] for item in items)
    assert first == again and list(wa.sim.state.media) == [first]


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        ({"kind": "5xx", "code": 131000, "http_status": 500}, "sent"),
        # no send yet: retried, from a 500 itself up
        ({"kind": "5xx", "code": 99999, "http_status": 500}, "sent"),
        ({"kind": "error", "code": 131053, "http_status": 400}, "failed"),
    ],
    ids=["meta-5xx", "unknown-5xx", "refused"],
)
async def test_a_failed_upload_is_retried_when_meta_failed_and_fails_when_it_refused(
    wa, failure, outcome
):
    """An upload is not a send: a 5xx of any code is retried (nothing can reach the
    customer), a refusal fails the message with its plain sentence and its code."""
    wa.outbox.base_delay = 0.05
    thread = await wa.customer_writes()
    image = await upload(wa, sample_bytes("image/jpeg"), "photo.jpg")
    await wa.faults(fail_next=[failure | {"path_contains": "/media"}])
    body = {"kind": "media", "media_id": image["id"]}
    message = (await wa.send(thread["id"], body)).json()
    done = await wa.wait_message(message["id"], lambda m: m.status in (*SENT, "failed"))
    items = await wa.sent(CUSTOMER)
    if outcome == "sent":
        assert done.status in SENT and len(items) == 1
        assert (await outbox_row(wa, message["id"]))["attempts"] == 2
    else:
        assert done.status == "failed" and items == []
        assert done.error_code == 131053
        assert done.error_message == plain_error(131053)


async def test_an_unexpected_error_while_sending_waits_for_a_status_and_is_never_resent(
    tmp_path, short_ambiguous_wait, caplog
):
    """A fault of our own mid-send (here the attachment's file is gone from the disk): the
    request may have left, so the send is treated as ambiguous, logged, and never resent."""
    env = await fx.start_env(tmp_path / "data")
    try:
        await env.connect_channel()
        caplog.set_level(logging.WARNING, logger="backend.whatsapp.outbox")
        thread = await env.customer_writes()
        image = await upload(env, sample_bytes("image/jpeg"), "photo.jpg")
        path = await env.backend.store.readers.value(
            "SELECT path FROM media WHERE id = ?", (image["id"],)
        )
        (env.backend.settings.media_dir / path).unlink()
        body = {"kind": "media", "media_id": image["id"]}
        message = (await env.send(thread["id"], body)).json()
        await env.wait_message(message["id"], lambda m: m.status == "checking")
        assert (await outbox_row(env, message["id"]))["last_error"] == "unexpected error"
        failed = await env.wait_message(message["id"], lambda m: m.status == "failed")
        assert failed.error_message == AMBIGUOUS_REASON
        assert await env.sent(CUSTOMER) == []
        (record,) = [r for r in caplog.records if "unexpected error" in r.getMessage()]
        assert record.getMessage() == f"message {message['id']}: unexpected error while sending"
        assert record.exc_info is not None and record.exc_info[0] is FileNotFoundError
    finally:
        await fx.stop_env(env)


async def test_the_outbox_row_keeps_at_most_500_characters_of_an_error(wa):
    """Meta's error text goes into the row as told, cut at 500 characters, on a retry and on
    an ambiguous send alike."""
    await wa.outbox.stop()  # the test claims the row itself
    store = wa.backend.store
    thread = await wa.customer_writes()
    message_id = (await wa.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    now = datetime.now(UTC)
    (job,) = await store.claim_outbox(now, 5)
    await store.outbox_retry_later(message_id, now, "r" * 600)
    row = await outbox_row(wa, message_id)
    assert (row["state"], row["last_error"]) == ("pending", "r" * 500)
    (job,) = await store.claim_outbox(now, 5)
    assert job.message_id == message_id and job.attempts == 2
    await store.outbox_ambiguous(message_id, now, "a" * 600)
    row = await outbox_row(wa, message_id)
    assert (row["state"], row["last_error"]) == ("ambiguous", "a" * 500)


async def test_the_worker_sends_no_more_messages_at_once_than_its_concurrency(proxied):
    env, proxy = proxied
    await env.outbox.stop()  # this test's worker sends, one at a time
    graph = GraphClient(proxy.url, env.backend.settings.whatsapp_api_version, timeout=5.0)
    worker = by_hand(env, graph, concurrency=1)
    try:
        threads = [await env.customer_writes(customer=c) for c in (CUSTOMER, "34612345679")]
        proxy.gate = asyncio.Event()  # Meta is slow to answer
        first, second = [
            (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
            for thread in threads
        ]
        await worker.run_once()
        await env.until(lambda: asyncio.sleep(0, proxy.sends == 1))
        await worker.run_once()  # its one send is on the wire: nothing more is claimed
        assert await env.backend.store.outbox_state(second) == "pending"
        proxy.gate.set()
        await env.wait_message(first, lambda m: m.status in SENT)
        await env.until(lambda: asyncio.sleep(0, not worker._sends))
        await worker.run_once()
        await env.wait_message(second, lambda m: m.status in SENT)
        assert proxy.sends == 2
    finally:
        await worker.stop(grace=1)
        await graph.close()


async def test_an_answer_naming_another_messages_wamid_sends_without_taking_it(proxied):
    """A wamid is one message's: an answer that names one already taken (here the customer's
    own message's) marks the send sent but leaves the wamid where it is."""
    env, proxy = proxied
    thread = await env.customer_writes()
    taken = await env.backend.store.readers.value(
        "SELECT wamid FROM messages WHERE thread_id = ? AND direction = 'in'", (thread["id"],)
    )
    assert taken
    answer = {"messaging_product": "whatsapp", "messages": [{"id": taken}]}
    proxy.script.append((200, "application/json", json.dumps(answer)))
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    sent = await env.wait_message(message_id, lambda m: m.status != "queued")
    assert (sent.status, sent.wamid) == ("sent", None)
    assert await env.backend.store.outbox_state(message_id) == "done"


async def test_a_message_status_other_than_accepted_in_metas_answer_is_kept(proxied):
    """Meta's answer may say a send is not simply "accepted" (a marketing message held for
    quality assessment): the message keeps what it said; "accepted" is not kept."""
    env, proxy = proxied
    thread = await env.customer_writes()

    async def content(message_id: int) -> dict[str, Any]:
        stored = await env.backend.store.readers.value(
            "SELECT content FROM messages WHERE id = ?", (message_id,)
        )
        return json.loads(stored or "{}")

    held = {"id": "wamid.HELD1", "message_status": "held_for_quality_assessment"}
    answer = {"messaging_product": "whatsapp", "messages": [held]}
    proxy.script.append((200, "application/json", json.dumps(answer)))
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "held"})).json()["id"]
    sent = await env.wait_message(message_id, lambda m: m.status != "queued")
    assert (sent.status, sent.wamid) == ("sent", "wamid.HELD1")
    assert (await content(message_id))["message_status"] == "held_for_quality_assessment"
    # the simulator answers "accepted", as Meta does for most sends
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "plain"})).json()["id"]
    await env.wait_message(message_id, lambda m: m.wamid is not None)
    assert "message_status" not in await content(message_id)


async def test_statuses_that_beat_the_answer_without_our_opaque_data_apply_when_it_comes(
    proxied,
):
    """Meta's statuses can reach us before its answer to the send; without our opaque data
    nothing names the message yet, so they are kept aside, and the answer's wamid applies
    them (the message reads as far as they went, not just "sent")."""
    env, proxy = proxied
    thread = await env.customer_writes()
    proxy.strip_opaque = True
    proxy.answer_gate = asyncio.Event()  # the answer is slow; the statuses are not
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    (item,) = await env.until(lambda: env.sent(CUSTOMER))
    await env.control("POST", "/statuses", json={"message_id": item["wamid"], "status": "read"})

    async def kept() -> Any:
        return await env.backend.store.readers.value(
            "SELECT value FROM settings_kv WHERE key = ?", (f"status.early:{item['wamid']}",)
        )

    await env.until(lambda: _has(kept(), '"read"'))
    proxy.answer_gate.set()
    read = await env.wait_message(message_id, lambda m: m.status == "read")
    assert read.wamid == item["wamid"]
    assert await kept() is None


async def _has(value: Any, text: str) -> bool:
    return text in (await value or "")


async def test_the_upload_tells_meta_the_files_type_and_name_whatever_the_name_says(wa):
    """Meta learns the attachment's type from us, not from its name: a photo saved as
    "scan" (no extension) reaches it as image/jpeg, under its own name."""
    thread = await wa.customer_writes()
    image = await upload(wa, sample_bytes("image/jpeg"), "scan")
    message = (await wa.send(thread["id"], {"kind": "media", "media_id": image["id"]})).json()
    await wa.wait_message(message["id"], lambda m: m.status in SENT)
    (item,) = wa.sim.state.media.values()
    assert (item.mime_type, item.filename) == ("image/jpeg", "scan")


async def test_an_upload_that_times_out_is_retried_and_says_why(tmp_path, caplog):
    """An upload is not a send: one left without an answer is tried again (at worst an
    unused copy stays at Meta), and the row and the log say what happened."""
    caplog.set_level(logging.INFO, logger="backend.whatsapp.outbox")
    env = await fx.start_env(tmp_path / "data", backend_overrides={"whatsapp_send_timeout": 0.5})
    try:
        await env.connect_channel()
        env.outbox.base_delay = 0.05
        thread = await env.customer_writes()
        image = await upload(env, sample_bytes("image/jpeg"), "photo.jpg")
        await env.faults(
            timeout_hang_s=1.0, fail_next=[{"kind": "timeout", "path_contains": "/media"}]
        )
        body = {"kind": "media", "media_id": image["id"]}
        message_id = (await env.send(thread["id"], body)).json()["id"]
        await env.wait_message(message_id, lambda m: m.status in SENT)
        row = await outbox_row(env, message_id)
        assert row["attempts"] == 2
        assert row["last_error"].startswith("no answer from the Graph API: ")
        assert any(
            record.getMessage().startswith(f"message {message_id}: {row['last_error']}; retrying")
            for record in caplog.records
        )
    finally:
        await fx.stop_env(env)


async def test_the_answer_alone_makes_the_message_and_its_ticket_sent(wa):
    """With no status webhook yet (every one dropped), Meta's answer alone marks the
    message sent, with its time, and moves its ticket's delivery status to sent."""
    thread = await wa.customer_writes()
    await wa.faults(drop_webhook_rate=1.0)
    message = (await wa.send(thread["id"], {"kind": "text", "text": "on it"})).json()
    sent = await wa.wait_message(message["id"], lambda m: m.status != "queued")
    assert sent.status == "sent" and sent.wamid is not None and sent.sent_at is not None
    ticket_status = await wa.backend.store.readers.value(
        "SELECT t.last_delivery_status FROM tickets t JOIN threads th ON th.ticket_id = t.id "
        "WHERE th.id = ?",
        (thread["id"],),
    )
    assert ticket_status == "sent"
    assert_told_of_changes(await message_events(wa, message["id"]))


async def message_events(env: WhatsAppEnv, message_id: int) -> list[str]:
    """The types of the logged events that carry this message, oldest first."""
    logged = await env.backend.store.readers.all(
        "SELECT type, payload FROM events WHERE type LIKE 'message.%' ORDER BY seq"
    )
    return [
        row["type"]
        for row in logged
        if row["payload"] and json.loads(row["payload"])["data"].get("id") == message_id
    ]


def assert_told_of_changes(told: list[str]) -> None:
    """Created once (when queued), then only changes: a client never gets it twice as new."""
    assert len(told) >= 2 and told[0] == "message.created", told
    assert told[1:] == ["message.updated"] * (len(told) - 1), told


async def test_a_send_meta_refused_tells_the_clients_of_a_change(wa):
    thread = await wa.customer_writes()
    await wa.faults(fail_next=[{"kind": "error", "code": 131026, "http_status": 400}])
    message = (await wa.send(thread["id"], {"kind": "text", "text": "hello"})).json()
    await wa.wait_message(message["id"], lambda m: m.status == "failed")
    assert_told_of_changes(await message_events(wa, message["id"]))


async def test_a_template_meta_accepted_or_held_keeps_its_template(proxied):
    """Meta answers a template send "accepted" (the simulator too): not kept; one held for
    quality assessment keeps that beside the template it sent, which it does not lose."""
    env, proxy = proxied
    thread = await env.customer_writes()
    template = {"kind": "template", "name": "hello_world", "language": "en_US"}

    async def sent_content(message_id: int) -> dict[str, Any]:
        await env.wait_message(message_id, lambda m: m.wamid is not None)
        stored = await env.backend.store.readers.value(
            "SELECT content FROM messages WHERE id = ?", (message_id,)
        )
        return json.loads(stored)

    accepted = await sent_content((await env.send(thread["id"], template)).json()["id"])
    assert accepted == {
        "template_name": "hello_world",
        "template_language": "en_US",
        "variables": {},
    }
    held = {"id": "wamid.HELD2", "message_status": "held_for_quality_assessment"}
    answer = {"messaging_product": "whatsapp", "messages": [held]}
    proxy.script.append((200, "application/json", json.dumps(answer)))
    kept = await sent_content((await env.send(thread["id"], template)).json()["id"])
    assert kept == accepted | {"message_status": "held_for_quality_assessment"}
