"""The outbox worker's leases (``backend/leases.py``), against the real backend and the
simulator's Graph API: a send on the wire longer than its lease is kept by renewal, not
taken for ambiguous by the worker's own sweep; a send a dead neighbour process held is
taken for "not known whether sent" once its lease lapses, and never sent again. On both
engines (tests/conftest.py ON_BOTH_ENGINES)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.store import Lease
from backend.store.statuses import StatusRecord, apply_status
from backend.whatsapp.graph import GraphClient
from backend.whatsapp.outbox import AMBIGUOUS_REASON, OutboxWorker
from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER, GraphProxy, WhatsAppEnv
from tests.whatsapp.test_outbox_sends import assert_told_of_changes, message_events

short_ambiguous_wait = fx.short_ambiguous_wait

LEASE_SECONDS = 0.6


@contextlib.asynccontextmanager
async def started_env(data_dir: Path, database: str | None) -> AsyncIterator[WhatsAppEnv]:
    """Backend + simulator with a connected channel; the app's own outbox worker stopped
    (each test runs its own)."""
    env = await fx.start_env(data_dir, database=database)
    try:
        await env.connect_channel()
        await env.outbox.stop()
        yield env
    finally:
        await fx.stop_env(env)


@pytest.fixture
async def env(tmp_path, database_url, short_ambiguous_wait) -> AsyncIterator[WhatsAppEnv]:
    async with started_env(tmp_path / "data", database_url) as started:
        yield started


@pytest.fixture
async def env_on_postgresql(tmp_path, postgresql_url) -> AsyncIterator[WhatsAppEnv]:
    """As ``env``, on PostgreSQL only: the engine several processes share an outbox on."""
    async with started_env(tmp_path / "data", postgresql_url) as started:
        yield started


async def outbox_row(env: WhatsAppEnv, message_id: int) -> Any:
    return await env.backend.store.readers.one(
        "SELECT state, claimed_by, lease_until FROM outbox WHERE message_id = ?", (message_id,)
    )


async def test_a_send_on_the_wire_longer_than_its_lease_is_kept_by_renewal(env):
    proxy = GraphProxy(env.sim_url)
    await proxy.server.start_server()
    graph = GraphClient(proxy.url, env.backend.settings.whatsapp_api_version, timeout=30.0)
    worker = OutboxWorker(
        env.backend.store,
        graph,
        media_dir=env.backend.settings.media_dir,
        lease_seconds=LEASE_SECONDS,
    )
    try:
        thread = await env.customer_writes()
        proxy.gate = asyncio.Event()  # Meta takes its time to answer
        message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
        await worker.start()
        await env.until(lambda: asyncio.sleep(0, proxy.sends == 1))
        claimed = await outbox_row(env, message_id)
        assert claimed["claimed_by"] == worker.leases.holder
        # the holder says which worker, where: the channel, the host and the process
        assert claimed["claimed_by"].startswith(f"whatsapp@{socket.gethostname()}:{os.getpid()}:")
        first_lease = datetime.fromisoformat(claimed["lease_until"])

        async def renewed_past_its_first_lease_or_taken() -> Any:
            row = await outbox_row(env, message_id)
            if row["state"] != "in_flight":
                return row
            held = datetime.fromisoformat(row["lease_until"])
            return row if held > first_lease + timedelta(seconds=LEASE_SECONDS) else None

        row = await env.until(renewed_past_its_first_lease_or_taken)
        # the worker's own sweep has run meanwhile: a renewed send is not taken
        assert row["state"] == "in_flight"
        proxy.gate.set()
        sent = await env.wait_message(message_id, lambda m: m.status != "queued")
        assert sent.status in ("sent", "delivered", "read")
        assert len(await env.sent(CUSTOMER)) == 1
        assert (await outbox_row(env, message_id))["state"] == "done"
    finally:
        await worker.stop(grace=1)
        await graph.close()
        await proxy.server.close()


async def test_a_dead_neighbours_send_is_not_known_whether_sent_once_its_lease_lapses(env):
    """A neighbour process claimed the send and died before its answer: once the lease
    lapses a running worker's sweep takes it for ambiguous; with no status in the wait it
    fails with "not known whether sent", and it is never sent again."""
    store = env.backend.store
    thread = await env.customer_writes()
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    now = datetime.now(UTC)
    (job,) = await store.claim_outbox(now, 5, Lease("neighbour", now + timedelta(seconds=1)))
    graph = GraphClient(env.sim_url, env.backend.settings.whatsapp_api_version, timeout=5.0)
    worker = OutboxWorker(
        store, graph, media_dir=env.backend.settings.media_dir, ambiguous_wait=0.5
    )
    try:
        await worker.leases.beat()  # the neighbour's lease is live: left alone
        assert (await outbox_row(env, message_id))["state"] == "in_flight"
        await env.until(lambda: asyncio.sleep(0, datetime.now(UTC) > now + timedelta(seconds=1)))
        await worker.leases.beat()
        assert (await outbox_row(env, message_id))["state"] == "ambiguous"
        checking = await env.wait_message(message_id, lambda m: m.status == "checking")
        assert checking.error_message is None
        await env.until(lambda: asyncio.sleep(0, datetime.now(UTC) > now + timedelta(seconds=2)))
        await worker.run_once()  # the wait is over, no status came
        failed = await env.wait_message(message_id, lambda m: m.status == "failed")
        assert failed.error_message == AMBIGUOUS_REASON
        assert await env.sent(CUSTOMER) == []
    finally:
        await worker.stop()
        await graph.close()


async def test_a_worker_starting_beside_a_live_neighbour_leaves_its_send_alone(
    env_on_postgresql,
):
    """Several processes share the outbox on PostgreSQL: a worker's start-up takes for
    ambiguous only the sends whose lease lapsed or was handed back, never the send a live
    neighbour has on the wire (its answer is still to come)."""
    env = env_on_postgresql
    store = env.backend.store
    thread = await env.customer_writes()
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    now = datetime.now(UTC)
    await store.claim_outbox(now, 5, Lease("neighbour", now + timedelta(seconds=60)))
    before = (await env.message(message_id)).status
    graph = GraphClient(env.sim_url, env.backend.settings.whatsapp_api_version, timeout=5.0)
    worker = OutboxWorker(store, graph, media_dir=env.backend.settings.media_dir)
    try:
        await worker.start()
        row = await outbox_row(env, message_id)
        assert (row["state"], row["claimed_by"]) == ("in_flight", "neighbour")
        assert (await env.message(message_id)).status == before != "checking"
        assert await env.sent(CUSTOMER) == []
    finally:
        await worker.stop()
        await graph.close()


async def test_a_worker_that_stops_mid_send_hands_its_lease_back(env):
    """Stopping cuts a send off on the wire: it stays ``in_flight`` (it may have gone
    out) with its lease handed back, so the next start-up of any process takes it for
    ambiguous at once instead of after the lease."""
    proxy = GraphProxy(env.sim_url)
    await proxy.server.start_server()
    graph = GraphClient(proxy.url, env.backend.settings.whatsapp_api_version, timeout=30.0)
    store = env.backend.store
    worker = OutboxWorker(store, graph, media_dir=env.backend.settings.media_dir)
    try:
        thread = await env.customer_writes()
        proxy.gate = asyncio.Event()  # never opened: the send is cut off
        message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
        await worker.start()
        await env.until(lambda: asyncio.sleep(0, proxy.sends == 1))
        await worker.stop(grace=0.1)
        row = await outbox_row(env, message_id)
        assert (row["state"], row["claimed_by"], row["lease_until"]) == (
            "in_flight",
            worker.leases.holder,
            None,
        )
        now = datetime.now(UTC)
        assert await store.recover_outbox(now + timedelta(seconds=60), now) == 1
        assert (await outbox_row(env, message_id))["state"] == "ambiguous"
    finally:
        proxy.gate.set()
        await graph.close()
        await proxy.server.close()


async def test_an_answer_after_the_send_was_taken_for_ambiguous_still_sends_it(env):
    """A worker stalled past its lease: a neighbour took its send for ambiguous
    ("checking") and then Meta's answer reached the stalled worker. The message is sent,
    with that wamid, and the end of the wait fails nothing."""
    store = env.backend.store
    thread = await env.customer_writes()
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    now = datetime.now(UTC)
    await store.claim_outbox(now, 5, Lease("stalled", now - timedelta(seconds=1)))
    assert await store.expire_outbox_leases(now + timedelta(seconds=60), now) == 1
    await env.wait_message(message_id, lambda m: m.status == "checking")
    await store.outbox_sent(message_id, "wamid.late-answer", "accepted")
    sent = await env.message(message_id)
    assert (sent.status, sent.wamid) == ("sent", "wamid.late-answer")
    assert await store.resolve_ambiguous(now + timedelta(seconds=61), AMBIGUOUS_REASON) == []
    assert (await env.message(message_id)).status == "sent"
    assert_told_of_changes(await message_events(env, message_id))  # checking, then sent


async def test_a_send_a_sending_status_beat_is_sent_by_its_answer(env):
    """Statuses are taken leniently: a "sending" one that beat the answer (attached by our
    opaque data) leaves the message "sending"; the answer then makes it sent."""
    store = env.backend.store
    thread = await env.customer_writes()
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    now = datetime.now(UTC)
    await store.claim_outbox(now, 5, Lease("worker", now + timedelta(seconds=60)))
    early = StatusRecord(
        wamid="wamid.early",
        status="sending",
        at=now,
        phone_number_id=fx.PHONE_ID,
        opaque=f"ttydesk:{message_id}",
    )
    result = await store.write(functools.partial(apply_status, record=early))
    assert (result.outcome, result.message_id) == ("applied", message_id)
    assert (await env.message(message_id)).status == "sending"
    await store.outbox_sent(message_id, "wamid.early", "accepted")
    assert (await env.message(message_id)).status == "sent"


async def test_an_ambiguous_send_a_status_names_is_settled_and_the_wait_fails_nothing(env):
    """A status that names a send taken for ambiguous (by our opaque data, here with the
    lenient "sending") settles it at once: the end of the wait fails nothing."""
    store = env.backend.store
    thread = await env.customer_writes()
    message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
    now = datetime.now(UTC)
    await store.claim_outbox(now, 5, Lease("worker", now + timedelta(seconds=60)))
    await store.outbox_ambiguous(message_id, now + timedelta(seconds=1), "no answer")
    status = StatusRecord(
        wamid="wamid.named",
        status="sending",
        at=now,
        phone_number_id=fx.PHONE_ID,
        opaque=f"ttydesk:{message_id}",
    )
    await store.write(functools.partial(apply_status, record=status))
    assert await store.resolve_ambiguous(now + timedelta(seconds=2), AMBIGUOUS_REASON) == []
    settled = await env.message(message_id)
    assert settled.status != "failed" and settled.error_message is None
    assert settled.wamid == "wamid.named"
    assert await store.outbox_state(message_id) == "done"


async def test_a_worker_stopped_while_its_claim_is_written_gives_the_unsent_rows_back(env):
    """Stopping cancels the worker's loop; if that lands while its claim of due rows is
    being written, the rows were marked ``in_flight`` but no send was started. They never
    went on the wire: they are given back to the queue, and the next worker sends them.
    Before, they stayed ``in_flight``, were taken for ambiguous at the next start-up, and
    failed unsent as "not known whether sent" (a flaky end-to-end test showed it)."""
    store = env.backend.store
    graph = GraphClient(env.sim_url, env.backend.settings.whatsapp_api_version, timeout=30.0)
    claimed = asyncio.Event()
    real_claim = store.claim_outbox

    async def claim_then_linger(*args: Any, **kwargs: Any) -> Any:
        jobs = await real_claim(*args, **kwargs)  # committed by the writer
        if jobs:
            claimed.set()
            await asyncio.sleep(0.3)  # the stop's cancel arrives here
        return jobs

    worker = OutboxWorker(store, graph, media_dir=env.backend.settings.media_dir)
    store.claim_outbox = claim_then_linger  # type: ignore[method-assign]
    try:
        thread = await env.customer_writes()
        message_id = (await env.send(thread["id"], {"kind": "text", "text": "hi"})).json()["id"]
        await worker.start()
        await asyncio.wait_for(claimed.wait(), 5)
        await worker.stop(grace=0.1)
        assert await env.sent(to=CUSTOMER) == []  # never on the wire
    finally:
        store.claim_outbox = real_claim  # type: ignore[method-assign]
    assert (await outbox_row(env, message_id))["state"] == "pending"
    now = datetime.now(UTC)
    assert await store.recover_outbox(now + timedelta(seconds=60), now) == 0
    next_worker = OutboxWorker(store, graph, media_dir=env.backend.settings.media_dir)
    await next_worker.start()
    try:

        async def sent() -> bool:
            return len(await env.sent(to=CUSTOMER)) == 1

        await env.until(sent)
        status = await store.readers.value(
            "SELECT status FROM messages WHERE id = ?", (message_id,)
        )
        assert status != "failed"
    finally:
        await next_worker.stop()
        await graph.close()
