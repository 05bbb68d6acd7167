"""The outbox worker: sends queued messages through the Graph API, never one message twice.

The rules (WHATSAPP.md "Retry only what cannot have been sent"):

- the request never left (connection refused, connect timeout) → retried with back-off;
- Meta refused it for throughput (HTTP 429, codes 130429, 4, 80007, 131056), maintenance
  (131057) or a Meta-side failure (5xx with code 1, 2, 131000, 131016) → retried;
- the request left and no answer came (read timeout, connection dropped) → *ambiguous*:
  the row waits (``ambiguous_wait`` seconds) for a status webhook carrying our
  ``biz_opaque_callback_data`` (``ttydesk:<message id>``), which attaches the wamid and
  settles the row; if none arrives the message is failed with a clear reason and is
  never resent automatically (the agent may retry: a new send);
- token errors (190) mark the channel unhealthy (``channel.updated``) and fail the message;
- any other error fails the message with the plain sentence for its code.

Each send is claimed under a lease (``backend/leases.py``) renewed while it is on the
wire: a send left ``in_flight`` by a process that died (its lease lapsed) or stopped (it
handed the lease back) is treated as ambiguous — at start-up, or by a running worker's
sweep when the process was a neighbour on the same database — and never a live
neighbour's. Scheduling uses real time (``clock``), independent of the store's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from backend.domain.clock import Clock, SystemClock
from backend.leases import DEFAULT_LEASE_SECONDS, LeaseKeeper, claim_or_give_back
from backend.store import OutboxJob, Store
from backend.whatsapp.errors import plain_error
from backend.whatsapp.graph import GraphClient, GraphError, GraphTimeout, GraphUnreachable
from backend.whatsapp.graph_bodies import graph_body, legacy_graph_body

log = logging.getLogger(__name__)

RETRYABLE_CODES = frozenset({130429, 4, 80007, 131056, 131057})
RETRYABLE_5XX_CODES = frozenset({1, 2, 131000, 131016})
TOKEN_ERROR = 190

AMBIGUOUS_REASON = (
    "WhatsApp did not answer in time and no delivery status followed, so it is not known "
    "whether this message was sent. It was not resent automatically: check with the "
    "customer, then retry it if needed."
)
DISCONNECTED_REASON = "The business number was disconnected before this message could be sent."
UNREACHABLE_REASON = "WhatsApp could not be reached after several attempts; retry it later."


def is_retryable(error: GraphError) -> bool:
    """Refusals that guarantee nothing was sent and that pass with time."""
    if error.http_status == 429 or error.code in RETRYABLE_CODES:
        return True
    return error.http_status >= 500 and error.code in RETRYABLE_5XX_CODES


def is_ambiguous(error: GraphError) -> bool:
    """A 5xx without one of Meta's "nothing happened" codes (e.g. a proxy's 502): unknown."""
    return error.http_status >= 500 and error.code not in RETRYABLE_5XX_CODES


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        graph: GraphClient,
        *,
        media_dir: Path,
        ambiguous_wait: float = 60.0,
        concurrency: int = 8,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        poll_interval: float = 1.0,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.graph = graph
        self.media_dir = media_dir
        self.ambiguous_wait = ambiguous_wait
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.clock = clock or SystemClock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self.leases = LeaseKeeper(
            "whatsapp",
            seconds=lease_seconds,
            renew=store.renew_outbox_leases,
            sweep=self._sweep,
            release=store.release_outbox_leases,
            busy=lambda: bool(self._sends),
            clock=self.clock,
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        recovered = await self.store.recover_outbox(self._until(self.ambiguous_wait), self._now())
        if recovered:
            log.warning(
                "%d message(s) were being sent when the backend stopped; waiting for their "
                "statuses instead of resending",
                recovered,
            )
        self._task = asyncio.create_task(self._run(), name="outbox")
        self.leases.start()

    async def stop(self, grace: float = 5.0) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sends:
            # let sends on the wire finish; whatever is cut off stays in_flight → ambiguous
            _, pending = await asyncio.wait(set(self._sends), timeout=grace)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.leases.stop()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def _sweep(self, now: datetime) -> int:
        return await self.store.expire_outbox_leases(self._until(self.ambiguous_wait), now)

    # ------------------------------------------------------------------ the loop

    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    def _until(self, seconds: float) -> datetime:
        return self._now() + timedelta(seconds=seconds)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
                idle = await self._idle_time()  # a store call too: its failure ends no loop
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the outbox loop failed; trying again")
                idle = self.poll_interval
            # asyncio.timeout, not 3.11's wait_for: wait_for swallows a cancel that arrives
            # with the wake-up (a send finishing as the app stops), and stop() then waited
            # for this loop forever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle):
                    await self._wake.wait()

    async def _idle_time(self) -> float:
        due = await self.store.next_outbox_due()
        if due is None:
            return self.poll_interval
        if due == "":
            return 0.0 if len(self._sends) < self.concurrency else self.poll_interval
        wait = (datetime.fromisoformat(due) - self._now()).total_seconds()
        return min(self.poll_interval, max(wait, 0.01))

    async def run_once(self) -> None:
        """Settle ambiguous rows whose wait is over, then claim and start due sends."""
        failed = await self.store.resolve_ambiguous(self._now(), AMBIGUOUS_REASON)
        for message_id in failed:
            log.warning(
                "message %d: no status after an ambiguous send; failed, not resent", message_id
            )
        free = self.concurrency - len(self._sends)
        if free <= 0:
            return
        jobs = await claim_or_give_back(
            self.store.claim_outbox(self._now(), free, self.leases.lease()),
            lambda jobs: self.store.give_back_outbox([job.message_id for job in jobs]),
        )
        for job in jobs:
            task = asyncio.create_task(self._process(job), name=f"send-{job.message_id}")
            self._sends.add(task)
            task.add_done_callback(self._send_done)

    def _send_done(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._wake.set()  # the thread's next message may go now

    # ------------------------------------------------------------------ one send

    async def _process(self, job: OutboxJob) -> None:
        try:
            await self._send(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("message %d: unexpected error while sending", job.message_id)
            await self.store.outbox_ambiguous(
                job.message_id, self._until(self.ambiguous_wait), "unexpected error"
            )

    async def _send(self, job: OutboxJob) -> None:
        if not job.access_token or not job.number_connected:
            await self.store.outbox_failed(job.message_id, None, DISCONNECTED_REASON)
            return
        try:
            media_external_id = await self._uploaded(job) if job.media_id is not None else None
            if job.request is not None:
                body = graph_body(job.request, media_external_id)
            else:
                assert job.legacy_body is not None
                body = legacy_graph_body(job.legacy_body, media_external_id)
            answer = await self.graph.send_message(job.access_token, job.phone_number_id, body)
        except GraphUnreachable as exc:
            await self._retry(job, str(exc), None)
            return
        except _UploadFailed as exc:
            await self._on_graph_error(job, exc.error, upload=True)
            return
        except GraphTimeout as exc:
            log.warning("message %d: %s; waiting for its status", job.message_id, exc)
            await self.store.outbox_ambiguous(
                job.message_id, self._until(self.ambiguous_wait), str(exc)
            )
            return
        except GraphError as exc:
            await self._on_graph_error(job, exc, upload=False)
            return
        messages = answer.get("messages") if isinstance(answer, dict) else None
        first = messages[0] if isinstance(messages, list) and messages else {}
        wamid = first.get("id") if isinstance(first, dict) else None
        if not wamid:
            # accepted without an id: it may well have gone out, so wait for a status
            await self.store.outbox_ambiguous(
                job.message_id, self._until(self.ambiguous_wait), "no message id in the answer"
            )
            return
        await self.store.outbox_sent(job.message_id, str(wamid), first.get("message_status"))

    async def _on_graph_error(self, job: OutboxJob, error: GraphError, *, upload: bool) -> None:
        if error.code == TOKEN_ERROR and job.channel_id is not None:
            await self.store.mark_channel_unhealthy(job.channel_id, plain_error(TOKEN_ERROR))
            await self.store.outbox_failed(job.message_id, TOKEN_ERROR, plain_error(TOKEN_ERROR))
            return
        if is_retryable(error) or (upload and error.http_status >= 500):
            await self._retry(job, str(error), error)
            return
        if not upload and is_ambiguous(error):
            log.warning("message %d: %s; waiting for its status", job.message_id, error)
            await self.store.outbox_ambiguous(
                job.message_id, self._until(self.ambiguous_wait), str(error)
            )
            return
        await self.store.outbox_failed(
            job.message_id, error.code, plain_error(error.code, error.details)
        )

    async def _retry(self, job: OutboxJob, reason: str, error: GraphError | None) -> None:
        if job.attempts >= self.max_attempts:
            sentence = (
                plain_error(error.code, error.details) if error is not None else UNREACHABLE_REASON
            )
            if error is not None and "retried" in sentence:
                sentence = sentence.split(";")[0] + f"; gave up after {job.attempts} attempts."
            await self.store.outbox_failed(
                job.message_id, error.code if error is not None else None, sentence
            )
            return
        delay = min(self.max_delay, self.base_delay * 2 ** (job.attempts - 1))
        delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
        log.info("message %d: %s; retrying in %.1f s", job.message_id, reason, delay)
        await self.store.outbox_retry_later(job.message_id, self._until(delay), reason)

    async def _uploaded(self, job: OutboxJob) -> str:
        """Meta's id of the attachment: uploaded now, once per number."""
        external_id = job.media_external_id
        if external_id is None:
            assert job.access_token is not None and job.media_path is not None
            path = Path(job.media_path)
            if not path.is_absolute():
                path = self.media_dir / path
            content = await asyncio.to_thread(path.read_bytes)
            try:
                external_id = await self.graph.upload_media(
                    job.access_token,
                    job.phone_number_id,
                    content,
                    job.media_mime or "application/octet-stream",
                    job.media_filename,
                )
            except GraphTimeout as exc:
                # an upload is not a send: trying again can only leave an unused copy at Meta
                raise GraphUnreachable(str(exc)) from None
            except GraphError as exc:
                raise _UploadFailed(exc) from None
            assert job.media_id is not None
            await self.store.remember_media_upload(job.media_id, job.phone_number_id, external_id)
        return external_id


class _UploadFailed(Exception):
    def __init__(self, error: GraphError) -> None:
        super().__init__(str(error))
        self.error = error
