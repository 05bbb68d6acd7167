"""E-mail in the store (issue 18): support addresses, and a received mail as one writer
transaction.

``ingest_email(tx, record)`` does everything a received mail causes, or nothing:
idempotency by Message-ID, a mail to a disconnected mailbox refused (``Conflict``), a
bounce marking our message failed, an auto-reply counted and dropped (never a ticket),
the contact found by address (any case; plus-addressing kept as given), the thread — by
In-Reply-To / References, then by the ticket token in the subject (``[#123]``, only for
the ticket's own contact: a token is easily guessed), else a new routed thread and
ticket on the mailbox —, the attachments as media rows, and the events. A closed ticket
is not reopened by mail: as on WhatsApp, the customer's next message opens a new one.

The record is read by the channel (``backend/email``): the store knows nothing of MIME.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime

from backend import schemas
from backend.domain import tickets
from backend.domain.errors import Conflict, InvalidField, NotFound
from backend.domain.previews import preview_of
from backend.domain.routing import RoutingRule
from backend.store import conversations as conv
from backend.store.base import StoreBase, loads
from backend.store.engine import Tx, dumps, iso, replayable
from backend.store.mail_outbox import disconnected_reason, fail_queued_sends, move_queued_sends
from backend.store.outbox_rows import settle_outbox_row
from backend.store.statuses import settle_ticket_delivery
from backend.store.types import (
    EmailFile,
    EmailRecord,
    IngestResult,
    Mailbox,
    MailboxConnection,
    Outcome,
)

COUNTER_DUPLICATE = "email.duplicate"
COUNTER_UNKNOWN_ADDRESS = "email.dropped_unknown_address"
COUNTER_NO_SENDER = "email.dropped_no_sender"
COUNTER_AUTOMATIC = "email.automatic"
COUNTER_BOUNCE_UNMATCHED = "email.bounce_unmatched"
FALLBACK_SUBJECT = "E-mail"
CONNECTION_KEY = "email.connection."  # + the mailbox id, in settings_kv


def _channel(row: conv.Row) -> Mailbox:
    return Mailbox(id=row["id"], address=row["address"], display_name=row["display_name"])


def add_mailbox(tx: Tx, address: str, display_name: str | None) -> Mailbox:
    key = address.strip().lower()
    if "@" not in key or any(ch.isspace() for ch in key):
        raise InvalidField(f"{address[:80]!r} is not an e-mail address.", field="address")
    name = (display_name or "").strip() or None
    row = tx.one("SELECT id FROM email_channels WHERE address = ?", (key,))
    if row is None:
        tx.insert(
            "email_channels", {"address": key, "display_name": name, "created_at": tx.now_iso}
        )
    else:  # a removed mailbox connected again: its old threads come back to life
        tx.execute(
            "UPDATE email_channels SET display_name = ?, removed_at = NULL WHERE id = ?",
            (name, row["id"]),
        )
    found = tx.one("SELECT id, address, display_name FROM email_channels WHERE address = ?", (key,))
    assert found is not None
    tx.emit(
        schemas.EventType.mailbox_updated,
        schemas.MailboxState(id=found["id"], address=found["address"]),
    )
    return _channel(found)


def connect_mailbox(
    tx: Tx,
    address: str,
    display_name: str | None,
    settings: dict[str, object],
    actor_id: int | None = None,
) -> Mailbox:
    """The mailbox (added, or its name changed) and how to reach it, kept in settings_kv
    under its id (no migration: email_channels has no columns for it)."""
    mailbox = add_mailbox(tx, address, display_name)
    tx.execute(
        "INSERT INTO settings_kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (f"{CONNECTION_KEY}{mailbox.id}", dumps(settings)),
    )
    conv.audit(tx, actor_id, "mailbox.connect", f"mailbox:{mailbox.id}", address=mailbox.address)
    return mailbox


def _in_use(tx: Tx, mailbox_id: int) -> conv.Row:
    row = tx.one(
        "SELECT id, address, display_name FROM email_channels WHERE id = ? AND removed_at IS NULL",
        (mailbox_id,),
    )
    if row is None:
        raise NotFound("There is no such mailbox.", code="mailbox_not_found")
    return row


def edit_mailbox(
    tx: Tx,
    mailbox_id: int,
    address: str,
    display_name: str | None,
    settings: dict[str, object],
    actor_id: int | None = None,
) -> Mailbox:
    """A mailbox's new address, name and connection (after the channel tested a changed
    login). A new address takes the sends still queued from the old one; the threads
    stay with the mailbox."""
    row = _in_use(tx, mailbox_id)
    key = address.strip().lower()
    if "@" not in key or any(ch.isspace() for ch in key):
        raise InvalidField(f"{address[:80]!r} is not an e-mail address.", field="address")
    if key != row["address"]:
        taken = tx.one(
            "SELECT removed_at FROM email_channels WHERE address = ? AND id != ?",
            (key, mailbox_id),
        )
        if taken is not None:
            raise Conflict(
                f"{key} is already another mailbox"
                + (" (disconnected: connect it again instead)." if taken["removed_at"] else "."),
                code="mailbox_exists",
                field="address",
            )
        move_queued_sends(tx, row["address"], key)
    name = (display_name or "").strip() or None
    tx.execute(
        "UPDATE email_channels SET address = ?, display_name = ? WHERE id = ?",
        (key, name, mailbox_id),
    )
    tx.execute(
        "INSERT INTO settings_kv (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (f"{CONNECTION_KEY}{mailbox_id}", dumps(settings)),
    )
    changed = {"address": key} if key != row["address"] else {}
    conv.audit(tx, actor_id, "mailbox.edit", f"mailbox:{mailbox_id}", **changed)
    tx.emit(schemas.EventType.mailbox_updated, schemas.MailboxState(id=mailbox_id, address=key))
    return Mailbox(id=mailbox_id, address=key, display_name=name)


def remove_mailbox(tx: Tx, mailbox_id: int, actor_id: int | None = None) -> Mailbox:
    """Disconnect a mailbox, deleting nothing of what it received or sent: it is marked
    removed, its saved connection (the passwords) forgotten, and each send still queued
    from it ends failed with the reason."""
    row = _in_use(tx, mailbox_id)
    tx.execute("UPDATE email_channels SET removed_at = ? WHERE id = ?", (tx.now_iso, mailbox_id))
    tx.execute("DELETE FROM settings_kv WHERE key = ?", (f"{CONNECTION_KEY}{mailbox_id}",))
    fail_queued_sends(tx, row["address"], disconnected_reason(row["address"]))
    conv.audit(tx, actor_id, "mailbox.remove", f"mailbox:{mailbox_id}", address=row["address"])
    tx.emit(
        schemas.EventType.mailbox_updated,
        schemas.MailboxState(id=mailbox_id, address=row["address"], removed=True),
    )
    return _channel(row)


# ------------------------------------------------------------------ received mail


# What a received mail needs first, in one statement (the four it was took twice its
# time, tests/bench/results.md): the mail stored under its Message-ID if there is one
# (``_header_id``), its mailbox, and the sender's contact (the newest not merged into
# another) with its WhatsApp ids, which a new ticket keeps. Always one row: a column is
# NULL where nothing was found.
_FIRST_READ = (
    "SELECT em.message_id AS seen, em.from_address AS seen_from, em.subject AS seen_subject, "
    "em.full_text AS seen_text, m.direction AS seen_direction, "
    "ch.id AS mailbox_id, ch.address, ch.removed_at, "
    "c.id AS contact_id, c.country, c.wa_id, c.wa_user_id "
    "FROM (SELECT 1 AS one) o "
    "LEFT JOIN email_messages em ON em.header_id = :header_id "
    "LEFT JOIN messages m ON m.id = em.message_id "
    "LEFT JOIN email_channels ch ON ch.address = :mailbox "
    "LEFT JOIN contacts c ON c.id = (SELECT id FROM contacts "
    "WHERE email_key = :sender AND merged_into IS NULL "
    "ORDER BY updated_at DESC, id DESC LIMIT 1)"
)


def _header_id(tx: Tx, record: EmailRecord, first: conv.Row) -> str | None:
    """The Message-ID to keep the mail under, or None when it is stored already. A
    redelivery repeats the sender, subject and words; a different mail under a reused
    Message-ID (a web form's or a scanner's, which give every mail the same) does not, and
    is kept under that id with a fingerprint of its own added, so it is not lost.
    ``first``: ``_FIRST_READ``'s row, with the mail stored under the id if any."""
    header_id = record.message_id
    if first["seen"] is None:
        return header_id
    fingerprint = (record.sender.lower(), record.subject, record.full_text)
    if (
        first["seen_direction"] == schemas.Direction.outbound
        or ((first["seen_from"] or "").lower(), first["seen_subject"], first["seen_text"])
        == fingerprint
    ):
        return None  # stored already, or one of ours come back (a mail loop): never a ticket
    digest = hashlib.sha256(
        "\n".join((record.sender.lower(), record.subject, record.full_text or "")).encode(
            "utf-8", "replace"
        )
    ).hexdigest()[:24]
    local, at, domain = header_id.strip("<>").rpartition("@")
    unique = f"<{local}.{digest}@{domain}>" if at else f"<{domain}.{digest}>"
    if tx.one("SELECT 1 FROM email_messages WHERE header_id = ?", (unique,)):
        return None
    return unique


def ingest_email(tx: Tx, record: EmailRecord, *, rules: Sequence[RoutingRule] = ()) -> IngestResult:
    first = tx.one(
        _FIRST_READ,
        {
            "header_id": record.message_id,
            "mailbox": record.mailbox.lower(),
            "sender": record.sender.strip().lower(),
        },
    )
    assert first is not None
    header_id = _header_id(tx, record, first)
    if header_id is None:
        conv.bump_counter(tx, COUNTER_DUPLICATE)
        return IngestResult(Outcome.duplicate)
    if record.bounced_message_id is not None or record.automatic == "bounce":
        return _bounce(tx, record)
    if record.automatic:
        conv.bump_counter(tx, COUNTER_AUTOMATIC)
        return IngestResult(Outcome.automatic)
    if first["mailbox_id"] is None:
        conv.bump_counter(tx, COUNTER_UNKNOWN_ADDRESS)
        return IngestResult(Outcome.dropped_unknown_address)
    if not record.sender.strip():  # no From, Sender, Reply-To or envelope sender
        conv.bump_counter(tx, COUNTER_NO_SENDER)
        return IngestResult(Outcome.dropped_no_sender)
    if first["removed_at"] is not None:
        # taken by the listener or fetched just before the mailbox was disconnected
        raise Conflict(
            f"The mailbox {first['address']} was disconnected: it takes no mail.",
            code="mailbox_removed",
        )
    contact_id, country, wa_ids = _contact(tx, record, first)
    at = record.at or tx.now
    kind = schemas.MessageKind.quarantined if record.quarantine_rule else schemas.MessageKind.text
    text = record.text or record.full_text or record.subject
    # a new thread is written with this mail's activity (insert_message's preview)
    activity = (iso(at), preview_of(kind, text))
    thread = _thread(
        tx,
        record,
        contact_id,
        country,
        wa_ids,
        first["mailbox_id"],
        first["address"],
        rules,
        activity,
    )
    media_ids = [_media(tx, file) for file in record.files]
    shown = next(
        (
            media_id
            for media_id, file in zip(media_ids, record.files, strict=True)
            if not file.inline
        ),
        media_ids[0] if media_ids else None,
    )
    content: dict[str, object] = {
        "email": {
            "subject": record.subject,
            "from": record.sender,
            "to": list(record.to),
            "cc": list(record.cc),
            **({"auth": record.auth} if record.auth else {}),
            **({"attachments": len(media_ids)} if media_ids else {}),
            **({"left_out": list(record.left_out)} if record.left_out else {}),
            **({"files": list(map(file_entry, media_ids, record.files))} if media_ids else {}),
        }
    }
    message_id = conv.insert_message(
        tx,
        thread_id=thread.thread_id,
        direction=schemas.Direction.inbound,
        kind=kind,
        text=text,
        media_id=shown,
        content=content,
        quarantine_rule=record.quarantine_rule,
        from_number=record.sender,
        to_number=first["address"],
        at=at,
        searchable_text=searchable_text(record),
        counted=thread.created,
    )
    tx.insert(
        "email_messages",
        {
            "message_id": message_id,
            "thread_id": thread.thread_id,
            "header_id": header_id,
            "subject": record.subject,
            "from_address": record.sender,
            "to_addresses": dumps(list(record.to)),
            "cc_addresses": dumps(list(record.cc)),
            "in_reply_to": record.in_reply_to,
            "reference_ids": dumps(list(record.references)),
            "full_text": record.full_text,
            "auth": dumps(record.auth) if record.auth else None,
            "created_at": tx.now_iso,
        },
    )
    for position, (media_id, file) in enumerate(zip(media_ids, record.files, strict=True)):
        tx.insert(
            "email_attachments",
            {
                "message_id": message_id,
                "position": position,
                "media_id": media_id,
                "content_id": file.content_id,
                "inline": int(file.inline),
            },
        )
    moved = tickets.status_after_inbound(thread.ticket_status).value
    if moved != thread.ticket_status:
        conv.set_ticket_status(tx, thread.ticket_id, moved, None)
    _emit_created(tx, record, message_id, kind, thread.thread_id, first["address"], at)
    conv.emit_thread_snapshot(tx, thread.thread_id)
    return IngestResult(
        Outcome.stored, message_id=message_id, thread_id=thread.thread_id, media_id=shown
    )


def _emit_created(
    tx: Tx,
    record: EmailRecord,
    message_id: int,
    kind: str,
    thread_id: int,
    mailbox: str,
    at: datetime,
) -> None:
    """message.created of a received mail: without files, its frame made from what was
    just inserted (``conv.added_message_json``) rather than read back."""
    email = None
    if not record.files:
        email = conv.email_json(
            quarantined=kind == schemas.MessageKind.quarantined,
            subject=record.subject,
            sender=record.sender,
            to=record.to,
            cc=record.cc,
            auth=record.auth,
            left_out=record.left_out,
        )
    if email is None:
        conv.emit_message_snapshot(tx, message_id, created=True)
        return
    data = conv.added_message_json(
        message_id,
        thread_id=thread_id,
        kind=kind,
        text=record.text or record.full_text or record.subject,
        wamid=None,
        forwarded=False,
        unsupported_reason=None,
        quarantine_rule=record.quarantine_rule,
        from_number=record.sender,
        to_number=mailbox,
        created_at=iso(at),
        email=email,
    )
    conv.emit_added_message(tx, message_id, data)


def searchable_text(record: EmailRecord) -> str:
    """What search finds a received mail by: its subject and its whole text (the thread
    shows only the new part, but a word in the quoted history or the signature finds it)."""
    return "\n".join(part for part in (record.subject, record.full_text or record.text) if part)


def _contact(
    tx: Tx, record: EmailRecord, first: conv.Row
) -> tuple[int, str | None, tuple[str | None, str | None]]:
    """The sender's contact (made if new; ``first``: as ``_FIRST_READ`` found it), its
    country, which routes a new ticket, and its WhatsApp ids (wa_id, wa_user_id)."""
    if first["contact_id"] is not None:
        return int(first["contact_id"]), first["country"], (first["wa_id"], first["wa_user_id"])
    first_name, last_name = conv.split_profile_name(record.sender_name)
    contact_id = tx.insert(
        "contacts",
        {
            "first_name": first_name,
            "last_name": last_name,
            "email": record.sender.strip(),
            "email_key": record.sender.strip().lower(),
            "created_at": tx.now_iso,
            "updated_at": tx.now_iso,
        },
    )
    conv.index_contact(tx, contact_id)
    return contact_id, None, (None, None)


def _thread(
    tx: Tx,
    record: EmailRecord,
    contact_id: int,
    country: str | None,
    wa_ids: tuple[str | None, str | None],
    mailbox_id: int,
    mailbox_address: str,
    rules: Sequence[RoutingRule],
    activity: tuple[str, str],
) -> conv.InboundThread:
    """The open thread the mail answers (by its headers, then by its ticket token), else
    a new one on the mailbox, written with the mail's ``activity`` (time, preview)."""
    found = None
    for key in record.thread_keys:
        found = tx.one(
            "SELECT th.id, th.ticket_id, th.session_expires_at, t.status "
            "FROM email_messages em JOIN threads th ON th.id = em.thread_id "
            "JOIN tickets t ON t.id = th.ticket_id "
            "WHERE em.header_id = ? AND t.status != 'closed'",
            (key,),
        )
        if found is not None:
            break
    if found is None and record.ticket_token is not None:
        found = tx.one(
            "SELECT th.id, th.ticket_id, th.session_expires_at, t.status "
            "FROM tickets t JOIN threads th ON th.id = t.thread_id "
            "WHERE t.id = ? AND t.contact_id = ? AND t.status != 'closed'",
            (record.ticket_token, contact_id),
        )
    if found is not None:
        return conv.InboundThread(found[0], found[1], False, found[2], found[3])
    owner = conv.route_ticket(
        tx,
        rules=rules,
        country=country,
        text=f"{record.subject}\n{record.text}",
    )
    # the mail moves its new ticket to waiting on us (``ingest_email``): made so at once
    moved = tickets.status_after_inbound(schemas.TicketStatus.new).value
    thread_id, ticket_id = conv.create_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=None,
        business_number=mailbox_address,
        subject=tickets.subject_from_text(record.subject or record.text, FALLBACK_SUBJECT),
        owner_id=owner,
        email_channel_id=mailbox_id,
        moved_to=moved,
        wa_ids=wa_ids,
        inbound=activity,
    )
    return conv.InboundThread(thread_id, ticket_id, True, None, moved)


def file_entry(media_id: int, file: EmailFile) -> dict[str, object]:
    """One of a mail's files as the message's content lists it (``Message.attachments``):
    an e-mail's media rows never change once written."""
    return {
        "id": media_id,
        "filename": file.filename,
        "mime_type": file.mime_type,
        "size": file.size,
        "sha256": file.sha256,
    }


def _media(tx: Tx, file: EmailFile) -> int:
    return tx.insert(
        "media",
        {
            "direction": schemas.Direction.inbound,
            "mime_type": file.mime_type,
            "filename": file.filename,
            "size": file.size,
            "sha256": file.sha256,
            "path": file.path,
            "state": schemas.MediaState.ready,
            "attempts": 1,
            "created_at": tx.now_iso,
        },
    )


def _bounce(tx: Tx, record: EmailRecord) -> IngestResult:
    """A bounce never opens a ticket: the message of ours it names is marked failed, with
    the reason in words."""
    row = (
        tx.one(
            "SELECT m.id, m.thread_id, m.status FROM email_messages em "
            "JOIN messages m ON m.id = em.message_id "
            "WHERE em.header_id = ? AND m.direction = ?",
            (record.bounced_message_id, schemas.Direction.outbound.value),
        )
        if record.bounced_message_id
        else None
    )
    if row is None:
        conv.bump_counter(tx, COUNTER_BOUNCE_UNMATCHED)
        return IngestResult(Outcome.bounce)
    reason = record.bounce_reason or "the recipient's server could not deliver it"
    settle_outbox_row(tx, row["id"])
    tx.execute(
        "UPDATE messages SET status = 'failed', error_message = ?, failed_at = ? WHERE id = ?",
        (f"Not delivered: {reason}", iso(record.at or tx.now), row["id"]),
    )
    settle_ticket_delivery(tx, row["id"], row["thread_id"])
    conv.emit_message(tx, row["id"], created=False)
    conv.emit_thread_snapshot(tx, row["thread_id"])
    return IngestResult(Outcome.bounce, message_id=row["id"], thread_id=row["thread_id"])


class MailStore(StoreBase):
    async def add_mailbox(self, address: str, display_name: str | None) -> Mailbox:
        """A support address (added, or its name changed): mail to it opens tickets."""
        return await self.write(
            functools.partial(add_mailbox, address=address, display_name=display_name)
        )

    async def mailboxes(self) -> list[Mailbox]:
        """The mailboxes in use (a removed one is left out: nothing comes in or goes out
        through it)."""
        rows = await self.readers.all(
            "SELECT id, address, display_name FROM email_channels "
            "WHERE removed_at IS NULL ORDER BY id"
        )
        return [_channel(row) for row in rows]

    async def mailbox_connection(self, mailbox_id: int) -> MailboxConnection:
        """A mailbox in use and its saved connection (empty: none saved, e.g. one from the
        ``[email]`` settings); ``NotFound`` for one removed or never there."""
        row = await self.readers.one(
            "SELECT e.id, e.address, e.display_name, s.value FROM email_channels e "
            "LEFT JOIN settings_kv s ON s.key = ? || e.id "
            "WHERE e.id = ? AND e.removed_at IS NULL",
            (CONNECTION_KEY, mailbox_id),
        )
        if row is None:
            raise NotFound("There is no such mailbox.", code="mailbox_not_found")
        return MailboxConnection(_channel(row), loads(row["value"], {}) if row["value"] else {})

    async def edit_mailbox(
        self,
        mailbox_id: int,
        address: str,
        display_name: str | None,
        settings: dict[str, object],
        *,
        actor_id: int | None = None,
    ) -> Mailbox:
        """Change a mailbox's address, name and connection (see ``edit_mailbox``)."""
        return await self.write(
            functools.partial(
                edit_mailbox,
                mailbox_id=mailbox_id,
                address=address,
                display_name=display_name,
                settings=settings,
                actor_id=actor_id,
            )
        )

    async def remove_mailbox(self, mailbox_id: int, *, actor_id: int | None = None) -> Mailbox:
        """Disconnect a mailbox, keeping its threads (see ``remove_mailbox``)."""
        return await self.write(
            functools.partial(remove_mailbox, mailbox_id=mailbox_id, actor_id=actor_id)
        )

    async def connect_mailbox(
        self,
        address: str,
        display_name: str | None,
        settings: dict[str, object],
        *,
        actor_id: int | None = None,
    ) -> Mailbox:
        """A mailbox and its connection settings (after the channel tested them)."""
        return await self.write(
            functools.partial(
                connect_mailbox,
                address=address,
                display_name=display_name,
                settings=settings,
                actor_id=actor_id,
            )
        )

    async def mailbox_connections(self) -> list[MailboxConnection]:
        rows = await self.readers.all(
            "SELECT e.id, e.address, e.display_name, s.value FROM email_channels e "
            "JOIN settings_kv s ON s.key = ? || e.id WHERE e.removed_at IS NULL ORDER BY e.id",
            (CONNECTION_KEY,),
        )
        return [MailboxConnection(_channel(row), loads(row["value"], {})) for row in rows]

    async def ingest_email(
        self, record: EmailRecord, *, rules: Sequence[RoutingRule] = ()
    ) -> IngestResult:
        """Store a received mail (see the module docstring). It changes nothing but the
        database, so the writer runs concurrent mails together without a savepoint each
        (``engine.replayable``), as it does WhatsApp's inbound messages."""
        return await self.write(
            replayable(functools.partial(ingest_email, record=record, rules=rules))
        )

    async def email_source(self, message_id: int) -> schemas.EmailSource:
        """An e-mail message's whole text; a quarantined one only once revealed."""
        row = await self.readers.one(
            "SELECT em.*, m.kind, m.quarantine_revealed FROM email_messages em "
            "JOIN messages m ON m.id = em.message_id WHERE em.message_id = ?",
            (message_id,),
        )
        if row is None:
            raise NotFound("There is no such e-mail message.", code="message_not_found")
        if row["kind"] == schemas.MessageKind.quarantined and not row["quarantine_revealed"]:
            raise Conflict(
                "That e-mail is quarantined: an admin reveals it first.", code="quarantined"
            )
        return schemas.EmailSource(
            message_id=message_id,
            header_id=row["header_id"],
            subject=row["subject"],
            full_text=row["full_text"],
            in_reply_to=row["in_reply_to"],
            references=loads(row["reference_ids"], []),
        )

    async def mailbox_position(self, mailbox: str) -> tuple[int | None, int]:
        """How far an IMAP folder was fetched: its UIDVALIDITY (None: never) and last UID."""
        row = await self.readers.one(
            "SELECT uidvalidity, last_uid FROM mailbox_positions WHERE mailbox = ?", (mailbox,)
        )
        return (None, 0) if row is None else (row["uidvalidity"], row["last_uid"])

    async def save_mailbox_position(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        def save(tx: Tx) -> None:
            tx.execute(
                "INSERT INTO mailbox_positions (mailbox, uidvalidity, last_uid, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (mailbox) DO UPDATE SET "
                "uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, "
                "updated_at = excluded.updated_at",
                (mailbox, uidvalidity, last_uid, tx.now_iso),
            )

        await self.write(save)
