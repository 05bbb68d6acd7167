"""A received mail (from the SMTP listener or the IMAP fetcher) into the store.

Everything that needs no database is decided here, on the event loop: the mail is read
(``parse``), the support address it came to picked, the attachments written under the
media folder (by their sha256: the same file twice is one file), a failed DMARC or the
content policy (as for WhatsApp: card numbers, phishing links) made a quarantine rule, a missing Message-ID made from the mail's bytes (so a redelivery is
still known). The store then does the rest in one transaction (``Store.ingest_email``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from backend.domain.policy import ContentPolicy
from backend.domain.routing import RoutingRule
from backend.email.parse import Attachment, InboundEmail, envelope_address, parse_email
from backend.private_files import open_private, private_dir
from backend.store import EmailFile, EmailRecord, IngestResult, Store

log = logging.getLogger(__name__)

EMAIL_FOLDER = "email"  # under the media folder
DMARC_FAIL_RULE = "dmarc_fail"  # the quarantine rule of a mail whose DMARC check failed


class MailReceiver:
    """Takes a mail's bytes and stores it; what the listener and the fetcher call."""

    def __init__(
        self,
        store: Store,
        media_dir: Path,
        *,
        authserv_id: str | None = None,
        rules: Sequence[RoutingRule] = (),
        policy: ContentPolicy | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self._addresses: set[str] | None = None  # the support addresses, as last read
        self.media_dir = media_dir
        self.authserv_id = authserv_id
        self.rules = tuple(rules)

    async def receive(
        self, raw: bytes, recipients: Iterable[str], envelope_sender: str | None = None
    ) -> IngestResult:
        """Store ``raw``, sent to ``recipients`` (the envelope's, or the mailbox's own
        address for a fetched mail): the first that is a support address is its mailbox.
        A mail that names no sender at all is from ``envelope_sender`` (the listener's
        MAIL FROM); with none either, the store drops and counts it, and it is logged."""
        mail = parse_email(raw, authserv_id=self.authserv_id)
        envelope = [address.strip().lower() for address in recipients]
        if mail.sender is None and (fallback := envelope_address(envelope_sender)):
            mail = dataclasses.replace(mail, sender=fallback)
        if mail.sender is None:
            log.warning(
                "mail %s to %s names no sender (no From, Sender, Reply-To or envelope "
                "sender): dropped",
                mail.message_id or "(no Message-ID)",
                ", ".join(envelope),
            )
        wanted = [
            *envelope,
            *(a.address.strip().lower() for a in (*mail.to, *mail.cc)),
        ]
        if self._addresses is None or not self._addresses.intersection(wanted):
            # read again when none matches: a mailbox may have been added since
            self._addresses = {mailbox.address for mailbox in await self.store.mailboxes()}
        # none a mailbox now: the envelope's first, which was one when the listener took
        # it (or the fetcher's own), for the store to refuse if it was disconnected since
        mailbox = next(
            (address for address in wanted if address in self._addresses),
            envelope[0] if envelope else "",
        )
        # most mails have no attachment: no hop to a thread for them
        files = (
            await asyncio.to_thread(self._write_files, mail.attachments) if mail.attachments else []
        )
        record = record_of(mail, raw, mailbox=mailbox, files=files)
        if record.quarantine_rule is None and self.policy is not None:
            hit = self.policy.check(f"{mail.subject}\n{mail.text}")
            record.quarantine_rule = hit.rule if hit is not None else None
        result = await self.store.ingest_email(record, rules=self.rules)
        log.info("mail %s: %s", mail.message_id or "(no Message-ID)", result.outcome)
        return result

    async def accept_forwarded(self, raw: bytes, mail_from: str, recipients: list[str]) -> None:
        """The SMTP listener's ``accept``: returns once stored (the listener says 250)."""
        await self.receive(raw, recipients, envelope_sender=mail_from)

    def _write_files(self, attachments: Sequence[Attachment]) -> list[EmailFile]:
        if not attachments:
            return []
        folder = private_dir(self.media_dir / EMAIL_FOLDER)
        files = []
        for item in attachments:
            digest = hashlib.sha256(item.data).hexdigest()
            target = folder / digest
            if not target.exists():
                temp = folder / f".{digest}.part"
                with open_private(temp) as out:
                    out.write(item.data)
                os.replace(temp, target)
            files.append(
                EmailFile(
                    filename=item.filename,
                    mime_type=item.mime,
                    size=item.size,
                    sha256=digest,
                    path=f"{EMAIL_FOLDER}/{digest}",
                    content_id=item.content_id,
                    inline=item.inline,
                )
            )
        return files


# what the email package leaves of bytes it could not decode (surrogateescape), or half
# of an emoji: characters UTF-8 cannot encode, so no database can store them
_UNENCODABLE = re.compile("[\ud800-\udfff]")


def _encodable(value: Any) -> Any:
    """``value`` with every string in it encodable: undecodable bytes become U+FFFD."""
    if isinstance(value, str):
        if _UNENCODABLE.search(value) is None:
            return value
        return _UNENCODABLE.sub("\ufffd", value)
    if isinstance(value, tuple):
        return tuple(_encodable(item) for item in value)
    if isinstance(value, dict):
        return {key: _encodable(item) for key, item in value.items()}
    if isinstance(value, EmailFile):
        return dataclasses.replace(
            value, **{f.name: _encodable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        )
    return value


def record_of(
    mail: InboundEmail, raw: bytes, *, mailbox: str, files: Sequence[EmailFile] = ()
) -> EmailRecord:
    """What the store keeps of a read mail (every string encodable: a mail with bytes no
    charset can read is kept, those bytes replaced, never refused on every try)."""
    record = _record_of(mail, raw, mailbox=mailbox, files=files)
    for item in dataclasses.fields(record):
        value = getattr(record, item.name)
        if isinstance(value, str | tuple | dict):
            setattr(record, item.name, _encodable(value))
    return record


def _record_of(
    mail: InboundEmail, raw: bytes, *, mailbox: str, files: Sequence[EmailFile]
) -> EmailRecord:
    sender = mail.sender or mail.reply_to
    bounce = mail.bounce
    return EmailRecord(
        message_id=mail.message_id or f"<{hashlib.sha256(raw).hexdigest()}@ttydesk.invalid>",
        mailbox=mailbox,
        sender=sender.address if sender is not None else "",
        sender_name=sender.name if sender is not None else None,
        subject=mail.subject,
        text=mail.reply,
        full_text=mail.text,
        at=mail.date,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        thread_keys=mail.thread_keys,
        ticket_token=mail.ticket_token,
        to=tuple(a.address for a in mail.to),
        cc=tuple(a.address for a in mail.cc),
        auth=(
            {"spf": mail.auth.spf, "dkim": mail.auth.dkim, "dmarc": mail.auth.dmarc}
            if mail.auth is not None
            else None
        ),
        quarantine_rule=DMARC_FAIL_RULE
        if mail.auth is not None and mail.auth.dmarc_failed
        else None,
        automatic=mail.automatic,
        bounced_message_id=bounce.original_message_id if bounce is not None else None,
        bounce_reason=bounce.reason if bounce is not None else None,
        files=tuple(files),
        left_out=mail.left_out,
    )
