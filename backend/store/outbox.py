"""The persistent send queue: one ``outbox`` row per outbound message until it is settled.

Row states: ``pending`` (due at ``next_attempt``), ``in_flight`` (claimed by the worker,
the request may be on the wire), ``ambiguous`` (the request left and no answer came:
waiting until ``next_attempt`` for a status webhook carrying our opaque data) and
``done``. A row is claimed, and so sent, by one worker at a time, under a lease
(``outbox_rows``: ``claimed_by``, ``lease_until``) its worker renews while the request is
on the wire. An ``in_flight`` row whose lease lapsed (its process died) or was handed
back (its process stopped) is treated as ambiguous, never resent; a live neighbour's
never is (PostgreSQL: several processes claim from one queue, ``FOR UPDATE SKIP
LOCKED``). SQLite is one process under its serving lock: at its start-up every
``in_flight`` row was left by a process that is gone.

``next_attempt`` is the worker's scheduling time (real time, not the store clock, so a
test's fixed clock cannot stall the queue); ``""`` means "due now".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.store.base import StoreBase, loads
from backend.store.channels import emit_channel
from backend.store.conversations import emit_message
from backend.store.engine import Tx, dumps, iso
from backend.store.outbox_rows import (
    TERMINAL_STATUSES,
    cut_off,
    decode_request,
    give_back,
    hold,
    release_leases,
    renew_leases,
    settle_outbox_row,
)
from backend.store.statuses import apply_early_statuses, settle_ticket_delivery
from backend.store.types import Lease, OutboundRequest, OutboxJob

UNREADABLE_REQUEST = (
    "This message was queued in a form this version of the help desk cannot read, so it "
    "was not sent; send it again."
)


def _checking(tx: Tx, message_ids: list[int]) -> None:
    """Sends whose outcome is unknown read "checking", not "queued", while they wait (and
    so does the ticket, when it is its latest message)."""
    for message_id in message_ids:
        changed = tx.execute(
            "UPDATE messages SET status = 'checking' WHERE id = ? "
            "AND status IN ('queued', 'sending')",
            (message_id,),
        ).rowcount
        if changed:
            thread_id = tx.one("SELECT thread_id FROM messages WHERE id = ?", (message_id,))[0]
            settle_ticket_delivery(tx, message_id, thread_id)
            emit_message(tx, message_id, created=False)


def _fail_message(tx: Tx, message_id: int, code: int | None, reason: str) -> None:
    row = tx.one("SELECT thread_id, status FROM messages WHERE id = ?", (message_id,))
    if row is None:
        return
    settle_outbox_row(tx, message_id)
    if row["status"] in ("sent", "delivered", "read", "failed"):
        return  # a status webhook got there first: it knows better
    tx.execute(
        "UPDATE messages SET status = 'failed', error_code = ?, error_message = ?, "
        "failed_at = ? WHERE id = ?",
        (code, reason, tx.now_iso, message_id),
    )
    # the ticket shows its latest message's status: an ambiguous send failed after its
    # wait may be older than one delivered meanwhile
    settle_ticket_delivery(tx, message_id, row["thread_id"])
    emit_message(tx, message_id, created=False)


def _make_ambiguous(tx: Tx, wait_until: datetime, lapsed_before: datetime | None) -> int:
    message_ids = cut_off(tx, "outbox", lapsed_before)
    for message_id in message_ids:
        tx.execute(
            "UPDATE outbox SET state = 'ambiguous', next_attempt = ?, updated_at = ?, "
            "last_error = 'the backend stopped while sending' WHERE message_id = ?",
            (iso(wait_until), tx.now_iso, message_id),
        )
    _checking(tx, message_ids)
    return len(message_ids)


class OutboxStore(StoreBase):
    async def recover_outbox(self, wait_until: datetime, now: datetime) -> int:
        """At start-up: rows left ``in_flight`` by a worker that is gone may have been
        sent; they are ambiguous (waiting until ``wait_until`` for a status). Gone: its
        lease lapsed before ``now`` or was handed back; on the only process, every one."""
        lapsed_before = None if self.single_process else now
        return await self.write(lambda tx: _make_ambiguous(tx, wait_until, lapsed_before))

    async def expire_outbox_leases(self, wait_until: datetime, now: datetime) -> int:
        """A running worker's sweep: rows whose lease lapsed before ``now`` (a neighbour
        process died mid-send) are ambiguous, as at start-up; live ones are left alone."""
        lapsed = await self.readers.value(
            "SELECT 1 FROM outbox WHERE state = 'in_flight' "
            "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
            (iso(now),),
        )
        if lapsed is None:
            return 0  # the common case: a read, no write
        return await self.write(lambda tx: _make_ambiguous(tx, wait_until, now))

    async def renew_outbox_leases(self, lease: Lease) -> int:
        """The worker's sends still on the wire hold until ``lease.until``."""
        return await self.write(lambda tx: renew_leases(tx, "outbox", lease))

    async def release_outbox_leases(self, holder: str) -> int:
        """A stopping worker hands back the leases of the sends it cut off."""
        return await self.write(lambda tx: release_leases(tx, "outbox", holder))

    async def give_back_outbox(self, message_ids: list[int]) -> int:
        """Claimed sends the worker stopped before starting: back in the queue."""
        return await self.write(lambda tx: give_back(tx, "outbox", message_ids))

    async def claim_outbox(
        self, due: datetime, limit: int, lease: Lease | None = None
    ) -> list[OutboxJob]:
        """Claim due rows (oldest first, one per thread, never behind an earlier unsettled
        message of the same thread) and mark them ``in_flight`` under ``lease``; a row
        another process is claiming at the same moment is skipped, not waited for."""
        due_iso = iso(due)

        def claim(tx: Tx) -> list[OutboxJob]:
            rows = tx.all(
                "SELECT o.message_id, o.attempts, o.request, o.payload, o.phone_number_id, m.thread_id, "
                "m.media_id, md.path AS media_path, md.mime_type AS media_mime, "
                "md.filename AS media_filename, md.external_id AS media_external_id, "
                "md.phone_number_id AS media_pnid, "
                "pn.status AS number_status, ch.id AS channel_id, ch.access_token "
                "FROM outbox o JOIN messages m ON m.id = o.message_id "
                "LEFT JOIN media md ON md.id = m.media_id "
                "LEFT JOIN phone_numbers pn ON pn.phone_number_id = o.phone_number_id "
                "LEFT JOIN channels ch ON ch.id = pn.channel_id "
                "WHERE o.state = 'pending' AND o.next_attempt <= ? "
                "AND NOT EXISTS (SELECT 1 FROM outbox o2 JOIN messages m2 ON m2.id = o2.message_id "
                "  WHERE m2.thread_id = m.thread_id AND o2.message_id < o.message_id "
                "  AND o2.state IN ('pending', 'in_flight')) "
                "ORDER BY o.message_id LIMIT ?" + tx.claim_clause("o"),
                (due_iso, limit),
            )
            jobs: list[OutboxJob] = []
            for row in rows:
                legacy = row["request"] is None  # queued before 0024: its body as built then
                request: OutboundRequest | None = None
                if not legacy:
                    try:
                        request = decode_request(row["request"])
                    except (ValueError, TypeError, KeyError):
                        # never sent: no guess at what was meant, and the queue goes on
                        _fail_message(tx, row["message_id"], None, UNREADABLE_REQUEST)
                        continue
                hold(tx, "outbox", row["message_id"], lease)
                same_number = row["media_pnid"] == row["phone_number_id"]
                jobs.append(
                    OutboxJob(
                        message_id=row["message_id"],
                        thread_id=row["thread_id"],
                        attempts=row["attempts"] + 1,
                        request=request,
                        legacy_body=loads(row["payload"], {}) if legacy else None,
                        phone_number_id=row["phone_number_id"],
                        access_token=row["access_token"],
                        channel_id=row["channel_id"],
                        number_connected=row["number_status"] in ("connected", "unhealthy"),
                        media_id=row["media_id"],
                        media_path=row["media_path"],
                        media_mime=row["media_mime"],
                        media_filename=row["media_filename"],
                        media_external_id=row["media_external_id"] if same_number else None,
                    )
                )
            return jobs

        return await self.write(claim)

    async def next_outbox_due(self) -> str | None:
        """The earliest ``next_attempt`` of an ambiguous row or of a pending one the worker
        could take (None: nothing). A send waiting behind its thread's earlier one is left
        out: it is due when that one is (its retry), or once it settles, which wakes the
        worker; counted, it kept the worker passing every ~10 ms meanwhile."""
        return await self.readers.value(
            "SELECT MIN(o.next_attempt) FROM outbox o JOIN messages m ON m.id = o.message_id "
            "WHERE o.state = 'ambiguous' OR (o.state = 'pending' AND NOT EXISTS ("
            "  SELECT 1 FROM outbox o2 JOIN messages m2 ON m2.id = o2.message_id "
            "  WHERE m2.thread_id = m.thread_id AND o2.message_id < o.message_id "
            "  AND o2.state IN ('pending', 'in_flight')))"
        )

    async def remember_media_upload(
        self, media_id: int, phone_number_id: str, external_id: str
    ) -> None:
        def remember(tx: Tx) -> None:
            tx.execute(
                "UPDATE media SET external_id = ?, phone_number_id = ? WHERE id = ?",
                (external_id, phone_number_id, media_id),
            )

        await self.write(remember)

    async def outbox_sent(self, message_id: int, wamid: str, message_status: str | None) -> None:
        """Meta accepted the send: record the wamid and settle the row.

        A status webhook may have arrived first (and attached the same wamid by our opaque
        data): the furthest state stays.
        """

        def sent(tx: Tx) -> None:
            row = tx.one(
                "SELECT thread_id, wamid, status FROM messages WHERE id = ?", (message_id,)
            )
            settle_outbox_row(tx, message_id)
            if row is None:
                return
            changes: dict[str, Any] = {}
            if row["wamid"] is None:
                clash = tx.one("SELECT id FROM messages WHERE wamid = ?", (wamid,))
                if clash is None:
                    changes["wamid"] = wamid
            if row["status"] in (None, "queued", "sending", "checking"):
                changes["status"] = "sent"
                changes["sent_at"] = tx.now_iso
            if message_status and message_status != "accepted":
                content = loads(
                    tx.one("SELECT content FROM messages WHERE id = ?", (message_id,))[0], {}
                )
                content["message_status"] = message_status
                changes["content"] = dumps(content)
            if not changes:
                return
            tx.update("messages", message_id, changes)
            if changes.get("wamid"):
                # statuses that beat the send's answer here were kept aside: apply them now
                apply_early_statuses(tx, message_id, wamid)
            if "status" in changes:
                tx.execute(
                    "UPDATE tickets SET last_delivery_status = 'sent' "
                    "WHERE id = (SELECT ticket_id FROM threads WHERE id = ?) "
                    "AND (last_delivery_status IS NULL OR last_delivery_status = 'queued')",
                    (row["thread_id"],),
                )
            emit_message(tx, message_id, created=False)

        await self.write(sent)

    async def outbox_retry_later(self, message_id: int, at: datetime, error: str) -> None:
        def later(tx: Tx) -> None:
            tx.execute(
                "UPDATE outbox SET state = 'pending', next_attempt = ?, last_error = ?, "
                "updated_at = ? WHERE message_id = ? AND state = 'in_flight'",
                (iso(at), error[:500], tx.now_iso, message_id),
            )

        await self.write(later)

    async def outbox_ambiguous(self, message_id: int, until: datetime, error: str) -> None:
        def ambiguous(tx: Tx) -> None:
            changed = tx.execute(
                "UPDATE outbox SET state = 'ambiguous', next_attempt = ?, last_error = ?, "
                "updated_at = ? WHERE message_id = ? AND state = 'in_flight'",
                (iso(until), error[:500], tx.now_iso, message_id),
            ).rowcount
            if changed:
                _checking(tx, [message_id])

        await self.write(ambiguous)

    async def outbox_failed(self, message_id: int, code: int | None, reason: str) -> None:
        """The send failed for good: the message shows the reason; the agent may retry."""
        await self.write(lambda tx: _fail_message(tx, message_id, code, reason))

    async def resolve_ambiguous(self, now: datetime, reason: str) -> list[int]:
        """Settle ambiguous rows whose wait is over: a message that got a wamid or a status
        meanwhile was sent; one that did not is failed with ``reason``, never resent."""
        now_iso = iso(now)

        def resolve(tx: Tx) -> list[int]:
            rows = tx.all(
                "SELECT o.message_id, m.wamid, m.status FROM outbox o "
                "JOIN messages m ON m.id = o.message_id "
                "WHERE o.state = 'ambiguous' AND o.next_attempt <= ?" + tx.claim_clause("o"),
                (now_iso,),
            )
            failed: list[int] = []
            for row in rows:
                if row["wamid"] or row["status"] in TERMINAL_STATUSES:
                    settle_outbox_row(tx, row["message_id"])
                else:
                    _fail_message(tx, row["message_id"], None, reason)
                    failed.append(row["message_id"])
            return failed

        return await self.write(resolve)

    async def outbox_state(self, message_id: int) -> str | None:
        return await self.readers.value(
            "SELECT state FROM outbox WHERE message_id = ?", (message_id,)
        )

    async def mark_channel_unhealthy(self, channel_id: int, reason: str) -> None:
        """A token error (190): the channel needs reconnecting; a ``channel.updated`` event."""

        def unhealthy(tx: Tx) -> None:
            row = tx.one("SELECT status, status_reason FROM channels WHERE id = ?", (channel_id,))
            if row is None or (row["status"] == "unhealthy" and row["status_reason"] == reason):
                return
            tx.execute(
                "UPDATE channels SET status = 'unhealthy', status_reason = ?, updated_at = ? "
                "WHERE id = ?",
                (reason, tx.now_iso, channel_id),
            )
            emit_channel(tx, channel_id)

        await self.write(unhealthy)
