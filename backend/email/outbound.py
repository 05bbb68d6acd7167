"""The e-mail outbox worker: claims our queued e-mails, composes each (``compose``) and
hands it to the relay (``smtp_send``), and tells the store what happened — each mail at
most once: a send whose answer never came is flagged, never resent on its own. Each mail
is claimed under a lease (``backend/leases.py``) renewed while it is being handed over, so
a neighbour process on the same database takes it for cut off only if this one died."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from backend.domain.email_subjects import sent_subject
from backend.email.compose import OutgoingAttachment, compose
from backend.email.parse import Address
from backend.email.smtp_send import Outcome, Relay, send
from backend.leases import DEFAULT_LEASE_SECONDS, LeaseKeeper, claim_or_give_back
from backend.store import EmailJob, Store

log = logging.getLogger(__name__)

# seconds to wait before attempt 2, 3, …; after the last, the mail has failed
RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0, 1800.0)
POLL_SECONDS = 2.0
BATCH = 20


def mail_of(job: EmailJob, media_dir: Path, at: datetime) -> EmailMessage:
    """The mail a claimed job sends: a reply (``Re:``, In-Reply-To) when it answers one of
    the customer's, else a new mail; the ticket's token in the subject either way."""
    request = job.request
    subject = request.subject or ""
    attachments = [
        OutgoingAttachment(
            filename=file.filename,
            mime=file.mime_type,
            data=_path(media_dir, file.path).read_bytes(),
        )
        for file in job.files
    ]
    reply = request.reply_to is not None
    return compose(
        sender=Address(job.sender, job.sender_name),
        to=Address(request.recipient.address),
        cc=[Address(address) for address in request.cc],
        subject=sent_subject(subject, job.ticket_id, reply=reply),
        text=request.text or "",
        domain=job.sender.partition("@")[2],
        at=at,
        signature=job.signature,
        in_reply_to=request.reply_to,
        references=request.references,
        attachments=attachments,
        message_id=job.header_id,
    )


def _path(media_dir: Path, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else media_dir / path


class EmailOutbox:
    def __init__(
        self,
        store: Store,
        relay: Relay | None,
        media_dir: Path,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        relays: Mapping[str, Relay] | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self.store = store
        self.relay = relay  # the [email] relay
        self.relays = dict(relays or {})  # a connected mailbox's own, by its address
        self.media_dir = media_dir
        self.retry_delays = tuple(retry_delays)
        self._wake = asyncio.Event()
        self._delivering = False  # claimed mails are being handed over
        self.leases = LeaseKeeper(
            "email",
            seconds=lease_seconds,
            renew=store.renew_email_leases,
            sweep=store.expire_email_leases,
            release=store.release_email_leases,
            busy=lambda: self._delivering,
        )

    def wake(self) -> None:
        self._wake.set()

    def use_relay(self, address: str, relay: Relay | None) -> None:
        """Replies from ``address`` go through ``relay`` from now on (None: the
        ``[email]`` one): a mailbox connected while the server runs."""
        if relay is None:
            self.relays.pop(address, None)
        else:
            self.relays[address] = relay

    async def run(self) -> None:
        await self.store.recover_email_outbox(self.leases.now())
        self.leases.start()
        try:
            while True:
                try:
                    await self.run_once()
                except Exception:
                    log.exception("the e-mail outbox worker failed; trying again")
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
                except TimeoutError:
                    pass
        finally:
            await self.leases.stop()

    async def run_once(self) -> int:
        now = datetime.now(UTC)
        due = await self.store.next_email_due()  # a read: most wakes find nothing to send
        if due is None or due > now.isoformat(timespec="microseconds"):
            return 0
        jobs = await claim_or_give_back(
            self.store.claim_email_outbox(now, BATCH, self.leases.lease()), self._give_back
        )
        self._delivering = bool(jobs)
        handed = 0
        try:
            for job in jobs:
                handed += 1  # (one cut off while handed over may have gone: it stays in_flight)
                await self.deliver(job)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._give_back(jobs[handed:])  # the rest never left
            raise
        finally:
            self._delivering = False
        return len(jobs)

    async def _give_back(self, jobs: Sequence[EmailJob]) -> None:
        if jobs:
            await self.store.give_back_email_outbox([job.message_id for job in jobs])

    async def deliver(self, job: EmailJob) -> None:
        relay = self.relays.get(job.sender.lower(), self.relay)
        if relay is None:
            await self.store.email_send_outcome(
                job.message_id, "failed", "no relay is configured ([email] relay_host)"
            )
            return
        try:
            mail = mail_of(job, self.media_dir, self.store.now())
        except OSError as exc:
            await self.store.email_send_outcome(
                job.message_id, "failed", f"an attachment could not be read: {exc}"
            )
            return
        result = await send(mail, relay)
        log.info("e-mail for message %s: %s %s", job.message_id, result.outcome, result.detail)
        if result.outcome is Outcome.retry and job.attempts <= len(self.retry_delays):
            delay = self.retry_delays[job.attempts - 1]
            await self.store.email_send_outcome(
                job.message_id,
                "retry",
                result.detail,
                retry_at=datetime.now(UTC) + timedelta(seconds=delay),
            )
            return
        outcome = "failed" if result.outcome is Outcome.retry else result.outcome.value
        await self.store.email_send_outcome(job.message_id, outcome, result.detail)
