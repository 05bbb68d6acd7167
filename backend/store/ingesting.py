"""What a channel received, stored: each change of a notification is one transaction.

``ingest`` hands the writer one transaction function per change, all at once, so the
writer commits them together (one fsync for the lot, and for concurrent notifications'
too) while each is still rolled back alone if it fails. Messages, echoes and calls
change nothing but the database, so the writer may run a run of them in one savepoint
(``replayable``).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from backend import schemas
from backend.domain.routing import RoutingRule
from backend.store import conversations as conv
from backend.store.base import StoreBase
from backend.store.calls import ingest_call
from backend.store.echoes import store_echo
from backend.store.engine import Tx, replayable
from backend.store.groups import ingest_group_message
from backend.store.inbound import ingest_inbound, reveal_quarantined
from backend.store.reactions import expire_held_reactions
from backend.store.revokes import expire_held_for_message
from backend.store.statuses import apply_status, apply_template_status, prune_early_statuses
from backend.store.types import (
    Call,
    Change,
    Counts,
    Echo,
    GroupMessage,
    InboundRecord,
    StatusRecord,
    TemplateStatus,
)


def _transaction(change: Change, rules: Sequence[RoutingRule]) -> Callable[[Tx], Any]:
    kind = type(change)
    if kind is InboundRecord:
        return replayable(functools.partial(ingest_inbound, record=change, rules=rules))
    if kind is StatusRecord:
        return functools.partial(apply_status, record=change)
    if kind is GroupMessage:
        return replayable(
            functools.partial(
                ingest_group_message, record=change.record, group_id=change.group_id, rules=rules
            )
        )
    if kind is Echo:
        return replayable(functools.partial(store_echo, record=change.record))
    if kind is Call:
        return replayable(functools.partial(ingest_call, record=change.record, rules=rules))
    if kind is TemplateStatus:
        return functools.partial(
            apply_template_status,
            template_id=change.template_id,
            name=change.name,
            language=change.language,
            status=change.status,
            reason=change.reason,
        )
    if kind is Counts:
        return functools.partial(_count, counters=change.by_name)
    raise TypeError(f"not a change the store ingests: {change!r}")


def _count(tx: Tx, counters: dict[str, int]) -> None:
    for name, by in counters.items():
        conv.bump_counter(tx, name, by)


class IngestStore(StoreBase):
    async def ingest(
        self, changes: Sequence[Change], *, rules: Sequence[RoutingRule] = ()
    ) -> list[Any]:
        """Store every change, each in its own transaction; returns once all have
        committed, with each one's outcome or exception in order (see ``types.Change``)."""
        work = [_transaction(change, rules) for change in changes]
        run = self.writer.run
        if len(work) == 1:
            try:
                return [await run(work[0])]
            except Exception as exc:  # noqa: BLE001 - given back as that change's outcome
                return [exc]
        return await asyncio.gather(*(run(fn) for fn in work), return_exceptions=True)

    async def count(self, name: str, by: int = 1) -> None:
        """Raise a counter (what came in and was refused or ignored)."""
        await self.writer.run(functools.partial(conv.bump_counter, name=name, by=by))

    async def reveal_quarantined(
        self, message_id: int, actor_id: int
    ) -> tuple[schemas.Message, str | None]:
        """The hidden content of a quarantined message, for an admin; the reveal is audited."""
        return await self.write(
            functools.partial(reveal_quarantined, message_id=message_id, actor_id=actor_id)
        )

    async def prune_early_statuses(self, now: datetime) -> int:
        """Forget statuses kept for messages we never learnt of; returns how many."""
        return await self.write(functools.partial(prune_early_statuses, now=now))

    async def expire_held_reactions(self, now: datetime) -> int:
        """End reactions and deletions held too long for their message (see
        ``store/reactions.py``, ``store/revokes.py``); returns how many ended."""

        def expire(tx: Tx) -> int:
            return expire_held_reactions(tx, now) + expire_held_for_message(tx, now)

        return await self.write(expire)
