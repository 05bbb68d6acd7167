"""The heart of the store: contacts, threads, tickets and messages, and their wire shapes.

Functions that take a ``Tx`` run inside a writer transaction and may be composed by
other areas (the WhatsApp ingest calls ``resolve_whatsapp_contact``,
``inbound_thread`` and ``insert_message`` in one transaction). The ``*_from_row``
functions shape rows read by either the writer or the aiosqlite readers, so one SELECT
serves both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any

from backend import schemas
from backend.domain import routing, tickets
from backend.domain.errors import NotFound
from backend.domain.phones import normalize_phone, region_of
from backend.domain.previews import preview_of
from backend.store.base import loads
from backend.store.engine import SqlEvent, Tx, dumps, iso, parse_dt, sql_function

Row = sqlite3.Row | Mapping[str, Any]

# the same customers write again and again: parsing their number is worth remembering
cached_normalize_phone = lru_cache(maxsize=8192)(normalize_phone)


# ------------------------------------------------------------------ shapes


def ticket_columns(thread: str) -> str:
    """The columns ``ticket_from_row`` reads, over ``tickets t`` and the ticket's thread
    as ``thread``: the inbound activity lives on the thread's row (migration 0007), and
    the ticket's updated_at is the later of its own and its newest inbound message's."""
    return f"""t.id AS t_id, t.subject AS t_subject, t.status AS t_status,
    t.priority AS t_priority, t.owner_id AS t_owner_id, t.pipeline AS t_pipeline,
    t.original_channel_type AS t_original_channel_type, t.thread_id AS t_thread_id,
    t.contact_id AS t_contact_id, t.business_number AS t_business_number,
    t.contact_wa_id AS t_contact_wa_id, t.needs_review AS t_needs_review,
    {thread}.first_inbound_at AS t_first_inbound_at,
    {thread}.last_inbound_at AS t_last_inbound_at,
    {thread}.session_expires_at AS t_session_expires_at,
    t.first_response_seconds AS t_first_response_seconds,
    COALESCE({thread}.inbound_count, 0) AS t_inbound_count,
    t.outbound_count AS t_outbound_count,
    t.last_delivery_status AS t_last_delivery_status, t.created_at AS t_created_at,
    {ticket_updated_at(thread)} AS t_updated_at, t.closed_at AS t_closed_at,
    t.snoozed_until AS t_snoozed_until, t.resolution_seconds AS t_resolution_seconds,
    t.billable_messages AS t_billable_messages"""


def ticket_updated_at(thread: str) -> str:
    # both are iso() text, fixed width in UTC: the later one is the larger string
    return f"MAX(t.updated_at, COALESCE({thread}.inbound_stored_at, ''))"


THREAD_SELECT = f"""SELECT th.id, th.channel_type, th.phone_number_id, th.business_number,
    th.last_message_at, th.last_message_preview, th.last_message_direction, th.unread_count,
    th.session_expires_at, th.created_at, th.from_ad, th.group_id,
    c.id AS c_id, c.first_name AS c_first_name, c.last_name AS c_last_name,
    c.phone AS c_phone, c.mobile_phone AS c_mobile_phone, c.wa_id AS c_wa_id,
    c.wa_user_id AS c_wa_user_id, c.wa_username AS c_wa_username,
    {ticket_columns("th")}
FROM threads th
JOIN contacts c ON c.id = th.contact_id
JOIN tickets t ON t.id = th.ticket_id"""

TICKET_SELECT = (
    f"SELECT {ticket_columns('tth')} FROM tickets t LEFT JOIN threads tth ON tth.id = t.thread_id"
)


def _json_time(column: str) -> str:
    """A stored time (``iso()``: UTC, microseconds) as pydantic writes that datetime."""
    return f"replace(replace({column}, '.000000+00:00', 'Z'), '+00:00', 'Z')"


def _json_bool(column: str) -> str:
    return f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"


def _or(*columns: str) -> str:
    """Python's ``a or b or ...`` over text columns: the first non-empty one, else the last."""
    *head, last = columns
    return "COALESCE(" + ", ".join(f"NULLIF({c}, '')" for c in head) + f", {last})"


# ticket_from_row / contact_summary_from_row / thread_from_row, as SQLite JSON (SqlEvent)
def ticket_json(thread: str) -> str:
    """``ticket_from_row`` as SQLite JSON, over ``tickets t`` and its thread as ``thread``."""
    return f"""json_object('id', t.id, 'subject', t.subject, 'status', t.status,
    'priority', t.priority, 'owner_id', t.owner_id, 'pipeline', t.pipeline,
    'original_channel_type', t.original_channel_type, 'thread_id', t.thread_id,
    'contact_id', t.contact_id, 'business_number', t.business_number,
    'contact_wa_id', t.contact_wa_id, 'needs_review', {_json_bool("t.needs_review")},
    'first_inbound_at', {_json_time(f"{thread}.first_inbound_at")},
    'last_inbound_at', {_json_time(f"{thread}.last_inbound_at")},
    'session_expires_at', {_json_time(f"{thread}.session_expires_at")},
    'first_response_seconds', t.first_response_seconds,
    'inbound_count', COALESCE({thread}.inbound_count, 0),
    'outbound_count', t.outbound_count, 'last_delivery_status', t.last_delivery_status,
    'created_at', {_json_time("t.created_at")},
    'updated_at', {_json_time(ticket_updated_at(thread))},
    'closed_at', {_json_time("t.closed_at")},
    'snoozed_until', {_json_time("t.snoozed_until")},
    'resolution_seconds', t.resolution_seconds, 'billable_messages', t.billable_messages)"""


_CONTACT_NAME = f"""COALESCE(NULLIF(CASE
        WHEN COALESCE(c.first_name, '') != '' AND COALESCE(c.last_name, '') != ''
        THEN c.first_name || ' ' || c.last_name
        ELSE COALESCE(NULLIF(c.first_name, ''), NULLIF(c.last_name, ''), '') END, ''),
    {_or("c.phone", "c.mobile_phone", "c.wa_username", "c.wa_user_id", "NULL")},
    'Unknown contact')"""
CONTACT_SUMMARY_JSON = f"""json_object('id', c.id, 'name', {_CONTACT_NAME},
    'phone', CASE WHEN COALESCE(c.phone, '') != '' THEN c.phone ELSE c.mobile_phone END,
    'wa_id', c.wa_id, 'wa_user_id', c.wa_user_id, 'wa_username', c.wa_username)"""
THREAD_JSON = f"""json_object('id', th.id, 'channel_type', th.channel_type,
    'business_number', th.business_number, 'phone_number_id', th.phone_number_id,
    'contact', {CONTACT_SUMMARY_JSON}, 'ticket', {ticket_json("th")},
    'last_message_at', {_json_time("th.last_message_at")},
    'last_message_preview', th.last_message_preview,
    'last_message_direction', th.last_message_direction, 'unread_count', th.unread_count,
    'session_expires_at', {_json_time("th.session_expires_at")},
    'created_at', {_json_time("th.created_at")},
    'from_ad', {_json_bool("th.from_ad")}, 'group_id', th.group_id)"""


def _frame_sql(event_type: str, data: str) -> str:
    return (
        f"""'{{"seq":' || (j.value ->> 0) || ',"type":"{event_type}","data":' || {data} || '}}'"""
    )


THREAD_UPDATED = SqlEvent(
    schemas.EventType.thread_updated.value,
    f"""SELECT j.value ->> 0 AS seq, {_frame_sql("thread.updated", THREAD_JSON)} AS payload
FROM json_each(:pairs) j
JOIN threads th ON th.id = j.value ->> 1
JOIN contacts c ON c.id = th.contact_id
JOIN tickets t ON t.id = th.ticket_id""",
)


def _json_flag(path: str) -> str:
    """A true/false in ``m.content`` at ``path`` as JSON, else null."""
    return (
        f"CASE json_type(m.content, '{path}') WHEN 'true' THEN json('true') "
        f"WHEN 'false' THEN json('false') END"
    )


def _json_real(expression: str) -> str:
    return f"CASE WHEN {expression} IS NOT NULL THEN CAST({expression} AS REAL) END"


AD_REFERRAL_FIELDS = tuple(schemas.AdReferral.model_fields)
REFERRED_PRODUCT_FIELDS = tuple(schemas.ReferredProduct.model_fields)
GROUP_SENDER_FIELDS = tuple(schemas.GroupSender.model_fields)


def _json_texts(path: str, fields: Sequence[str]) -> str:
    """The object in ``m.content`` at ``path`` with these fields as text, else null."""
    pairs = ", ".join(f"'{name}', CAST(m.content ->> '{path}.{name}' AS TEXT)" for name in fields)
    return f"CASE WHEN json_type(m.content, '{path}') = 'object' THEN json_object({pairs}) END"


def _texts(value: Any, fields: Sequence[str]) -> dict[str, str | None] | None:
    """``_json_texts`` for ``message_from_row``."""
    if not isinstance(value, dict):
        return None
    return {name: None if value.get(name) is None else str(value[name]) for name in fields}


# message_from_row, as SQLite JSON (SqlEvent), over MESSAGE_SELECT's joins: m, ag, md, rq
_QUARANTINED = "m.kind = 'quarantined'"
_IS_EMAIL = "json_type(m.content, '$.email') = 'object'"  # store/mail.py, mail_outbox.py
MESSAGE_JSON = f"""json_object('id', m.id, 'thread_id', m.thread_id, 'direction', m.direction,
    'kind', m.kind, 'text', CASE WHEN {_QUARANTINED} THEN NULL ELSE m.text END,
    'author_id', m.author_id, 'author_name', ag.name, 'wamid', m.wamid, 'status', m.status,
    'error_code', m.error_code, 'error_message', m.error_message,
    'reply_to', CASE WHEN m.reply_to_id IS NOT NULL OR COALESCE(m.reply_to_wamid, '') != ''
        THEN json_object('id', rq.id,
            'wamid', CASE WHEN COALESCE(rq.wamid, '') != '' THEN rq.wamid
                ELSE m.reply_to_wamid END,
            'preview', CASE WHEN rq.id IS NOT NULL
                THEN ttydesk_preview(rq.kind, rq.text, rq.caption) END,
            'direction', rq.direction) END,
    'forwarded', {_json_bool("m.forwarded")},
    'media', CASE WHEN m.media_id IS NOT NULL AND NOT {_QUARANTINED}
        THEN json_object('id', m.media_id, 'mime_type', md.mime_type,
            'filename', md.filename, 'size', md.size, 'sha256', md.sha256,
            'caption', m.caption, 'state', COALESCE(NULLIF(md.state, ''), 'pending'),
            'animated', {_json_flag("$.animated")}) END,
    'location', CASE WHEN NOT {_QUARANTINED} AND json_type(m.content, '$.location') = 'object'
        THEN json_object(
            'latitude', {_json_real("m.content ->> '$.location.latitude'")},
            'longitude', {_json_real("m.content ->> '$.location.longitude'")},
            'name', m.content ->> '$.location.name',
            'address', m.content ->> '$.location.address',
            'url', m.content ->> '$.location.url') END,
    'contacts', CASE WHEN {_QUARANTINED} THEN json('[]') ELSE (
        SELECT json_group_array(json_object('name', e.value ->> 'name',
            'phones', COALESCE(e.value -> 'phones', json('[]')),
            'emails', COALESCE(e.value -> 'emails', json('[]')),
            'org', e.value ->> 'org'))
        FROM json_each(m.content, '$.contacts') e) END,
    'order', (SELECT json_group_array(json_object(
            'product_retailer_id', e.value ->> 'product_retailer_id',
            'quantity', e.value ->> 'quantity',
            'item_price', {_json_real("e.value ->> 'item_price'")},
            'currency', e.value ->> 'currency'))
        FROM json_each(m.content, '$.order') e),
    'reactions', (SELECT json_group_array(json_object('emoji', r.emoji, 'by', r.by,
            'agent_id', NULLIF(r.agent_id, 0), 'at', {_json_time("r.at")}))
        FROM (SELECT * FROM reactions WHERE message_id = m.id ORDER BY at) r),
    'template_name', m.content ->> '$.template_name',
    'template_language', m.content ->> '$.template_language',
    'unsupported_reason', m.unsupported_reason, 'quarantine_rule', m.quarantine_rule,
    'quarantine_revealed', {_json_bool("m.quarantine_revealed")},
    'event', m.content ->> '$.event',
    'referral', {_json_texts("$.referral", AD_REFERRAL_FIELDS)},
    'referred_product', {_json_texts("$.referred_product", REFERRED_PRODUCT_FIELDS)},
    'form', CASE WHEN {_QUARANTINED} THEN json('[]') ELSE (
        SELECT json_group_array(json_object('name', CAST(e.value ->> 'name' AS TEXT),
            'value', CAST(e.value ->> 'value' AS TEXT)))
        FROM json_each(m.content, '$.form') e) END,
    'sent_from_phone', {_json_bool("json_type(m.content, '$.sent_from_phone') = 'true'")},
    'group_sender', {_json_texts("$.group_sender", GROUP_SENDER_FIELDS)},
    'from_number', m.from_number, 'to_number', m.to_number,
    'created_at', {_json_time("m.created_at")}, 'sent_at', {_json_time("m.sent_at")},
    'delivered_at', {_json_time("m.delivered_at")}, 'read_at', {_json_time("m.read_at")},
    'failed_at', {_json_time("m.failed_at")},
    'pricing', CASE WHEN m.pricing_category IS NOT NULL THEN json_object(
        'category', m.pricing_category,
        'billable', CASE m.pricing_billable WHEN 1 THEN json('true') WHEN 0 THEN json('false') END,
        'pricing_model', m.pricing_model, 'type', m.pricing_type) END,
    'channel_type', CASE WHEN {_IS_EMAIL} THEN 'EMAIL' ELSE 'WHATSAPP' END,
    'email', CASE WHEN {_IS_EMAIL} THEN json_object(
        'subject', CASE WHEN {_QUARANTINED} THEN NULL ELSE m.content ->> '$.email.subject' END,
        'sender', m.content ->> '$.email.from',
        'to', COALESCE(m.content -> '$.email.to', json('[]')),
        'cc', COALESCE(m.content -> '$.email.cc', json('[]')),
        'auth', CASE WHEN json_type(m.content, '$.email.auth') = 'object' THEN json_object(
            'spf', m.content ->> '$.email.auth.spf', 'dkim', m.content ->> '$.email.auth.dkim',
            'dmarc', m.content ->> '$.email.auth.dmarc') END,
        'attachments', COALESCE(m.content ->> '$.email.attachments', 0),
        'left_out', COALESCE(m.content -> '$.email.left_out', json('[]'))) END,
    'attachments', CASE WHEN {_QUARANTINED} THEN json('[]') ELSE (
        SELECT json_group_array(json_object('id', e.value ->> 'id',
            'mime_type', e.value ->> 'mime_type', 'filename', e.value ->> 'filename',
            'size', e.value ->> 'size', 'sha256', e.value ->> 'sha256', 'caption', NULL,
            'state', 'ready', 'animated', NULL))
        FROM json_each(m.content, '$.email.files') e) END)"""
# Most messages are plain text: nothing in ``content``, no file, no quote. Their JSON needs
# none of the ~20 reads of ``m.content`` and the correlated subqueries above, which cost
# half of building a message.created frame (tests/bench/ingest_cpu.py); the result is
# the same (test_message_json_equals_the_wire_model_for_every_kind covers both paths).
_PLAIN_MESSAGE = (
    "m.content = '{}' AND m.media_id IS NULL AND m.reply_to_id IS NULL "
    "AND COALESCE(m.reply_to_wamid, '') = ''"
)
_PLAIN_MESSAGE_JSON = f"""json_object('id', m.id, 'thread_id', m.thread_id,
    'direction', m.direction, 'kind', m.kind,
    'text', CASE WHEN {_QUARANTINED} THEN NULL ELSE m.text END,
    'author_id', m.author_id, 'author_name', ag.name, 'wamid', m.wamid, 'status', m.status,
    'error_code', m.error_code, 'error_message', m.error_message, 'reply_to', NULL,
    'forwarded', {_json_bool("m.forwarded")}, 'media', NULL, 'location', NULL,
    'contacts', json('[]'), 'order', json('[]'),
    'reactions', (SELECT json_group_array(json_object('emoji', r.emoji, 'by', r.by,
            'agent_id', NULLIF(r.agent_id, 0), 'at', {_json_time("r.at")}))
        FROM (SELECT * FROM reactions WHERE message_id = m.id ORDER BY at) r),
    'template_name', NULL, 'template_language', NULL,
    'unsupported_reason', m.unsupported_reason, 'quarantine_rule', m.quarantine_rule,
    'quarantine_revealed', {_json_bool("m.quarantine_revealed")}, 'event', NULL,
    'referral', NULL, 'referred_product', NULL, 'form', json('[]'),
    'sent_from_phone', json('false'), 'group_sender', NULL,
    'from_number', m.from_number, 'to_number', m.to_number,
    'created_at', {_json_time("m.created_at")}, 'sent_at', {_json_time("m.sent_at")},
    'delivered_at', {_json_time("m.delivered_at")}, 'read_at', {_json_time("m.read_at")},
    'failed_at', {_json_time("m.failed_at")},
    'pricing', CASE WHEN m.pricing_category IS NOT NULL THEN json_object(
        'category', m.pricing_category,
        'billable', CASE m.pricing_billable WHEN 1 THEN json('true') WHEN 0 THEN json('false') END,
        'pricing_model', m.pricing_model, 'type', m.pricing_type) END,
    'channel_type', 'WHATSAPP', 'email', NULL, 'attachments', json('[]'))"""
MESSAGE_JSON = f"CASE WHEN {_PLAIN_MESSAGE} THEN {_PLAIN_MESSAGE_JSON} ELSE {MESSAGE_JSON} END"
_MESSAGE_FROM = """FROM json_each(:pairs) j
JOIN messages m ON m.id = j.value ->> 1
LEFT JOIN agents ag ON ag.id = m.author_id
LEFT JOIN media md ON md.id = m.media_id
LEFT JOIN messages rq ON rq.id = m.reply_to_id"""
MESSAGE_CREATED = SqlEvent(
    schemas.EventType.message_created.value,
    f"SELECT j.value ->> 0 AS seq, {_frame_sql('message.created', MESSAGE_JSON)} AS payload "
    + _MESSAGE_FROM,
)
MESSAGE_UPDATED = SqlEvent(
    schemas.EventType.message_updated.value,
    f"SELECT j.value ->> 0 AS seq, {_frame_sql('message.updated', MESSAGE_JSON)} AS payload "
    + _MESSAGE_FROM,
)
TICKET_UPDATED = SqlEvent(
    schemas.EventType.ticket_updated.value,
    f"""SELECT j.value ->> 0 AS seq, {_frame_sql("ticket.updated", ticket_json("tth"))} AS payload
FROM json_each(:pairs) j
JOIN tickets t ON t.id = j.value ->> 1
LEFT JOIN threads tth ON tth.id = t.thread_id""",
)


def _json_text(value: str | None) -> str:
    # Python's JSON string escapes exactly what SQLite's json_object does: '"', '\\' and
    # the control characters (\b \t \n \f \r short, the others as lowercase \u00xx)
    return "null" if value is None else encode_basestring(value)


def added_message_json(
    message_id: int,
    *,
    thread_id: int,
    kind: str,
    text: str | None,
    wamid: str | None,
    forwarded: bool,
    unsupported_reason: str | None,
    quarantine_rule: str | None,
    from_number: str | None,
    to_number: str | None,
    created_at: str,
    email: str = "null",
) -> str:
    """``MESSAGE_JSON`` of an inbound message row just inserted with these values,
    nothing in ``content`` (or only an ``email``, whose JSON is ``email_json``'s), no
    file and no quote, the other columns left to their defaults (no author, status or
    price, no reaction yet): the text SQLite would build from the row, made without
    reading it back (``emit_added_message``; test_an_added_message_frame_is_the_one_sqlite_builds
    and test_an_added_mail_frame_is_the_one_sqlite_builds keep the two equal)."""
    shown = None if kind == schemas.MessageKind.quarantined else text
    return (
        f'{{"id":{message_id},"thread_id":{thread_id},"direction":"in",'
        f'"kind":{encode_basestring(kind)},"text":{_json_text(shown)},'
        f'"author_id":null,"author_name":null,"wamid":{_json_text(wamid)},"status":null,'
        '"error_code":null,"error_message":null,"reply_to":null,'
        f'"forwarded":{"true" if forwarded else "false"},"media":null,"location":null,'
        '"contacts":[],"order":[],"reactions":[],"template_name":null,'
        f'"template_language":null,"unsupported_reason":{_json_text(unsupported_reason)},'
        f'"quarantine_rule":{_json_text(quarantine_rule)},"quarantine_revealed":false,'
        '"event":null,"referral":null,"referred_product":null,"form":[],'
        '"sent_from_phone":false,"group_sender":null,'
        f'"from_number":{_json_text(from_number)},"to_number":{_json_text(to_number)},'
        f'"created_at":"{created_at.replace(".000000+00:00", "Z").replace("+00:00", "Z")}",'
        '"sent_at":null,"delivered_at":null,"read_at":null,"failed_at":null,"pricing":null,'
        f'"channel_type":"{"WHATSAPP" if email == "null" else "EMAIL"}","email":{email},'
        '"attachments":[]}'
    )


def email_json(
    *,
    quarantined: bool,
    subject: str,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    auth: Mapping[str, str | None] | None,
    left_out: Sequence[str],
) -> str | None:
    """The ``email`` of ``MESSAGE_JSON`` for a mail stored with these values and no file
    (store/mail.py's ``content``), for ``added_message_json``; None when it cannot be
    made here exactly, so that SQLite reads the row back: an auth verdict that is not
    text, or a NUL character (SQLite's ``->>`` ends a text read from JSON there)."""
    verdict_values = [auth.get(name) for name in ("spf", "dkim", "dmarc")] if auth else []
    if any(not isinstance(value, str | None) for value in verdict_values) or any(
        "\0" in text
        for text in (subject, sender, *to, *cc, *left_out, *filter(None, verdict_values))
    ):
        return None
    verdicts = (
        "null"
        if not auth  # store/mail.py keeps no empty verdicts
        else f'{{"spf":{_json_text(auth.get("spf"))},"dkim":{_json_text(auth.get("dkim"))},'
        f'"dmarc":{_json_text(auth.get("dmarc"))}}}'
    )
    return (
        f'{{"subject":{"null" if quarantined else _json_text(subject)},'
        f'"sender":{_json_text(sender)},"to":{_json_list(to)},"cc":{_json_list(cc)},'
        f'"auth":{verdicts},"attachments":0,"left_out":{_json_list(left_out)}}}'
    )


def _json_list(texts: Sequence[str]) -> str:
    return "[" + ",".join(map(encode_basestring, texts)) + "]"


MESSAGE_SELECT = """SELECT m.*, ag.name AS author_name,
    md.mime_type AS md_mime_type, md.filename AS md_filename, md.size AS md_size,
    md.sha256 AS md_sha256, md.state AS md_state,
    rq.id AS rq_id, rq.wamid AS rq_wamid, rq.kind AS rq_kind, rq.text AS rq_text,
    rq.caption AS rq_caption, rq.direction AS rq_direction
FROM messages m
LEFT JOIN agents ag ON ag.id = m.author_id
LEFT JOIN media md ON md.id = m.media_id
LEFT JOIN messages rq ON rq.id = m.reply_to_id"""


def contact_display_name(first: str | None, last: str | None, fallback: str | None) -> str:
    name = " ".join(part for part in (first, last) if part)
    return name or fallback or "Unknown contact"


def ticket_from_row(row: Row, prefix: str = "t_") -> schemas.Ticket:
    def col(name: str) -> Any:
        return row[prefix + name]

    return schemas.Ticket(
        id=col("id"),
        subject=col("subject"),
        status=col("status"),
        priority=col("priority"),
        owner_id=col("owner_id"),
        pipeline=col("pipeline"),
        original_channel_type=col("original_channel_type"),
        thread_id=col("thread_id"),
        contact_id=col("contact_id"),
        business_number=col("business_number"),
        contact_wa_id=col("contact_wa_id"),
        needs_review=bool(col("needs_review")),
        first_inbound_at=parse_dt(col("first_inbound_at")),
        last_inbound_at=parse_dt(col("last_inbound_at")),
        session_expires_at=parse_dt(col("session_expires_at")),
        first_response_seconds=col("first_response_seconds"),
        inbound_count=col("inbound_count"),
        outbound_count=col("outbound_count"),
        last_delivery_status=col("last_delivery_status"),
        created_at=parse_dt(col("created_at")),
        updated_at=parse_dt(col("updated_at")),
        closed_at=parse_dt(col("closed_at")),
        snoozed_until=parse_dt(col("snoozed_until")),
        resolution_seconds=col("resolution_seconds"),
        billable_messages=col("billable_messages"),
    )


def contact_summary_from_row(row: Row, prefix: str = "c_") -> schemas.ContactSummary:
    phone = row[prefix + "phone"] or row[prefix + "mobile_phone"]
    return schemas.ContactSummary(
        id=row[prefix + "id"],
        name=contact_display_name(
            row[prefix + "first_name"],
            row[prefix + "last_name"],
            phone or row[prefix + "wa_username"] or row[prefix + "wa_user_id"],
        ),
        phone=phone,
        wa_id=row[prefix + "wa_id"],
        wa_user_id=row[prefix + "wa_user_id"],
        wa_username=row[prefix + "wa_username"],
    )


def thread_from_row(row: Row) -> schemas.Thread:
    return schemas.Thread(
        id=row["id"],
        channel_type=row["channel_type"],
        business_number=row["business_number"],
        phone_number_id=row["phone_number_id"],
        contact=contact_summary_from_row(row),
        ticket=ticket_from_row(row),
        last_message_at=parse_dt(row["last_message_at"]),
        last_message_preview=row["last_message_preview"],
        last_message_direction=row["last_message_direction"],
        unread_count=row["unread_count"],
        session_expires_at=parse_dt(row["session_expires_at"]),
        created_at=parse_dt(row["created_at"]),
        from_ad=bool(row["from_ad"]),
        group_id=row["group_id"],
    )


# the quoted message's preview in MESSAGE_JSON
sql_function("ttydesk_preview", 3, preview_of)


def message_from_row(row: Row, reactions: Sequence[Row] = ()) -> schemas.Message:
    kind = row["kind"]
    content = loads(row["content"], {})
    quarantined = kind == schemas.MessageKind.quarantined
    media = None
    if row["media_id"] is not None:
        media = schemas.Media(
            id=row["media_id"],
            mime_type=row["md_mime_type"],
            filename=row["md_filename"],
            size=row["md_size"],
            sha256=row["md_sha256"],
            caption=None if quarantined else row["caption"],
            state=row["md_state"] or schemas.MediaState.pending,
            animated=content.get("animated"),
        )
        if quarantined:
            media = None
    reply_to = None
    if row["reply_to_id"] is not None or row["reply_to_wamid"]:
        reply_to = schemas.QuotedMessage(
            id=row["rq_id"],
            wamid=row["rq_wamid"] or row["reply_to_wamid"],
            preview=(
                preview_of(row["rq_kind"], row["rq_text"], row["rq_caption"])
                if row["rq_id"] is not None
                else None
            ),
            direction=row["rq_direction"],
        )
    return schemas.Message(
        id=row["id"],
        thread_id=row["thread_id"],
        direction=row["direction"],
        kind=kind,
        text=None if quarantined else row["text"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        wamid=row["wamid"],
        status=row["status"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        reply_to=reply_to,
        forwarded=bool(row["forwarded"]),
        media=media,
        location=None if quarantined else content.get("location"),
        contacts=[] if quarantined else content.get("contacts", []),
        order=content.get("order", []),
        reactions=[
            schemas.Reaction(
                emoji=r["emoji"],
                by=r["by"],
                agent_id=r["agent_id"] or None,
                at=parse_dt(r["at"]),
            )
            for r in reactions
        ],
        template_name=content.get("template_name"),
        template_language=content.get("template_language"),
        unsupported_reason=row["unsupported_reason"],
        quarantine_rule=row["quarantine_rule"],
        quarantine_revealed=bool(row["quarantine_revealed"]),
        event=content.get("event"),
        referral=_texts(content.get("referral"), AD_REFERRAL_FIELDS),
        referred_product=_texts(content.get("referred_product"), REFERRED_PRODUCT_FIELDS),
        form=[] if quarantined else content.get("form", []),
        sent_from_phone=content.get("sent_from_phone") is True,
        group_sender=_texts(content.get("group_sender"), GROUP_SENDER_FIELDS),
        from_number=row["from_number"],
        to_number=row["to_number"],
        created_at=parse_dt(row["created_at"]),
        sent_at=parse_dt(row["sent_at"]),
        delivered_at=parse_dt(row["delivered_at"]),
        read_at=parse_dt(row["read_at"]),
        failed_at=parse_dt(row["failed_at"]),
        pricing=_pricing(row),
        channel_type=(
            schemas.ChannelType.email
            if isinstance(content.get("email"), dict)
            else schemas.ChannelType.whatsapp
        ),
        email=_email(content.get("email"), quarantined),
        attachments=[] if quarantined else _email_files(content.get("email")),
    )


def _email(value: Any, quarantined: bool) -> schemas.EmailDetails | None:
    """``MESSAGE_JSON``'s e-mail object, for ``message_from_row``."""
    if not isinstance(value, dict):
        return None
    auth = value.get("auth")
    return schemas.EmailDetails(
        subject=None if quarantined else value.get("subject"),
        sender=value.get("from"),
        to=value.get("to") or [],
        cc=value.get("cc") or [],
        auth=schemas.EmailAuth(**auth) if isinstance(auth, dict) else None,
        attachments=value.get("attachments") or 0,
        left_out=value.get("left_out") or [],
    )


def _email_files(value: Any) -> list[schemas.Media]:
    """``MESSAGE_JSON``'s attachments: an e-mail's files (``mail.file_entry``)."""
    files = value.get("files") if isinstance(value, dict) else None
    if not isinstance(files, list):
        return []
    return [
        schemas.Media(
            id=file.get("id"),
            mime_type=file.get("mime_type"),
            filename=file.get("filename"),
            size=file.get("size"),
            sha256=file.get("sha256"),
            state=schemas.MediaState.ready,
        )
        for file in files
        if isinstance(file, dict)
    ]


def _pricing(row: Row) -> schemas.MessagePricing | None:
    if row["pricing_category"] is None:
        return None
    billable = row["pricing_billable"]
    return schemas.MessagePricing(
        category=row["pricing_category"],
        billable=None if billable is None else bool(billable),
        pricing_model=row["pricing_model"],
        type=row["pricing_type"],
    )


def reactions_by_message(rows: Iterable[Row]) -> dict[int, list[Row]]:
    grouped: dict[int, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["message_id"], []).append(row)
    return grouped


# ------------------------------------------------------------------ loading in a transaction


def load_thread(tx: Tx, thread_id: int) -> schemas.Thread:
    row = tx.one(THREAD_SELECT + " WHERE th.id = ?", (thread_id,))
    if row is None:
        raise NotFound("There is no such thread.", code="thread_not_found")
    return thread_from_row(row)


def load_ticket(tx: Tx, ticket_id: int) -> schemas.Ticket:
    row = tx.one(TICKET_SELECT + " WHERE t.id = ?", (ticket_id,))
    if row is None:
        raise NotFound("There is no such ticket.", code="ticket_not_found")
    return ticket_from_row(row)


def load_message(tx: Tx, message_id: int) -> schemas.Message:
    row = tx.one(MESSAGE_SELECT + " WHERE m.id = ?", (message_id,))
    if row is None:
        raise NotFound("There is no such message.", code="message_not_found")
    reactions = tx.all("SELECT * FROM reactions WHERE message_id = ? ORDER BY at", (message_id,))
    return message_from_row(row, reactions)


def emit_thread(tx: Tx, thread_id: int) -> schemas.Thread:
    thread = load_thread(tx, thread_id)
    tx.emit(schemas.EventType.thread_updated, thread)
    return thread


def emit_thread_snapshot(tx: Tx, thread_id: int) -> None:
    """``thread.updated`` with the thread as it is when the batch commits, built by SQLite
    (``emit_thread`` when the caller needs the model)."""
    tx.emit_sql(THREAD_UPDATED, thread_id)


def emit_message_snapshot(tx: Tx, message_id: int, *, created: bool) -> None:
    """``message.created``/``message.updated`` as the batch commits it (``emit_message``
    when the caller needs the model)."""
    tx.emit_sql(MESSAGE_CREATED if created else MESSAGE_UPDATED, message_id)


def emit_added_message(tx: Tx, message_id: int, data: str) -> None:
    """``message.created`` of a message just inserted, whose frame's data the job made
    (``added_message_json``): SQLite reads the row back only if another job of the batch
    snapshots it too (``BatchBuffer``)."""
    tx.emit_sql(MESSAGE_CREATED, message_id, data)


def emit_ticket_snapshot(tx: Tx, ticket_id: int) -> None:
    """``ticket.updated`` as the batch commits it (see ``emit_thread_snapshot``)."""
    tx.emit_sql(TICKET_UPDATED, ticket_id)


def emit_ticket(tx: Tx, ticket_id: int) -> schemas.Ticket:
    ticket = load_ticket(tx, ticket_id)
    tx.emit(schemas.EventType.ticket_updated, ticket)
    return ticket


def emit_message(tx: Tx, message_id: int, *, created: bool) -> schemas.Message:
    message = load_message(tx, message_id)
    event = schemas.EventType.message_created if created else schemas.EventType.message_updated
    tx.emit(event, message)
    return message


# execute, not insert: the new row's id is not wanted (on PostgreSQL, reading it would
# wait for the server where the write alone is pipelined)
_AUDIT = "INSERT INTO audit_log (at, actor_id, action, target, detail) VALUES (?, ?, ?, ?, ?)"
_TIMELINE = (
    "INSERT INTO ticket_timeline (ticket_id, at, actor_id, action, old, new) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def audit(tx: Tx, actor_id: int | None, action: str, target: str | None, **detail: Any) -> None:
    tx.execute(_AUDIT, (tx.now_iso, actor_id, action, target, dumps(detail)))


def timeline(
    tx: Tx, ticket_id: int, actor_id: int | None, action: str, old: Any = None, new: Any = None
) -> None:
    tx.execute(
        _TIMELINE,
        (
            ticket_id,
            tx.now_iso,
            actor_id,
            action,
            None if old is None else str(old),
            None if new is None else str(new),
        ),
    )


def bump_counter(tx: Tx, name: str, by: int = 1) -> None:
    tx.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
        (name, by),
    )


# ------------------------------------------------------------------ contacts


def index_contact(tx: Tx, contact_id: int) -> None:
    row = tx.one(
        "SELECT first_name, last_name, email, phone, mobile_phone, wa_id, wa_username "
        "FROM contacts WHERE id = ?",
        (contact_id,),
    )
    if row is None:
        return
    body = " ".join(str(value) for value in row if value)
    # numbers are indexed with and without the plus, so "+3461…" and "3461…" both match
    body += " " + " ".join(
        str(value).lstrip("+") for value in (row["phone"], row["mobile_phone"]) if value
    )
    tx.execute("DELETE FROM contacts_fts WHERE rowid = ?", (contact_id,))
    tx.execute("INSERT INTO contacts_fts (rowid, body) VALUES (?, ?)", (contact_id, body))


def split_profile_name(name: str | None) -> tuple[str | None, str | None]:
    if not name or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first, (last or None)


# the WhatsApp identity columns of a contact, in the order a sender is looked up by
_IDENTITY_COLUMNS = ("wa_parent_user_id", "wa_user_id", "wa_id")


def find_whatsapp_contact(
    tx: Tx,
    *,
    wa_id: str | None,
    user_id: str | None,
    parent_user_id: str | None = None,
    at: datetime | None = None,
) -> int | None:
    """The contact behind these WhatsApp ids: by parent BSUID, BSUID, then the wa_id
    exactly as sent (never normalised: SPEC §3), the most recently updated first; else,
    for a message sent at ``at`` before an identity change (delivered late from the old
    number), the contact that had one of them then. A number given up and later given to
    someone else is not taken for its former owner's after the change."""
    values = tuple(value or None for value in (parent_user_id, user_id, wa_id))
    if not any(values):
        return None
    row = tx.one(_FIND_CONTACT, (*values, *values, iso(at) if at is not None else tx.now_iso))
    return None if row is None or row[0] is None else int(row[0])


# find_whatsapp_contact's lookups in their order, the first found wins: one statement, so
# that PostgreSQL's writer waits for one round trip, not four (an id not given is NULL,
# which matches nothing)
_FIND_CONTACT = (
    "SELECT COALESCE("
    + ", ".join(
        f"(SELECT id FROM contacts WHERE {column} = ? ORDER BY updated_at DESC LIMIT 1)"
        for column in _IDENTITY_COLUMNS
    )
    + ", (SELECT contact_id FROM contact_former_ids WHERE value IN (?, ?, ?) AND until >= ? "
    "ORDER BY until DESC LIMIT 1))"
)


def apply_whatsapp_identity(
    tx: Tx, contact_id: int, identity: Mapping[str, str | None], at: datetime | None
) -> dict[str, str]:
    """Set the contact's WhatsApp identity columns given (``wa_id``, ``wa_user_id``,
    ``wa_parent_user_id``, ``wa_username``) to the values of a message sent at ``at``,
    unless an identity from a newer message is applied already (Meta delivers late and
    out of order: an old message must not switch the contact back). Replaced ids are
    remembered (``find_whatsapp_contact``). Returns the columns changed."""
    at_iso = iso(at) if at is not None else tx.now_iso
    current = tx.one(
        "SELECT wa_id, wa_user_id, wa_parent_user_id, wa_username, wa_identity_at "
        "FROM contacts WHERE id = ?",
        (contact_id,),
    )
    if current is None or (current["wa_identity_at"] or "") > at_iso:
        return {}
    changes = {
        column: value for column, value in identity.items() if value and current[column] != value
    }
    if not changes:
        return {}
    tx.executemany(
        "INSERT INTO contact_former_ids (value, contact_id, until) VALUES (?, ?, ?) "
        "ON CONFLICT(value, contact_id) DO UPDATE SET until = MAX(until, excluded.until)",
        [
            (current[column], contact_id, at_iso)
            for column in changes
            if column in _IDENTITY_COLUMNS and current[column]
        ],
    )
    tx.update(
        "contacts", contact_id, {**changes, "wa_identity_at": at_iso, "updated_at": tx.now_iso}
    )
    index_contact(tx, contact_id)
    return changes


def resolve_whatsapp_contact(
    tx: Tx,
    *,
    wa_id: str | None,
    user_id: str | None,
    parent_user_id: str | None = None,
    username: str | None = None,
    profile_name: str | None = None,
    at: datetime | None = None,
) -> tuple[int, bool]:
    """Find or create the contact behind an inbound WhatsApp message sent at ``at``
    (SPEC §3).

    Identity first (``find_whatsapp_contact``: whether or not the phone library calls
    the wa_id a valid number), then the sender's number against the *phone* and *mobile
    phone* properties (most recently updated wins, several matches mark the thread for
    review), else a new contact from the profile. Returns ``(contact_id, needs_review)``.
    """
    contact_id = find_whatsapp_contact(
        tx, wa_id=wa_id, user_id=user_id, parent_user_id=parent_user_id, at=at
    )
    e164 = cached_normalize_phone(wa_id) if wa_id else None
    # a number in a range the library does not know may be saved on a contact, unchecked
    saved_as = e164 or (f"+{wa_id}" if wa_id and wa_id.isdigit() else None)
    needs_review = False
    if contact_id is None and saved_as:
        matches = tx.all(
            "SELECT id FROM contacts WHERE (phone = ? OR mobile_phone = ?) "
            "AND merged_into IS NULL ORDER BY updated_at DESC, id DESC",
            (saved_as, saved_as),
        )
        if matches:
            contact_id = matches[0]["id"]
            needs_review = len(matches) > 1
    if contact_id is None:
        first, last = split_profile_name(profile_name)
        contact_id = tx.insert(
            "contacts",
            {
                "first_name": first,
                "last_name": last,
                "phone": e164,
                "country": region_of(e164) if e164 else _country_of_bsuid(user_id),
                "wa_id": wa_id,
                "wa_user_id": user_id,
                "wa_parent_user_id": parent_user_id,
                "wa_username": username,
                "wa_identity_at": iso(at) if at is not None else tx.now_iso,
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )
        index_contact(tx, contact_id)
        return contact_id, False
    # keep the WhatsApp identity up to date without touching the phone properties
    apply_whatsapp_identity(
        tx,
        contact_id,
        {
            "wa_id": wa_id,
            "wa_user_id": user_id,
            "wa_parent_user_id": parent_user_id,
            "wa_username": username,
        },
        at,
    )
    return contact_id, needs_review


def _country_of_bsuid(user_id: str | None) -> str | None:
    if user_id and "." in user_id:
        prefix = user_id.split(".", 1)[0]
        if len(prefix) == 2 and prefix.isalpha():
            return prefix.upper()
    return None


# ------------------------------------------------------------------ threads and tickets


def open_thread_of(tx: Tx, contact_id: int, phone_number_id: str | None) -> int | None:
    row = tx.one(
        "SELECT th.id FROM threads th JOIN tickets t ON t.id = th.ticket_id "
        "WHERE th.contact_id = ? AND th.phone_number_id IS ? AND t.status != 'closed' "
        "ORDER BY th.id DESC LIMIT 1",
        (contact_id, phone_number_id),
    )
    return None if row is None else row["id"]


# the advisory lock of round-robin routing's read-then-write ("ttyr")
ROUTING_LOCK = 0x74747972


def route_ticket(
    tx: Tx, *, rules: Sequence[routing.RoutingRule], country: str | None, text: str
) -> int | None:
    """Pick the owner of a new ticket: skills, availability, load, then round-robin
    (under ``ROUTING_LOCK``: another process's pick reads this one's once committed)."""
    tx.exclusive(ROUTING_LOCK)
    required = routing.required_skills(rules, country=country, text=text)
    # the load is kept on the agent's row (``count_open_ticket``): counting each agent's
    # tickets here cost ~0.5 ms per new ticket at 1,300 open ones, growing with them
    # who was assigned last in the same statement (one round trip on PostgreSQL)
    rows = tx.all(
        "SELECT a.id, a.skills, a.availability, a.open_tickets AS load, "
        "(SELECT value FROM settings_kv WHERE key = 'routing.last_assigned') AS last "
        "FROM agents a WHERE a.disabled = 0"
    )
    candidates = [
        routing.AgentCandidate(
            id=row["id"],
            skills=frozenset(loads(row["skills"], [])),
            available=row["availability"] == schemas.Availability.available,
            open_tickets=row["load"],
        )
        for row in rows
    ]
    last = rows[0]["last"] if rows else None
    owner = routing.choose_owner(candidates, required, int(last) if last is not None else None)
    if owner is not None:
        tx.execute(
            "INSERT INTO settings_kv (key, value) VALUES ('routing.last_assigned', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(owner),),
        )
    return owner


def count_open_ticket(tx: Tx, owner_id: int | None, by: int) -> None:
    """Keep ``agents.open_tickets`` (the routing load: tickets the agent owns that are not
    closed) as a ticket gains or loses an owner, or closes or reopens. One row by primary
    key: a statement that may change several opens a statement journal (see
    ``set_ticket_status``), and a trigger would make every ticket UPDATE one."""
    if owner_id is not None:
        tx.execute("UPDATE agents SET open_tickets = open_tickets + ? WHERE id = ?", (by, owner_id))


def create_thread(
    tx: Tx,
    *,
    contact_id: int,
    phone_number_id: str | None,
    business_number: str | None,
    subject: str,
    owner_id: int | None,
    needs_review: bool = False,
    status: str = schemas.TicketStatus.new,
    email_channel_id: int | None = None,
    moved_to: str | None = None,
    wa_ids: tuple[str | None, str | None] | None = None,
    inbound: tuple[str, str] | None = None,
) -> tuple[int, int]:
    """A new ticket and its thread; returns (thread_id, ticket_id). With
    ``email_channel_id``, an e-mail ticket and thread on that mailbox (else WhatsApp, the
    columns' default). ``moved_to``: a status (not closed) the ticket moves to at once,
    as ``set_ticket_status`` would move it (a customer's first mail: waiting on us): the
    rows are written in it and the timeline has the move after the creation (one
    statement where a move is five). ``wa_ids``: the contact's (wa_id, wa_user_id), when
    the caller has read them (else read here). ``inbound``: (at, preview) of the customer's
    message the thread is made for, which ``insert_message(..., counted=True)`` stores
    next: the row is written with that message's activity, as ``count_inbound`` would
    leave it (an UPDATE of the row and of its list index the less)."""
    assert moved_to != schemas.TicketStatus.closed
    written = moved_to or status
    email = email_channel_id is not None
    if wa_ids is None:
        contact = tx.one("SELECT wa_id, wa_user_id FROM contacts WHERE id = ?", (contact_id,))
        wa_ids = (contact["wa_id"], contact["wa_user_id"]) if contact else (None, None)
    ticket_id = tx.insert(
        "tickets",
        {
            "subject": subject,
            "status": written,
            "priority": schemas.TicketPriority.medium,
            "owner_id": owner_id,
            "contact_id": contact_id,
            "business_number": business_number,
            "contact_wa_id": wa_ids[0] or wa_ids[1],
            "needs_review": int(needs_review),
            "created_at": tx.now_iso,
            "updated_at": tx.now_iso,
            **({"original_channel_type": schemas.ChannelType.email} if email else {}),
        },
    )
    thread_id = tx.insert(
        "threads",
        {
            "phone_number_id": phone_number_id,
            "business_number": business_number,
            "contact_id": contact_id,
            "ticket_id": ticket_id,
            "status": written,
            "owner_id": owner_id,
            "created_at": tx.now_iso,
            **(
                {"channel_type": schemas.ChannelType.email, "email_channel_id": email_channel_id}
                if email
                else {}
            ),
            **(_first_inbound(*inbound, tx.now_iso) if inbound is not None else {}),
        },
    )
    tx.execute("UPDATE tickets SET thread_id = ? WHERE id = ?", (thread_id, ticket_id))
    if written != schemas.TicketStatus.closed:
        count_open_ticket(tx, owner_id, 1)
    tx.execute(
        "INSERT OR IGNORE INTO associations (contact_id, object_type, object_id) "
        "VALUES (?, 'ticket', ?)",
        (contact_id, ticket_id),
    )
    tx.execute("INSERT INTO tickets_fts (rowid, body) VALUES (?, ?)", (ticket_id, subject))
    timeline(tx, ticket_id, None, "created", None, status)
    if owner_id is not None:
        timeline(tx, ticket_id, None, "owner_changed", None, owner_id)
    if written != status:
        timeline(tx, ticket_id, None, "status_changed", status, written)
    return thread_id, ticket_id


def _first_inbound(at_iso: str, preview: str, now_iso: str) -> dict[str, Any]:
    """A new thread's row as ``count_inbound`` leaves it after its first message (with no
    session expiry: an e-mail's)."""
    return {
        "last_message_at": at_iso,
        "last_message_preview": preview,
        "last_message_direction": schemas.Direction.inbound.value,
        "unread_count": 1,
        "inbound_count": 1,
        "first_inbound_at": at_iso,
        "last_inbound_at": at_iso,
        "inbound_stored_at": now_iso,
    }


@dataclass(slots=True)
class InboundThread:
    """The thread an inbound message goes to, with the state the ingest needs next."""

    thread_id: int
    ticket_id: int
    created: bool
    session_expires_at: str | None  # as stored
    ticket_status: str


def inbound_thread(
    tx: Tx,
    *,
    contact_id: int,
    phone_number_id: str | None,
    business_number: str | None,
    text: str | None,
    fallback_subject: str,
    needs_review: bool,
    rules: Sequence[routing.RoutingRule] = (),
) -> InboundThread:
    """The open thread of this contact on this number, or a new routed one, with the
    thread's session expiry and its ticket's status read in the statement that finds it."""
    row = tx.one(
        "SELECT th.id, th.ticket_id, th.session_expires_at, t.status FROM threads th "
        "JOIN tickets t ON t.id = th.ticket_id "
        "WHERE th.contact_id = ? AND th.phone_number_id IS ? AND t.status != 'closed' "
        "ORDER BY th.id DESC LIMIT 1",
        (contact_id, phone_number_id),
    )
    if row is not None:
        if needs_review:
            tx.execute("UPDATE tickets SET needs_review = 1 WHERE id = ?", (row[1],))
        return InboundThread(row[0], row[1], False, row[2], row[3])
    country = tx.one("SELECT country FROM contacts WHERE id = ?", (contact_id,))
    owner = route_ticket(
        tx, rules=rules, country=country["country"] if country else None, text=text or ""
    )
    thread_id, ticket_id = create_thread(
        tx,
        contact_id=contact_id,
        phone_number_id=phone_number_id,
        business_number=business_number,
        subject=tickets.subject_from_text(text, fallback_subject),
        owner_id=owner,
        needs_review=needs_review,
    )
    return InboundThread(thread_id, ticket_id, True, None, schemas.TicketStatus.new)


def set_ticket_status(tx: Tx, ticket_id: int, status: str, actor_id: int | None) -> bool:
    """A status change; it also ends a snooze (a customer's message, a reopen, a close)."""
    row = tx.one("SELECT status, owner_id FROM tickets WHERE id = ?", (ticket_id,))
    if row is None:
        raise NotFound("There is no such ticket.", code="ticket_not_found")
    if row["status"] == status:
        return False
    closing = status == "closed"
    if closing or row["status"] == "closed":
        count_open_ticket(tx, row["owner_id"], -1 if closing else 1)
    tx.execute(
        "UPDATE tickets SET status = ?, updated_at = ?, closed_at = ?, snoozed_until = NULL, "
        "resolution_seconds = CASE WHEN ? THEN "
        "CAST(ROUND((julianday(?) - julianday(created_at)) * 86400) AS INTEGER) END "
        "WHERE id = ?",
        (status, tx.now_iso, tx.now_iso if closing else None, closing, tx.now_iso, ticket_id),
    )
    for thread in tx.all("SELECT id FROM threads WHERE ticket_id = ?", (ticket_id,)):
        # by id, not one UPDATE … WHERE ticket_id = ?: a statement that may change several
        # rows opens a statement journal, and there FTS5 writes the transaction's pending
        # full-text rows (a new ticket's and contact's) out as a segment of their own, the
        # dearest statement of a new customer's first message (~100 µs of ~600)
        tx.execute(
            "UPDATE threads SET status = ?, snoozed_until = NULL WHERE id = ?", (status, thread[0])
        )
    timeline(tx, ticket_id, actor_id, "status_changed", row["status"], status)
    return True


def set_ticket_owner(tx: Tx, ticket_id: int, owner_id: int | None, actor_id: int | None) -> bool:
    row = tx.one("SELECT owner_id, status FROM tickets WHERE id = ?", (ticket_id,))
    if row is None:
        raise NotFound("There is no such ticket.", code="ticket_not_found")
    if row["owner_id"] == owner_id:
        return False
    if owner_id is not None and tx.one("SELECT 1 FROM agents WHERE id = ?", (owner_id,)) is None:
        from backend.domain.errors import InvalidField

        raise InvalidField("There is no agent with that id.", field="owner_id")
    if row["status"] != "closed":
        count_open_ticket(tx, row["owner_id"], -1)
        count_open_ticket(tx, owner_id, 1)
    tx.execute(
        "UPDATE tickets SET owner_id = ?, updated_at = ? WHERE id = ?",
        (owner_id, tx.now_iso, ticket_id),
    )
    tx.execute("UPDATE threads SET owner_id = ? WHERE ticket_id = ?", (owner_id, ticket_id))
    timeline(tx, ticket_id, actor_id, "owner_changed", row["owner_id"], owner_id)
    return True


# ------------------------------------------------------------------ messages


_MESSAGE_COLUMNS = (
    "thread_id, direction, kind, text, author_id, wamid, client_id, status, reply_to_id, "
    "reply_to_wamid, forwarded, media_id, caption, content, unsupported_reason, "
    "quarantine_rule, from_number, to_number, raw, created_at"
)
# every column, in _MESSAGE_COLUMNS order (insert_message, and the ingest's common case)
INSERT_MESSAGE = (
    f"INSERT INTO messages ({_MESSAGE_COLUMNS}) "
    f"VALUES ({', '.join('?' for _ in _MESSAGE_COLUMNS.split(', '))})"
)
# An inbound message on its thread's row, where the ticket's inbound activity lives too
# (migration 0007): list columns, counters, and with a new session expiry the 24-hour
# window (re)opened as open_session does; without one the window is left as it is.
# Meta delivers late and out of order: the list columns follow the newest message by
# WhatsApp's timestamp (a tie goes to the later arrival, as in the message log), and
# first/last inbound are the earliest and latest timestamps, whatever the arrival order.
_NEWEST = "COALESCE(last_message_at, '') <= :at"
_INBOUND_ACTIVITY = (
    "UPDATE threads SET last_message_at = MAX(COALESCE(last_message_at, ''), :at), "
    f"last_message_preview = CASE WHEN {_NEWEST} THEN :preview "
    "ELSE last_message_preview END, "
    f"last_message_direction = CASE WHEN {_NEWEST} "
    f"THEN '{schemas.Direction.inbound.value}' ELSE last_message_direction END, "
    "unread_count = unread_count + 1, "
    "inbound_count = inbound_count + 1, "
    "first_inbound_at = MIN(COALESCE(first_inbound_at, :at), :at), "
    "last_inbound_at = MAX(COALESCE(last_inbound_at, :at), :at), "
    "inbound_stored_at = :now, session_expires_at = COALESCE(:expires, session_expires_at), "
    "session_counted = CASE WHEN :expires IS NOT NULL AND (session_expires_at IS NULL "
    "OR session_expires_at < :now) THEN 0 ELSE session_counted END WHERE id = :thread_id"
)


# A quarantined message's text is hidden; an event line ("Reacted 👍", a changed
# number) is the help desk's words, not the conversation's: neither is searchable.
_NOT_INDEXED = frozenset({schemas.MessageKind.quarantined, schemas.MessageKind.event})


def indexed_text(kind: str, text: str | None, caption: str | None) -> str:
    """What the full-text index holds for a message ("": nothing)."""
    if kind in _NOT_INDEXED:
        return ""
    return " ".join(part for part in (text, caption) if part)


def count_inbound(
    tx: Tx, thread_id: int, at_iso: str, preview: str, session_expires_at: datetime | None
) -> None:
    """An inbound message (not a note or an event line) on its thread's row."""
    expires = iso(session_expires_at) if session_expires_at is not None else None
    tx.execute(
        _INBOUND_ACTIVITY,
        {
            "at": at_iso,
            "preview": preview,
            "now": tx.now_iso,
            "expires": expires,
            "thread_id": thread_id,
        },
    )


def insert_message(
    tx: Tx,
    *,
    thread_id: int,
    direction: str,
    kind: str,
    text: str | None = None,
    author_id: int | None = None,
    wamid: str | None = None,
    client_id: str | None = None,
    status: str | None = None,
    reply_to_id: int | None = None,
    reply_to_wamid: str | None = None,
    forwarded: bool = False,
    media_id: int | None = None,
    caption: str | None = None,
    content: dict[str, Any] | None = None,
    unsupported_reason: str | None = None,
    quarantine_rule: str | None = None,
    from_number: str | None = None,
    to_number: str | None = None,
    raw: str | None = None,
    at: datetime | None = None,
    session_expires_at: datetime | None = None,
    searchable_text: str | None = None,
    counted: bool = False,
) -> int:
    """Store a message and bring its thread's list columns and ticket counters along.

    Notes and event lines do not count as messages for the ticket's counters; inbound
    messages raise the unread count. An inbound message's counters are on the thread's
    row (migration 0007), so it updates that one row; our messages update the ticket's.

    ``session_expires_at`` (inbound only) also (re)opens the 24-hour window in the same
    UPDATE, as ``open_session`` would; an event line or a note does not, and the caller
    opens it then. ``searchable_text`` is what search finds the message by when that is
    more than its text (an e-mail: its subject and whole text, quotes and signature too).
    ``counted``: the thread's row has this inbound message's activity already (a thread
    made for it with ``create_thread(..., inbound=…)``).
    """
    at_iso = iso(at) if at is not None else tx.now_iso
    cursor = tx.execute(
        INSERT_MESSAGE,
        (
            thread_id,
            direction,
            kind,
            text,
            author_id,
            wamid,
            client_id,
            status,
            reply_to_id,
            reply_to_wamid,
            int(forwarded),
            media_id,
            caption,
            dumps(content) if content else "{}",
            unsupported_reason,
            quarantine_rule,
            from_number,
            to_number,
            raw,
            at_iso,
        ),
    )
    message_id = int(cursor.lastrowid or 0)
    searchable = indexed_text(kind, text if searchable_text is None else searchable_text, caption)
    if searchable:
        tx.index_message(message_id, searchable)
    if kind == schemas.MessageKind.event:
        return message_id
    preview = preview_of(kind, text, caption)
    if kind == schemas.MessageKind.note:
        preview = "Note: " + preview
    inbound = direction == schemas.Direction.inbound
    if inbound and kind != schemas.MessageKind.note:
        if not counted:
            count_inbound(tx, thread_id, at_iso, preview, session_expires_at)
        return message_id
    tx.execute(
        "UPDATE threads SET last_message_at = ?, last_message_preview = ?, "
        "last_message_direction = ?, unread_count = unread_count + ? WHERE id = ?",
        (at_iso, preview, direction, 1 if inbound else 0, thread_id),
    )
    if kind == schemas.MessageKind.note or inbound:
        return message_id
    tx.execute(
        "UPDATE tickets SET outbound_count = outbound_count + 1, updated_at = ?, "
        "first_response_seconds = COALESCE(first_response_seconds, CASE "
        "WHEN th.first_inbound_at IS NULL THEN NULL "
        "ELSE CAST(ROUND((julianday(?) - julianday(th.first_inbound_at)) * 86400) AS INTEGER) "
        "END) FROM threads th WHERE th.id = ? AND tickets.id = th.ticket_id",
        (tx.now_iso, at_iso, thread_id),
    )
    return message_id


def open_session(tx: Tx, thread_id: int, expires_at: datetime) -> None:
    """An inbound message (re)opens the 24-hour window; our messages never extend it.
    The ticket's ``session_expires_at`` is the thread's (migration 0007)."""
    expires = iso(expires_at)
    tx.execute(
        "UPDATE threads SET session_expires_at = ?, "
        "session_counted = CASE WHEN session_expires_at IS NULL OR session_expires_at < ? "
        "THEN 0 ELSE session_counted END WHERE id = ?",
        (expires, tx.now_iso, thread_id),
    )


def set_reaction(
    tx: Tx,
    *,
    message_id: int,
    by: str,
    agent_id: int | None,
    emoji: str | None,
    wamid: str | None = None,
) -> None:
    """Set or (with an empty emoji) clear one party's reaction on a message."""
    if emoji:
        tx.execute(
            "INSERT INTO reactions (message_id, by, agent_id, emoji, wamid, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(message_id, by, agent_id) "
            "DO UPDATE SET emoji = excluded.emoji, wamid = excluded.wamid, at = excluded.at",
            (message_id, by, agent_id or 0, emoji, wamid, tx.now_iso),
        )
    else:
        tx.execute(
            "DELETE FROM reactions WHERE message_id = ? AND by = ? AND agent_id = ?",
            (message_id, by, agent_id or 0),
        )
