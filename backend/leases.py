"""A send worker's leases (several ``serve`` processes on one database, issue 16 step 3).

A worker claims sends under a lease (``Lease``: the worker, and when the hold lapses
unless renewed). While it has a send on the wire it renews its leases every third of
their length; on the same beat it sweeps the sends whose lease lapsed — their process
died mid-send — so they are taken for ambiguous ("not known whether sent") without
waiting for a restart; a worker that stops hands its leases back. Used by both send
queues (WhatsApp's outbox, e-mail's), each with its own store calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from backend.domain.clock import Clock, SystemClock
from backend.store import Lease

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0

Job = TypeVar("Job")


async def claim_or_give_back(
    claim: Awaitable[list[Job]], give_back: Callable[[list[Job]], Awaitable[object]]
) -> list[Job]:
    """The jobs a claim took. A worker stopped (cancelled) while its claim is written
    would leave the claimed rows ``in_flight`` with no send started: taken for ambiguous
    at the next start-up, and failed unsent. So the claim is finished, its jobs are given
    back to the queue, and the cancel goes on."""
    claiming = asyncio.ensure_future(claim)
    try:
        return await asyncio.shield(claiming)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            jobs = await claiming
            if jobs:
                await give_back(jobs)
        raise


def new_holder(kind: str) -> str:
    """A worker's name in ``claimed_by``: unique, and saying where it ran."""
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseKeeper:
    def __init__(
        self,
        kind: str,
        *,
        seconds: float,
        renew: Callable[[Lease], Awaitable[int]],
        sweep: Callable[[datetime], Awaitable[int]],
        release: Callable[[str], Awaitable[int]],
        busy: Callable[[], bool],
        clock: Clock | None = None,
    ) -> None:
        self.holder = new_holder(kind)
        self.seconds = seconds
        self._renew = renew
        self._sweep = sweep
        self._release = release
        self._busy = busy
        self.clock = clock or SystemClock()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    def lease(self) -> Lease:
        """A lease from now: what a claim takes."""
        return Lease(self.holder, self.now() + timedelta(seconds=self.seconds))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"leases-{self.holder}")

    async def stop(self) -> None:
        """Stop renewing and hand back what is still held (sends cut off on the wire)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self._release(self.holder)
        except Exception:
            log.exception("handing back the leases of %s failed", self.holder)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.beat()
            except Exception:
                log.exception("renewing or sweeping leases failed; trying again")

    async def beat(self) -> None:
        """Renew this worker's leases while it has sends on the wire; sweep lapsed ones."""
        if self._busy():
            await self._renew(self.lease())
        swept = await self._sweep(self.now())
        if swept:
            log.warning(
                "%d send(s) of a process that stopped were on the wire; not known whether "
                "sent, so they wait for a status instead of being resent",
                swept,
            )
