"""The send path: one transaction checks the rules, counts usage, stores the message and
queues it in the outbox (SPEC §5, §6).

Checked in order, and a refusal leaves nothing behind: the thread's number is connected,
the contact is reachable, a free-form message needs an open session (409
``session_expired``), the usage limits (429). Then the message (``queued``) and its
outbox row with what was asked (an ``OutboundRequest``: the channel builds its own
request from it at send time) are written with the usage record, the ticket moves
to *waiting on contact*, and ``message.created``/``thread.updated``/``ticket.updated``
(and ``usage.updated`` when counted) are emitted. Notes are stored only: never sent.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from typing import Any

from backend import schemas
from backend.domain import tickets as ticket_rules
from backend.domain.errors import Conflict, InvalidField, NotFound, SessionExpired
from backend.domain.media_types import media_kind
from backend.domain.session import is_open
from backend.store.base import StoreBase, loads
from backend.store.conversations import (
    create_thread,
    emit_message,
    emit_thread_snapshot,
    emit_ticket_snapshot,
    insert_message,
    load_message,
    load_thread,
    open_thread_of,
    set_reaction,
    set_ticket_status,
)
from backend.store.drafts import consume_draft
from backend.store.engine import Tx, dumps, parse_dt
from backend.store.mail_outbox import email_route, queue_email, requeue_email
from backend.store.outbox_rows import decode_request, enqueue, send_reference
from backend.store.templates import find_template, given_values, prepare_template
from backend.store.types import OutboundMedia, OutboundRequest, Recipient, SendResult
from backend.store.usage import UsageRules, count_send, emit_usage, link_usage_record

COMPOSER_KINDS = (schemas.SendText, schemas.SendMedia, schemas.SendNote)  # what a draft becomes


@dataclass(frozen=True, slots=True)
class _ThreadContext:
    thread_id: int
    ticket_id: int
    ticket_status: str
    contact_id: int
    phone_number_id: str | None
    business_number: str | None
    session_open: bool
    verified_business: bool
    contact: dict[str, Any]
    group_id: str | None = None  # a WhatsApp group's thread: replies go to the group


def _thread_context(tx: Tx, thread_id: int) -> _ThreadContext:
    row = tx.one(
        "SELECT th.id, th.ticket_id, th.contact_id, th.phone_number_id, th.business_number, "
        "th.session_expires_at, th.group_id, t.status AS ticket_status FROM threads th "
        "JOIN tickets t ON t.id = th.ticket_id WHERE th.id = ?",
        (thread_id,),
    )
    if row is None:
        raise NotFound("There is no such thread.", code="thread_not_found")
    contact = tx.one("SELECT * FROM contacts WHERE id = ?", (row["contact_id"],))
    contact_data = dict(contact) if contact is not None else {}
    contact_data["properties"] = loads(contact_data.get("properties"), {})
    verified = True
    if row["phone_number_id"]:
        channel = tx.one(
            "SELECT ch.verified_business FROM phone_numbers pn JOIN channels ch "
            "ON ch.id = pn.channel_id WHERE pn.phone_number_id = ?",
            (row["phone_number_id"],),
        )
        verified = bool(channel["verified_business"]) if channel is not None else True
    return _ThreadContext(
        thread_id=row["id"],
        ticket_id=row["ticket_id"],
        ticket_status=row["ticket_status"],
        contact_id=row["contact_id"],
        phone_number_id=row["phone_number_id"],
        business_number=row["business_number"],
        session_open=is_open(parse_dt(row["session_expires_at"]), tx.now),
        verified_business=verified,
        contact=contact_data,
        group_id=row["group_id"],
    )


def _require_sendable_number(tx: Tx, phone_number_id: str | None) -> None:
    row = (
        tx.one(
            "SELECT pn.status, pn.display_phone_number, ch.status AS channel_status "
            "FROM phone_numbers pn JOIN channels ch ON ch.id = pn.channel_id "
            "WHERE pn.phone_number_id = ?",
            (phone_number_id,),
        )
        if phone_number_id
        else None
    )
    if row is None or row["status"] not in ("connected", "unhealthy"):
        raise Conflict(
            "This thread's business number is not connected to the help desk any more; "
            "reconnect it under Settings → Channels to reply.",
            code="number_not_connected",
        )
    if row["channel_status"] == "unhealthy":
        raise Conflict(
            "The WhatsApp account's access token has expired or was revoked; an admin must "
            "reconnect the channel under Settings → Channels before messages can be sent.",
            code="channel_unhealthy",
        )


def recipient_of(contact: dict[str, Any]) -> Recipient:
    """The contact's WhatsApp number, else their user id (BSUID), else a phone on file."""
    if contact.get("wa_id"):
        return Recipient(str(contact["wa_id"]), "phone")
    if contact.get("wa_user_id"):
        return Recipient(str(contact["wa_user_id"]), "user_id")
    for key in ("mobile_phone", "phone"):
        if contact.get(key):
            return Recipient(str(contact[key]).lstrip("+"), "phone")
    raise Conflict(
        "This contact has no WhatsApp number or user id to send to.", code="contact_unreachable"
    )


def _quoted(tx: Tx, thread_id: int, reply_to: int | None) -> str | None:
    """The channel's id (wamid) of the message a reply quotes."""
    if reply_to is None:
        return None
    row = tx.one("SELECT thread_id, wamid, kind FROM messages WHERE id = ?", (reply_to,))
    if row is None or row["thread_id"] != thread_id or row["kind"] == schemas.MessageKind.note:
        raise InvalidField("There is no such message in this thread to reply to.", field="reply_to")
    if not row["wamid"]:
        raise InvalidField(
            "That message has not reached WhatsApp yet, so it cannot be quoted.", field="reply_to"
        )
    return row["wamid"]


def _recipient(ctx: _ThreadContext) -> Recipient:
    """A group's thread sends to the group, never to one participant."""
    if ctx.group_id:
        return Recipient(ctx.group_id, "group")
    return recipient_of(ctx.contact)


def _require_unchanged(
    tx: Tx, thread_id: int, expected_last_message_id: int | None, agent_id: int | None
) -> None:
    """A reply written against a message is refused when the thread has moved on since:
    someone (another agent, the contact) added a message the writer has not seen. The
    writer's own sends since (a template, another reply) are not news to them."""
    if expected_last_message_id is None:
        return
    sql = "SELECT id FROM messages WHERE thread_id = ? AND id > ? AND kind NOT IN (?, ?)"
    params: list[object] = [
        thread_id,
        expected_last_message_id,
        schemas.MessageKind.note.value,
        schemas.MessageKind.event.value,
    ]
    if agent_id is not None:
        sql += " AND NOT (direction = ? AND author_id IS NOT NULL AND author_id = ?)"
        params += [schemas.Direction.outbound.value, agent_id]
    newer = tx.one(sql + " LIMIT 1", tuple(params))
    if newer is not None:
        raise Conflict(
            "Someone wrote in this thread after the message you replied to; read it, then send "
            "again. Your draft is kept.",
            code="thread_changed",
        )


def _existing_by_client_id(tx: Tx, thread_id: int, client_id: str | None) -> int | None:
    if not client_id:
        return None
    row = tx.one(
        "SELECT id FROM messages WHERE thread_id = ? AND client_id = ?", (thread_id, client_id)
    )
    return None if row is None else row["id"]


def send_in_tx(
    tx: Tx,
    *,
    thread_id: int,
    agent_id: int | None,
    request: schemas.SendRequest,
    rules: UsageRules,
) -> tuple[int, bool]:
    """Everything a send does, in the caller's transaction; returns (message id, created)."""
    existing = _existing_by_client_id(tx, thread_id, request.client_id)
    if existing is not None:
        return existing, False
    ctx = _thread_context(tx, thread_id)
    if agent_id is not None and isinstance(request, COMPOSER_KINDS):
        # undone with the rest if the send is refused
        consume_draft(tx, agent_id, thread_id, getattr(request, "draft_revision", None))
    if isinstance(request, schemas.SendNote):
        message_id = insert_message(
            tx,
            thread_id=thread_id,
            direction=schemas.Direction.outbound,
            kind=schemas.MessageKind.note,
            text=request.text,
            author_id=agent_id,
            client_id=request.client_id,
        )
        emit_message(tx, message_id, created=True)
        emit_thread_snapshot(tx, thread_id)
        return message_id, True

    mailbox = email_route(tx, thread_id, getattr(request, "channel", None))
    if mailbox is not None:  # by e-mail: the e-mail outbox (store/mail_outbox.py)
        _require_unchanged(
            tx, thread_id, getattr(request, "expected_last_message_id", None), agent_id
        )
        queued = queue_email(
            tx,
            thread_id=thread_id,
            ticket_id=ctx.ticket_id,
            mailbox=mailbox,
            agent_id=agent_id,
            request=request,
        )
        return queued, True
    for field in ("subject", "cc"):
        if getattr(request, field, None):
            raise InvalidField("A subject and Cc are for e-mail.", field=field)
    if getattr(request, "more_media_ids", None):
        raise InvalidField(
            "WhatsApp takes one file a message: send each file as a message of its own.",
            field="more_media_ids",
        )
    _require_sendable_number(tx, ctx.phone_number_id)
    _require_unchanged(tx, thread_id, getattr(request, "expected_last_message_id", None), agent_id)
    recipient = _recipient(ctx)
    free_form = not isinstance(request, schemas.SendTemplate)
    if free_form and not ctx.session_open:
        raise SessionExpired()

    # everything that can refuse with 422 is checked before usage is counted; what is
    # asked is kept with a placeholder reference until the message has its id
    values: dict[str, Any]
    asked: OutboundRequest
    reaction_target: sqlite3.Row | None = None
    if isinstance(request, schemas.SendText):
        quoted = _quoted(tx, thread_id, request.reply_to)
        values = {
            "kind": schemas.MessageKind.text,
            "text": request.text,
            "reply_to_id": request.reply_to,
            "reply_to_wamid": quoted,
        }
        asked = OutboundRequest(
            kind="text",
            recipient=recipient,
            reference="",
            text=request.text,
            link_preview=request.preview_url,
            reply_to=quoted,
        )
    elif isinstance(request, schemas.SendMedia):
        quoted = _quoted(tx, thread_id, request.reply_to)
        media = tx.one("SELECT * FROM media WHERE id = ?", (request.media_id,))
        if media is None or media["direction"] != schemas.Direction.outbound or not media["path"]:
            raise InvalidField("There is no uploaded file with that id.", field="media_id")
        kind = media_kind(media["mime_type"] or "")
        if kind is None:
            raise InvalidField("That file cannot be sent on WhatsApp.", field="media_id")
        if request.caption and kind in ("audio", "sticker"):
            raise InvalidField(f"WhatsApp sends {kind}s without a caption.", field="caption")
        if request.caption and len(request.caption) > schemas.WHATSAPP_CAPTION:
            raise InvalidField(
                f"A WhatsApp caption is at most {schemas.WHATSAPP_CAPTION:,} characters and "
                f"this one has {len(request.caption):,}: send the text as a message of its own.",
                field="caption",
            )
        values = {
            "kind": kind,
            "media_id": request.media_id,
            "caption": request.caption,
            "reply_to_id": request.reply_to,
            "reply_to_wamid": quoted,
        }
        asked = OutboundRequest(
            kind="media",
            recipient=recipient,
            reference="",
            text=request.caption,
            reply_to=quoted,
            media=OutboundMedia(request.media_id, kind, media["filename"]),
        )
    elif isinstance(request, schemas.SendTemplate):
        template = find_template(tx, request.name, request.language)
        given = given_values(template, request.variables, request.components)
        prepared = prepare_template(template, given, ctx.contact)
        values = {
            "kind": schemas.MessageKind.template,
            "text": prepared.text,
            "content": {
                "template_name": request.name,
                "template_language": request.language,
                "variables": prepared.values,
            },
        }
        asked = OutboundRequest(
            kind="template", recipient=recipient, reference="", template=prepared.filled
        )
    elif isinstance(request, schemas.SendReaction):
        reaction_target = tx.one(
            "SELECT id, thread_id, wamid, kind FROM messages WHERE id = ?", (request.message_id,)
        )
        if (
            reaction_target is None
            or reaction_target["thread_id"] != thread_id
            or reaction_target["kind"] in (schemas.MessageKind.note, schemas.MessageKind.event)
        ):
            raise InvalidField("There is no such message in this thread.", field="message_id")
        if not reaction_target["wamid"]:
            raise InvalidField(
                "That message has not reached WhatsApp yet, so it cannot be reacted to.",
                field="message_id",
            )
        values = {
            "kind": schemas.MessageKind.event,
            "text": f"Reacted {request.emoji}" if request.emoji else "Removed a reaction",
            "content": {
                "event": "reaction",
                "emoji": request.emoji,
                "target_id": request.message_id,
            },
        }
        asked = OutboundRequest(
            kind="reaction",
            recipient=recipient,
            reference="",
            emoji=request.emoji,
            reacts_to=reaction_target["wamid"],
        )
    else:  # pragma: no cover - the discriminated union has no other member
        raise InvalidField("Unknown message kind.", field="kind")

    decision = count_send(
        tx,
        rules,
        thread_id=thread_id,
        contact_id=ctx.contact_id,
        verified_business=ctx.verified_business,
    )
    message_id = insert_message(
        tx,
        thread_id=thread_id,
        direction=schemas.Direction.outbound,
        author_id=agent_id,
        client_id=request.client_id,
        status=schemas.DeliveryStatus.queued,
        from_number=ctx.business_number,
        to_number=recipient.address,
        **values,
    )
    assert ctx.phone_number_id is not None
    enqueue(
        tx,
        message_id,
        ctx.phone_number_id,
        dataclasses.replace(asked, reference=send_reference(message_id)),
    )
    if decision.counts:
        link_usage_record(tx, thread_id, message_id)
        emit_usage(tx, rules)
    emit_message(tx, message_id, created=True)
    if reaction_target is not None:
        set_reaction(
            tx,
            message_id=reaction_target["id"],
            by=schemas.Direction.outbound,
            agent_id=agent_id,
            emoji=request.emoji,  # type: ignore[union-attr]
        )
        emit_message(tx, reaction_target["id"], created=False)
    else:
        tx.execute(
            "UPDATE tickets SET last_delivery_status = 'queued' WHERE id = ?", (ctx.ticket_id,)
        )
        set_ticket_status(tx, ctx.ticket_id, schemas.TicketStatus.waiting_on_contact, agent_id)
        emit_ticket_snapshot(tx, ctx.ticket_id)
    emit_thread_snapshot(tx, thread_id)
    return message_id, True


def readable_request(stored: str | None) -> OutboundRequest | None:
    """A queued request as kept (None: a row from before 0024); one this version cannot
    read is not guessed at: the agent writes the message again."""
    if stored is None:
        return None
    try:
        return decode_request(stored)
    except (ValueError, TypeError, KeyError):
        raise Conflict(
            "This message was queued in a form this version of the help desk cannot read; "
            "write it again instead.",
            code="not_retryable",
        ) from None


def retry_in_tx(
    tx: Tx, *, thread_id: int, message_id: int, agent_id: int | None, rules: UsageRules
) -> int:
    """Queue a failed outbound message again (a new send, a new wamid); same rules."""
    row = tx.one("SELECT * FROM messages WHERE id = ?", (message_id,))
    if row is None or row["thread_id"] != thread_id:
        raise NotFound("There is no such message in this thread.", code="message_not_found")
    if row["direction"] != schemas.Direction.outbound or row["kind"] == schemas.MessageKind.note:
        raise Conflict("Only messages sent to the contact can be retried.", code="not_retryable")
    if row["status"] != schemas.DeliveryStatus.failed:
        raise Conflict("Only a failed message can be retried.", code="not_failed")
    if requeue_email(tx, message_id):
        return message_id  # an e-mail: the e-mail outbox (store/mail_outbox.py)
    outbox = tx.one(
        "SELECT request, payload, phone_number_id FROM outbox WHERE message_id = ?", (message_id,)
    )
    if outbox is None:
        raise Conflict("This message has nothing to resend.", code="not_retryable")
    asked = readable_request(outbox["request"])
    ctx = _thread_context(tx, thread_id)
    _require_sendable_number(tx, ctx.phone_number_id)
    if row["kind"] != schemas.MessageKind.template and not ctx.session_open:
        raise SessionExpired()
    # the failed attempt is not a conversation: its count (if any) is replaced by this one
    tx.execute("DELETE FROM usage_records WHERE message_id = ?", (message_id,))
    decision = count_send(
        tx,
        rules,
        thread_id=thread_id,
        contact_id=ctx.contact_id,
        verified_business=ctx.verified_business,
    )
    content = loads(row["content"], {})
    if row["wamid"]:
        content.setdefault("previous_wamids", []).append(row["wamid"])
    tx.update(
        "messages",
        message_id,
        {
            "status": schemas.DeliveryStatus.queued,
            "wamid": None,
            "error_code": None,
            "error_message": None,
            "failed_at": None,
            "sent_at": None,
            "delivered_at": None,
            "read_at": None,
            "content": dumps(content),
        },
    )
    tx.execute("DELETE FROM outbox WHERE message_id = ?", (message_id,))
    phone_number_id = ctx.phone_number_id or outbox["phone_number_id"]
    if asked is None:
        # queued before 0024: its old body goes again as it is
        enqueue(tx, message_id, phone_number_id, None, outbox["payload"])
    else:
        enqueue(
            tx, message_id, phone_number_id, dataclasses.replace(asked, recipient=_recipient(ctx))
        )
    if decision.counts:
        link_usage_record(tx, thread_id, message_id)
        emit_usage(tx, rules)
    tx.execute("UPDATE tickets SET last_delivery_status = 'queued' WHERE id = ?", (ctx.ticket_id,))
    emit_message(tx, message_id, created=False)
    emit_ticket_snapshot(tx, ctx.ticket_id)
    return message_id


class SendingStore(StoreBase):
    usage_rules: UsageRules

    async def send_message(
        self, thread_id: int, agent_id: int | None, request: schemas.SendRequest
    ) -> SendResult:
        """Store and queue one message (or return the earlier one with the same client_id)."""
        rules = self.usage_rules

        def send(tx: Tx) -> SendResult:
            message_id, created = send_in_tx(
                tx, thread_id=thread_id, agent_id=agent_id, request=request, rules=rules
            )
            return SendResult(load_message(tx, message_id), created)

        return await self.write(send)

    async def retry_message(
        self, thread_id: int, message_id: int, agent_id: int | None
    ) -> schemas.Message:
        rules = self.usage_rules

        def retry(tx: Tx) -> schemas.Message:
            retry_in_tx(
                tx, thread_id=thread_id, message_id=message_id, agent_id=agent_id, rules=rules
            )
            return load_message(tx, message_id)

        return await self.write(retry)

    async def start_conversation(
        self, contact_id: int, agent_id: int | None, spec: schemas.StartConversation
    ) -> schemas.StartedConversation:
        """A thread with the contact on a business number (its open one, or a new ticket),
        and the first message: a template, or text while a session is open."""
        rules = self.usage_rules

        def start(tx: Tx) -> schemas.StartedConversation:
            if tx.one("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)) is None:
                raise NotFound("There is no such contact.", code="contact_not_found")
            number = _business_number(tx, spec.phone_number_id)
            thread_id = open_thread_of(tx, contact_id, number["phone_number_id"])
            if thread_id is None:
                subject = f"WhatsApp: {spec.template.name}" if spec.template else (spec.text or "")
                thread_id, _ = create_thread(
                    tx,
                    contact_id=contact_id,
                    phone_number_id=number["phone_number_id"],
                    business_number=number["display_phone_number"],
                    subject=ticket_rules.subject_from_text(subject, "WhatsApp conversation"),
                    owner_id=agent_id,
                )
            request: schemas.SendRequest
            if spec.template is not None:
                request = schemas.SendTemplate(
                    kind="template",
                    name=spec.template.name,
                    language=spec.template.language,
                    variables=spec.template.variables,
                    components=spec.template.components,
                )
            elif spec.text:
                request = schemas.SendText(kind="text", text=spec.text)
            else:
                raise InvalidField(
                    "Starting a conversation needs a template (or a text while the contact's "
                    "24-hour session is open).",
                    field="template",
                )
            message_id, _ = send_in_tx(
                tx, thread_id=thread_id, agent_id=agent_id, request=request, rules=rules
            )
            return schemas.StartedConversation(
                thread=load_thread(tx, thread_id), message=load_message(tx, message_id)
            )

        return await self.write(start)

    async def record_upload(
        self,
        *,
        path: str,
        mime_type: str,
        filename: str | None,
        size: int,
        sha256: str,
    ) -> int:
        """An agent's uploaded attachment, ready to be sent (``media.direction = out``)."""

        def record(tx: Tx) -> int:
            return tx.insert(
                "media",
                {
                    "direction": schemas.Direction.outbound,
                    "mime_type": mime_type,
                    "filename": filename,
                    "size": size,
                    "sha256": sha256,
                    "path": path,
                    "state": schemas.MediaState.ready,
                    "created_at": tx.now_iso,
                },
            )

        return await self.write(record)


def _business_number(tx: Tx, phone_number_id: str | None) -> sqlite3.Row:
    if phone_number_id:
        row = tx.one(
            "SELECT phone_number_id, display_phone_number FROM phone_numbers "
            "WHERE phone_number_id = ? AND status IN ('connected', 'unhealthy')",
            (phone_number_id,),
        )
        if row is None:
            raise InvalidField(
                "That business number is not connected to the help desk.",
                field="phone_number_id",
            )
        return row
    row = tx.one(
        "SELECT phone_number_id, display_phone_number FROM phone_numbers "
        "WHERE status = 'connected' ORDER BY id LIMIT 1"
    )
    if row is None:
        raise Conflict(
            "No WhatsApp number is connected yet; an admin connects one under Settings → Channels.",
            code="no_connected_number",
        )
    return row
