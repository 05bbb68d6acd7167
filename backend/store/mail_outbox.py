"""Our e-mails: queued with the message in the send's transaction, claimed by the e-mail
channel's worker, and settled by what the relay said.

``email_outbox`` has the WhatsApp outbox's states (``pending``, ``in_flight``,
``ambiguous``, ``done``): a row is claimed, and so sent, by one worker at a time; an
``in_flight`` row found at start-up, or a send whose answer never came, is
``ambiguous``: it may have been delivered, so it is never sent again on its own — the
message is marked failed with "not known whether sent", and an agent decides. As in the
WhatsApp outbox, a claim holds under a lease (``outbox_rows``): only a row whose lease
lapsed or was handed back is cut off, never a live neighbour process's.

The queued ``request`` is the store's channel-neutral ``OutboundRequest`` (as in the
WhatsApp outbox: the recipient by e-mail address, the text or file, the subject, the
Message-ID answered and the thread's earlier ones). The Message-ID the mail goes out under
is the message's ``email_messages`` row (kept, so a resend reuses it); the mailbox and
the signature are read when it is claimed. The channel composes the MIME from the job.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from backend import schemas
from backend.domain.email_attachments import MailFile, check_mail_files
from backend.domain.email_subjects import sent_subject
from backend.domain.errors import InvalidField
from backend.domain.signatures import sign_off
from backend.store import conversations as conv
from backend.store.base import StoreBase, loads
from backend.store.engine import Tx, dumps, iso
from backend.store.outbox_rows import (
    cut_off,
    decode_request,
    encode_request,
    give_back,
    hold,
    release_leases,
    renew_leases,
    send_reference,
)
from backend.store.statuses import settle_ticket_delivery
from backend.store.types import (
    EmailJob,
    EmailJobFile,
    Lease,
    OutboundMedia,
    OutboundRequest,
    Recipient,
)

DUE_NOW = ""
MAX_REFERENCES = 20


def mailbox_of(tx: Tx, thread_id: int) -> conv.Row | None:
    """The mailbox of an e-mail thread (None: not an e-mail thread)."""
    return tx.one(
        "SELECT mb.id, mb.address, mb.display_name, mb.removed_at FROM threads th "
        "JOIN email_channels mb ON mb.id = th.email_channel_id WHERE th.id = ?",
        (thread_id,),
    )


def refuse_removed(mailbox: conv.Row) -> None:
    if mailbox["removed_at"] is not None:
        raise InvalidField(
            f"The mailbox {mailbox['address']} was disconnected: nothing can be sent from it "
            "(an admin can connect it again in Settings → Channels).",
            field="channel",
            code="mailbox_removed",
        )


def email_route(tx: Tx, thread_id: int, channel: str | None) -> conv.Row | None:
    """The mailbox a send goes out from, or None for WhatsApp: an e-mail thread's own, or
    with the channel switch (``channel`` EMAIL) in a WhatsApp thread, the first mailbox."""
    mailbox = mailbox_of(tx, thread_id)
    if mailbox is not None:
        if channel == schemas.ChannelType.whatsapp:
            raise InvalidField(
                "This is an e-mail thread: write to the contact on WhatsApp from one of "
                "their WhatsApp threads.",
                field="channel",
            )
        refuse_removed(mailbox)
        return mailbox
    if channel != schemas.ChannelType.email:
        return None
    mailbox = tx.one(
        "SELECT id, address, display_name FROM email_channels WHERE removed_at IS NULL "
        "ORDER BY id LIMIT 1"
    )
    if mailbox is None:
        raise InvalidField(
            "E-mail is not set up: there is no support address ([email] addresses).",
            field="channel",
        )
    return mailbox


def copied_addresses(cc: list[str], to: str) -> list[str]:
    """The Cc addresses an agent typed, trimmed, each once and not the recipient's;
    one that is not an address is refused (the draft is kept)."""
    kept: list[str] = []
    for raw in cc:
        address = raw.strip()
        local, at, domain = address.partition("@")
        if not (local and at and "." in domain) or any(c.isspace() or c in "<>,;" for c in address):
            raise InvalidField(f"{raw!r} is not an e-mail address.", field="cc")
        if address.lower() != to.lower() and address.lower() not in map(str.lower, kept):
            kept.append(address)
    return kept


def queue_email(
    tx: Tx,
    *,
    thread_id: int,
    ticket_id: int,
    mailbox: conv.Row,
    agent_id: int | None,
    request: schemas.SendRequest,
) -> int:
    """An agent's reply on an e-mail thread: the message row, its e-mail row (its
    Message-ID: a bounce or the customer's answer finds it) and the queued request."""
    if not isinstance(request, schemas.SendText | schemas.SendMedia):
        raise InvalidField(
            "An e-mail thread takes text (and attachments); templates and reactions are "
            "WhatsApp's.",
            field="kind",
        )
    contact = tx.one(
        "SELECT c.email FROM threads th JOIN contacts c ON c.id = th.contact_id WHERE th.id = ?",
        (thread_id,),
    )
    to = (contact["email"] or "").strip() if contact is not None else ""
    if not to:
        raise InvalidField("This contact has no e-mail address to write to.", field="channel")
    last = tx.one(
        "SELECT header_id, subject, reference_ids FROM email_messages em "
        "JOIN messages m ON m.id = em.message_id "
        "WHERE em.thread_id = ? AND m.direction = ? ORDER BY em.message_id DESC LIMIT 1",
        (thread_id, schemas.Direction.inbound.value),
    )
    chosen = (request.subject or "").strip() or tx.one(
        "SELECT subject FROM tickets WHERE id = ?", (ticket_id,)
    )["subject"]
    cc = copied_addresses(request.cc, to)
    in_reply_to = last["header_id"] if last is not None else None
    # kept as the mail says it, so the thread shows the subject the customer receives
    subject = sent_subject(chosen, ticket_id, reply=in_reply_to is not None)
    references = [*loads(last["reference_ids"], []), in_reply_to] if last is not None else []
    references = [ref for ref in references if ref]
    if len(references) > MAX_REFERENCES:
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
    domain = mailbox["address"].partition("@")[2]
    header_id = f"<ttydesk.{uuid.uuid4().hex}@{domain}>"
    more: list[int] = []
    listed: list[dict[str, object]] = []
    if isinstance(request, schemas.SendText):
        text, media_id, caption = request.text, None, None
    else:
        text, media_id, caption = request.caption or "", request.media_id, request.caption
        more = [mid for mid in dict.fromkeys(request.more_media_ids) if mid != media_id]
        listed = _mail_files(tx, media_id, more)
    message_id = conv.insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.outbound,
        kind=schemas.MessageKind.document if media_id else schemas.MessageKind.text,
        text=text if media_id is None else None,
        caption=caption,
        media_id=media_id,
        author_id=agent_id,
        client_id=request.client_id,
        status=schemas.DeliveryStatus.queued,
        content={
            "email": {
                "subject": subject,
                "from": mailbox["address"],
                "to": [to],
                **({"cc": cc} if cc else {}),
                **({"attachments": 1 + len(more), "files": listed} if media_id else {}),
            }
        },
        from_number=mailbox["address"],
        to_number=to,
    )
    tx.insert(
        "email_messages",
        {
            "message_id": message_id,
            "thread_id": thread_id,
            "header_id": header_id,
            "subject": subject,
            "from_address": mailbox["address"],
            "to_addresses": dumps([to]),
            "cc_addresses": dumps(cc),
            "in_reply_to": in_reply_to,
            "reference_ids": dumps(references),
            "full_text": text,
            "created_at": tx.now_iso,
        },
    )
    request = OutboundRequest(
        kind="media" if media_id else "text",
        recipient=Recipient(address=to, by="email"),
        reference=send_reference(message_id),
        text=text or None,
        reply_to=in_reply_to,
        media=OutboundMedia(media_id=media_id, kind="document") if media_id else None,
        attachments=tuple(OutboundMedia(media_id=mid, kind="document") for mid in more),
        subject=subject,
        references=tuple(references),
        cc=tuple(cc),
    )
    tx.execute(
        "INSERT INTO email_outbox (message_id, state, attempts, next_attempt, request, "
        "updated_at) VALUES (?, 'pending', 0, ?, ?, ?)",
        (message_id, DUE_NOW, encode_request(request), tx.now_iso),
    )
    conv.emit_message(tx, message_id, created=True)
    tx.execute("UPDATE tickets SET last_delivery_status = 'queued' WHERE id = ?", (ticket_id,))
    conv.set_ticket_status(tx, ticket_id, schemas.TicketStatus.waiting_on_contact, agent_id)
    conv.emit_ticket_snapshot(tx, ticket_id)
    conv.emit_thread_snapshot(tx, thread_id)
    return message_id


def _mail_files(tx: Tx, media_id: int, more: list[int]) -> list[dict[str, object]]:
    """The uploaded files of one e-mail exist and fit in it (``check_mail_files``); as the
    message's content lists them (``mail.file_entry``)."""
    files: list[MailFile] = []
    listed: list[dict[str, object]] = []
    for mid, field in [(media_id, "media_id"), *((mid, "more_media_ids") for mid in more)]:
        media = tx.one("SELECT * FROM media WHERE id = ?", (mid,))
        if media is None or media["direction"] != schemas.Direction.outbound or not media["path"]:
            raise InvalidField(f"There is no uploaded file with the id {mid}.", field=field)
        files.append(MailFile(media["filename"] or f"file {mid}", media["size"] or 0))
        listed.append(
            {
                "id": mid,
                "filename": media["filename"],
                "mime_type": media["mime_type"],
                "size": media["size"],
                "sha256": media["sha256"],
            }
        )
    check_mail_files(files, field="more_media_ids" if more else "media_id")
    return listed


def requeue_email(tx: Tx, message_id: int) -> bool:
    """An agent's retry of a failed e-mail: queued again under the same Message-ID (a
    mail client shows a copy that did arrive once); False when it was never queued.
    Refused when the mailbox it is sent from was disconnected (or took another address)."""
    sender = tx.one(
        "SELECT em.from_address AS address, mb.id, mb.removed_at FROM email_outbox o "
        "JOIN email_messages em ON em.message_id = o.message_id "
        "LEFT JOIN email_channels mb ON mb.address = em.from_address WHERE o.message_id = ?",
        (message_id,),
    )
    if sender is not None:
        if sender["id"] is None:
            raise InvalidField(
                f"It was written from {sender['address']}, which is no longer a mailbox here: "
                "send it again as a new reply.",
                field="channel",
                code="mailbox_removed",
            )
        refuse_removed(sender)
    changed = tx.execute(
        "UPDATE email_outbox SET state = 'pending', next_attempt = ?, attempts = 0, "
        "last_error = NULL, updated_at = ? WHERE message_id = ?",
        (DUE_NOW, tx.now_iso, message_id),
    ).rowcount
    if not changed:
        return False
    tx.update(
        "messages",
        message_id,
        {
            "status": schemas.DeliveryStatus.queued,
            "error_code": None,
            "error_message": None,
            "failed_at": None,
            "sent_at": None,
        },
    )
    conv.emit_message(tx, message_id, created=False)
    return True


def disconnected_reason(address: str) -> str:
    return f"Not sent: the mailbox {address} was disconnected before it went out."


def fail_queued_sends(tx: Tx, address: str, reason: str) -> list[int]:
    """Each send still queued from ``address`` ends failed with ``reason`` (a mailbox
    disconnected): never dropped in silence. One on the wire right now is left to finish."""
    message_ids = [
        row["message_id"]
        for row in tx.all(
            "SELECT o.message_id FROM email_outbox o "
            "JOIN email_messages em ON em.message_id = o.message_id "
            "WHERE o.state = 'pending' AND em.from_address = ?",
            (address,),
        )
    ]
    for message_id in message_ids:
        _settle(tx, message_id, "done", reason)
        _mark(
            tx,
            message_id,
            {"status": schemas.DeliveryStatus.failed, "failed_at": tx.now_iso,
             "error_message": reason},
        )  # fmt: skip
    return message_ids


def move_queued_sends(tx: Tx, old_address: str, new_address: str) -> None:
    """A mailbox's address changed: the sends still queued from it go out from the new one."""
    for row in tx.all(
        "SELECT o.message_id, m.content FROM email_outbox o "
        "JOIN email_messages em ON em.message_id = o.message_id "
        "JOIN messages m ON m.id = o.message_id "
        "WHERE o.state = 'pending' AND em.from_address = ?",
        (old_address,),
    ):
        content = loads(row["content"], {})
        if isinstance(content.get("email"), dict):
            content["email"]["from"] = new_address
        tx.execute(
            "UPDATE email_messages SET from_address = ? WHERE message_id = ?",
            (new_address, row["message_id"]),
        )
        tx.execute(
            "UPDATE messages SET from_number = ?, content = ? WHERE id = ?",
            (new_address, dumps(content), row["message_id"]),
        )


def _settle(tx: Tx, message_id: int, state: str, error: str | None = None) -> None:
    tx.execute(
        "UPDATE email_outbox SET state = ?, last_error = ?, updated_at = ? WHERE message_id = ?",
        (state, error, tx.now_iso, message_id),
    )


def _mark(tx: Tx, message_id: int, changes: dict[str, Any]) -> None:
    row = tx.one("SELECT thread_id, status FROM messages WHERE id = ?", (message_id,))
    if row is None or row["status"] == schemas.DeliveryStatus.failed:
        return  # a bounce got there first: it knows better
    tx.update("messages", message_id, changes)
    settle_ticket_delivery(tx, message_id, row["thread_id"])
    conv.emit_message(tx, message_id, created=False)


def record_outcome(
    tx: Tx, message_id: int, outcome: str, detail: str, retry_at: datetime | None
) -> None:
    if outcome == "sent":
        _settle(tx, message_id, "done")
        _mark(tx, message_id, {"status": schemas.DeliveryStatus.sent, "sent_at": tx.now_iso})
    elif outcome == "retry" and retry_at is not None and (gone := _sender_gone(tx, message_id)):
        # refused for now while its mailbox was being disconnected: never tried again
        # from it (the removal failed the sends queued then; this one was on the wire)
        _settle(tx, message_id, "done", detail[:500])
        _mark(
            tx,
            message_id,
            {"status": schemas.DeliveryStatus.failed, "failed_at": tx.now_iso,
             "error_message": disconnected_reason(gone)},
        )  # fmt: skip
    elif outcome == "retry" and retry_at is not None:
        tx.execute(
            "UPDATE email_outbox SET state = 'pending', next_attempt = ?, last_error = ?, "
            "updated_at = ? WHERE message_id = ?",
            (iso(retry_at), detail[:500], tx.now_iso, message_id),
        )
    elif outcome == "ambiguous":
        _settle(tx, message_id, "ambiguous", detail[:500])
        _mark(
            tx,
            message_id,
            {
                "status": schemas.DeliveryStatus.failed,
                "failed_at": tx.now_iso,
                "error_message": "Not known whether it was sent: the relay's connection ended "
                "after the mail was handed over. Check with the customer before sending again.",
            },
        )
    else:  # failed, or a retry with no attempts left
        _settle(tx, message_id, "done", detail[:500])
        _mark(
            tx,
            message_id,
            {
                "status": schemas.DeliveryStatus.failed,
                "failed_at": tx.now_iso,
                "error_message": f"The relay refused it: {detail[:300]}",
            },
        )


def _sender_gone(tx: Tx, message_id: int) -> str | None:
    """The address a queued e-mail is sent from, when that is no longer a mailbox in use."""
    row = tx.one(
        "SELECT em.from_address AS address, mb.removed_at, mb.id FROM email_messages em "
        "LEFT JOIN email_channels mb ON mb.address = em.from_address WHERE em.message_id = ?",
        (message_id,),
    )
    if row is None or (row["id"] is not None and row["removed_at"] is None):
        return None
    return row["address"]


def claim(tx: Tx, due_iso: str, limit: int, lease: Lease | None = None) -> list[EmailJob]:
    rows = tx.all(
        "SELECT o.message_id, o.attempts, o.request, m.thread_id, em.header_id, "
        "ag.name AS author, ag.signature, mb.address, mb.display_name, th.ticket_id "
        "FROM email_outbox o JOIN messages m ON m.id = o.message_id "
        "JOIN email_messages em ON em.message_id = o.message_id "
        "JOIN threads th ON th.id = m.thread_id "
        "JOIN email_channels mb ON mb.address = em.from_address "
        "LEFT JOIN agents ag ON ag.id = m.author_id "
        "WHERE o.state = 'pending' AND o.next_attempt <= ? ORDER BY o.message_id LIMIT ?"
        + tx.claim_clause("o"),
        (due_iso, limit),
    )
    jobs = []
    for row in rows:
        hold(tx, "email_outbox", row["message_id"], lease)
        request = decode_request(row["request"])
        files = []
        wanted = (request.media, *request.attachments) if request.media is not None else ()
        for outbound in wanted:
            media = tx.one(
                "SELECT path, mime_type, filename FROM media WHERE id = ?",
                (outbound.media_id,),
            )
            if media is not None and media["path"]:
                files.append(
                    EmailJobFile(
                        path=media["path"],
                        mime_type=media["mime_type"] or "application/octet-stream",
                        filename=media["filename"] or "attachment",
                    )
                )
        jobs.append(
            EmailJob(
                message_id=row["message_id"],
                thread_id=row["thread_id"],
                attempts=row["attempts"] + 1,
                request=request,
                header_id=row["header_id"],
                sender=row["address"],
                sender_name=row["display_name"],
                ticket_id=row["ticket_id"],
                signature=sign_off(row["signature"], row["author"], row["display_name"]),
                files=tuple(files),
            )
        )
    return jobs


def recover(tx: Tx, lapsed_before: datetime | None) -> int:
    """A row left ``in_flight`` by a worker that is gone (``outbox_rows.cut_off``) may
    have been sent; it is ambiguous."""
    message_ids = cut_off(tx, "email_outbox", lapsed_before)
    for message_id in message_ids:
        record_outcome(tx, message_id, "ambiguous", "the backend stopped while sending", None)
    return len(message_ids)


class MailOutboxStore(StoreBase):
    async def claim_email_outbox(
        self, due: datetime, limit: int, lease: Lease | None = None
    ) -> list[EmailJob]:
        """Claim due e-mails (oldest first) and mark them ``in_flight`` under ``lease``; one
        another process is claiming at the same moment is skipped, not waited for."""
        due_iso = iso(due)
        return await self.write(lambda tx: claim(tx, due_iso, limit, lease))

    async def give_back_email_outbox(self, message_ids: list[int]) -> int:
        """Claimed e-mails the worker stopped before handing over: back in the queue."""
        return await self.write(lambda tx: give_back(tx, "email_outbox", message_ids))

    async def email_send_outcome(
        self, message_id: int, outcome: str, detail: str, retry_at: datetime | None = None
    ) -> None:
        """What the relay said of a claimed e-mail: ``sent``, ``retry`` (at ``retry_at``;
        without it, no attempts are left and it failed), ``failed`` or ``ambiguous``."""
        await self.write(lambda tx: record_outcome(tx, message_id, outcome, detail, retry_at))

    async def recover_email_outbox(self, now: datetime) -> int:
        """At start-up: e-mails left ``in_flight`` by a worker that is gone (its lease
        lapsed before ``now`` or was handed back; on the only process, every one)."""
        lapsed_before = None if self.single_process else now
        return await self.write(lambda tx: recover(tx, lapsed_before))

    async def expire_email_leases(self, now: datetime) -> int:
        """A running worker's sweep: e-mails whose lease lapsed before ``now`` (a
        neighbour process died mid-send) are ambiguous; live ones are left alone."""
        lapsed = await self.readers.value(
            "SELECT 1 FROM email_outbox WHERE state = 'in_flight' "
            "AND (lease_until IS NULL OR lease_until < ?) LIMIT 1",
            (iso(now),),
        )
        if lapsed is None:
            return 0  # the common case: a read, no write
        return await self.write(lambda tx: recover(tx, now))

    async def renew_email_leases(self, lease: Lease) -> int:
        return await self.write(lambda tx: renew_leases(tx, "email_outbox", lease))

    async def release_email_leases(self, holder: str) -> int:
        return await self.write(lambda tx: release_leases(tx, "email_outbox", holder))

    async def next_email_due(self) -> str | None:
        return await self.readers.value(
            "SELECT MIN(next_attempt) FROM email_outbox WHERE state = 'pending'"
        )
