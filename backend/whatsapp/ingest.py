"""A parsed notification → the store's changes: one per message, one per status.

Everything that needs no database (what kind a message becomes, the content policy,
the subject text) is decided here on the loop, into channel-neutral records
(``backend.store`` types); ``Store.ingest`` then stores each as one transaction, and
commits those of a POST (and of concurrent POSTs) together. The caller answers Meta
only after ``process`` returns, that is after the commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from backend import schemas
from backend.config import Settings
from backend.domain.policy import ContentPolicy
from backend.domain.previews import (
    CALL_PREVIEW,
    QUARANTINED_PREVIEW,
    UNSUPPORTED_PREVIEW,
    preview_of,
)
from backend.domain.routing import RoutingRule
from backend.store import (
    Call,
    Change,
    Counts,
    Echo,
    GroupMessage,
    IdentityChange,
    InboundRecord,
    IngestResult,
    MediaSpec,
    Sender,
    StatusRecord,
    StatusResult,
    Store,
    TemplateStatus,
)
from backend.whatsapp import parse
from backend.whatsapp.errors import plain_error

log = logging.getLogger(__name__)

COUNTER_IGNORED_FIELD = "webhook.ignored_field"
COUNTER_INVALID = "webhook.invalid_item"
COUNTER_VALUE_ERRORS = "webhook.value_errors"
COUNTER_INVALID_WA_ID = "webhook.invalid_wa_id"
COUNTER_IGNORED_CALL = "webhook.ignored_call"  # a call the business made
CALL_EVENT = "call"  # content["event"] of a call's event line
REVOKE_EVENT = "message_revoked"  # content["event"] of a deletion's event line
REVOKE_WORDS = "The customer deleted this message"
# kinds whose text is not the customer's to check against the content policy
_NOT_CHECKED = frozenset({schemas.MessageKind.event, schemas.MessageKind.unsupported})
_DEFAULT_SUBJECT = "WhatsApp conversation"  # InboundRecord.fallback_subject's default
_TEXT = schemas.MessageKind.text.value
# a text message's fallback subject, as _fill sets it
_TEXT_FALLBACK_SUBJECT = preview_of(_TEXT, None) or _DEFAULT_SUBJECT


@dataclass
class ProcessReport:
    messages: list[IngestResult] = field(default_factory=list)
    statuses: list[StatusResult] = field(default_factory=list)
    templates: int = 0
    ignored_fields: list[str] = field(default_factory=list)
    failures: list[BaseException] = field(default_factory=list)

    @property
    def media_ids(self) -> list[int]:
        return [r.media_id for r in self.messages if r.media_id is not None]


# ------------------------------------------------------------------ parsed message → record


def valid_wa_id(value: str | None) -> bool:
    """A WhatsApp id is digits (a phone-style number without the plus)."""
    return value is not None and value.isascii() and value.isdigit() and 4 <= len(value) <= 20


def _given_wa_id(message: parse.Inbound, profile: parse.Profile | None) -> str | None:
    return message.from_wa_id or (profile.wa_id if profile else None)


def _sender(message: parse.Inbound | parse.PlainText, profile: parse.Profile | None) -> Sender:
    wa_id = message.from_wa_id or (profile.wa_id if profile else None)
    return Sender(
        # a malformed one is refused (counted in transactions): the BSUID identifies them
        wa_id=wa_id if valid_wa_id(wa_id) else None,
        user_id=message.from_user_id or (profile.user_id if profile else None),
        parent_user_id=message.from_parent_user_id or (profile.parent_user_id if profile else None),
        username=profile.username if profile else None,
        profile_name=profile.name if profile else None,
    )


def _raw(message: parse.Inbound) -> str:
    # compact, as the store writes JSON; a non-finite number is a ValueError here
    return json.dumps(
        dict(message.raw), separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False
    )


def _common_content(message: parse.Inbound) -> dict[str, Any]:
    content: dict[str, Any] = {}
    context = message.context
    if context is not None:
        if context.frequently_forwarded:
            content["frequently_forwarded"] = True
        if context.referred_product:
            content["referred_product"] = context.referred_product
    if message.referral:
        content["referral"] = message.referral
    if message.group_id:
        content["group_id"] = message.group_id
    return content


def _deletion(record: InboundRecord, target: str | None) -> None:
    """A customer deleted a message (``revoke``): an event line under it, never a
    placeholder and never a ticket of its own (store/inbound.py)."""
    if not target:
        return  # nothing named: the placeholder, as for any unreadable message
    record.kind = schemas.MessageKind.event
    record.text = REVOKE_WORDS
    record.unsupported_reason = None
    record.customer_message = False
    record.revokes = target
    record.content["event"] = REVOKE_EVENT


def _duration(seconds: int) -> str:
    return f"{seconds} s" if seconds < 60 else f"{round(seconds / 60)} min"


def call_words(call: parse.CallEvent) -> str:
    """The event line of a customer's call; its end says how long, or that it was missed."""
    if call.event != "terminate":
        return "Customer called"
    if call.status in (None, "COMPLETED") and call.duration:
        return f"Customer called — {_duration(call.duration)}"
    if call.status == "COMPLETED":
        return "Customer called"
    return "Missed call from the customer"


class Ingestor:
    """Turns notifications into store transactions; one per app."""

    def __init__(
        self,
        store: Store,
        *,
        policy: ContentPolicy | None,
        rules: Sequence[RoutingRule] = (),
        on_media: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self.rules = tuple(rules)
        self.on_media = on_media

    @classmethod
    def from_settings(
        cls, store: Store, settings: Settings, on_media: Callable[[], None] | None = None
    ) -> Ingestor:
        return cls(
            store,
            policy=settings.policy.content_policy(),
            rules=settings.routing(),
            on_media=on_media,
        )

    # ---------------------------------------------------------------- records

    def record_for(
        self,
        change: parse.MessagesChange,
        message: parse.Inbound,
        profile: parse.Profile | None = None,
    ) -> InboundRecord:
        """``profile``: ``change.profile_for(message)``, when the caller has it already."""
        context = message.context
        record = InboundRecord(
            wamid=message.wamid,
            phone_number_id=change.phone_number_id,
            at=message.timestamp,
            sender=_sender(message, profile or change.profile_for(message)),
            kind=message.kind.value,
            content=_common_content(message),
            reply_to_wamid=context.reply_to if context else None,
            forwarded=bool(context and (context.forwarded or context.frequently_forwarded)),
        )
        if message.group_id:
            sender = record.sender
            record.content["group_sender"] = {
                "name": sender.profile_name,
                "wa_id": sender.wa_id,
                "user_id": sender.user_id,
            }
        self._fill(record, message)
        if message.edit_of:
            # the new words, quoting the ones they replace: the agent sees what changed
            record.content["edit_of"] = message.edit_of
            record.reply_to_wamid = message.edit_of
        elif isinstance(message, parse.UnsupportedMessage) and message.original_type == "revoke":
            _deletion(record, message.original_message_id)
        self._quarantine(record)
        return record

    def _fill(self, record: InboundRecord, message: parse.Inbound) -> None:
        kinds = schemas.MessageKind
        match message:
            case parse.TextMessage(body=body):
                record.text = body
                record.subject_text = body
            case parse.MediaMessage(media=media):
                record.caption = media.caption
                record.subject_text = media.caption
                record.media = MediaSpec(
                    external_id=media.id,
                    mime_type=media.mime_type,
                    sha256=media.sha256,
                    filename=media.filename,
                )
                if media.animated is not None:
                    record.content["animated"] = media.animated
                if media.url:
                    record.content["media_url"] = media.url
            case parse.LocationMessage():
                record.content["location"] = {
                    "latitude": message.latitude,
                    "longitude": message.longitude,
                    "name": message.name,
                    "address": message.address,
                    "url": message.url,
                }
                record.text = ", ".join(p for p in (message.name, message.address) if p) or None
            case parse.ContactsMessage(cards=cards):
                record.content["contacts"] = [
                    {
                        "name": card.name,
                        "phones": list(card.phones),
                        "emails": list(card.emails),
                        "org": card.org,
                    }
                    for card in cards
                ]
                record.text = ", ".join(card.name for card in cards)
                record.raw = _raw(message)
            case parse.ReactionMessage():
                record.reaction_target = message.target_wamid or ""
                record.reaction_emoji = message.emoji
                record.raw = _raw(message)
            case parse.ButtonMessage():
                record.text = message.text
                record.subject_text = message.text
                record.content["reply"] = {"type": "button", "payload": message.payload}
            case parse.InteractiveMessage():
                record.text = message.title
                record.subject_text = message.title
                reply: dict[str, Any] = {"type": message.reply_type, "id": message.reply_id}
                if message.description:
                    reply["description"] = message.description
                if message.details:
                    reply.update(message.details)
                record.content["reply"] = reply
                if message.form:
                    record.content["form"] = [
                        {"name": name, "value": value} for name, value in message.form
                    ]
            case parse.OrderMessage():
                record.text = message.text
                record.subject_text = message.text
                record.content["order"] = [
                    {
                        "product_retailer_id": item.product_retailer_id,
                        "quantity": item.quantity,
                        "item_price": item.item_price,
                        "currency": item.currency,
                    }
                    for item in message.items
                ]
                record.content["catalog_id"] = message.catalog_id
                record.fallback_subject = "Order"
            case parse.SystemMessage():
                record.kind = kinds.event
                record.text = message.body
                record.customer_message = False
                record.raw = _raw(message)
                record.identity_change = IdentityChange(
                    event=message.event,
                    new_wa_id=message.new_wa_id,
                    new_user_id=message.new_user_id,
                    new_parent_user_id=message.new_parent_user_id,
                )
                if message.original_type and message.original_type != message.event:
                    record.content["system_type"] = message.original_type
            case parse.RequestWelcome():
                record.kind = kinds.event
                record.customer_message = False
                record.welcome = True
                record.fallback_subject = "New conversation"
            case parse.UnsupportedMessage():
                record.kind = kinds.unsupported
                record.unsupported_reason = message.reason
                record.raw = _raw(message)
                record.fallback_subject = UNSUPPORTED_PREVIEW
                if message.original_message_id:
                    record.content["original_message_id"] = message.original_message_id
                if message.errors:
                    record.content["errors"] = [
                        {"code": e.code, "title": e.title, "details": e.details}
                        for e in message.errors
                    ]
            case _:
                record.kind = kinds.unsupported
                record.unsupported_reason = message.type
                record.raw = _raw(message)
        if record.fallback_subject == _DEFAULT_SUBJECT and record.kind != kinds.event:
            record.fallback_subject = preview_of(record.kind, None) or record.fallback_subject

    def echo_record(self, change: parse.EchoesChange, echo: parse.Echo) -> InboundRecord:
        """An echo as a record whose sender is the customer it went to (no quarantine:
        the business's own words)."""
        message = echo.message
        context = message.context
        record = InboundRecord(
            wamid=message.wamid,
            phone_number_id=change.phone_number_id,
            at=message.timestamp,
            sender=Sender(
                wa_id=echo.to_wa_id if valid_wa_id(echo.to_wa_id) else None,
                user_id=echo.to_user_id,
                parent_user_id=echo.to_parent_user_id,
            ),
            kind=message.kind.value,
            content=_common_content(message),
            reply_to_wamid=context.reply_to if context else None,
        )
        self._fill(record, message)
        if message.edit_of:
            record.content["edit_of"] = message.edit_of
            record.reply_to_wamid = message.edit_of
        return record

    def call_record(self, change: parse.CallsChange, call: parse.CallEvent) -> InboundRecord:
        profile = change.profile_for(call)
        wa_id = call.from_wa_id or (profile.wa_id if profile else None)
        return InboundRecord(
            wamid=call.call_id,
            phone_number_id=change.phone_number_id,
            at=call.timestamp,
            sender=Sender(
                wa_id=wa_id if valid_wa_id(wa_id) else None,
                user_id=call.from_user_id or (profile.user_id if profile else None),
                parent_user_id=call.from_parent_user_id
                or (profile.parent_user_id if profile else None),
                username=profile.username if profile else None,
                profile_name=profile.name if profile else None,
            ),
            kind=schemas.MessageKind.event,
            text=call_words(call),
            content={
                "event": CALL_EVENT,
                "call": {
                    "event": call.event,
                    "status": call.status,
                    "duration": call.duration,
                    "direction": call.direction,
                },
            },
            fallback_subject=CALL_PREVIEW,
        )

    def _quarantine(self, record: InboundRecord) -> None:
        if self.policy is None or record.kind in _NOT_CHECKED:
            return
        for candidate in (record.text, record.caption):
            if not candidate:
                continue
            hit = self.policy.check(candidate)
            if hit is not None:
                record.content["kind"] = record.kind
                record.kind = schemas.MessageKind.quarantined
                record.quarantine_rule = hit.rule
                record.subject_text = None
                record.fallback_subject = QUARANTINED_PREVIEW
                return

    # ---------------------------------------------------------------- processing

    def plain_text_changes(self, plain: parse.PlainText) -> list[Change]:
        """What ``changes`` makes of the notification ``plain`` was read from: a text
        message's record (``record_for``), without the parsed objects in between."""
        profile = plain.profile
        record = InboundRecord(
            wamid=plain.wamid,
            phone_number_id=plain.phone_number_id,
            at=plain.timestamp,
            sender=_sender(plain, profile),
            kind=_TEXT,
            text=plain.body,
            subject_text=plain.body,
            fallback_subject=_TEXT_FALLBACK_SUBJECT,
        )
        self._quarantine(record)
        given = plain.from_wa_id or (profile.wa_id if profile else None)
        if given is not None and not valid_wa_id(given):
            return [record, Counts({COUNTER_INVALID_WA_ID: 1})]
        return [record]

    def changes(
        self, notification: parse.Notification | parse.PlainText
    ) -> tuple[list[Change], list[str]]:
        """The changes a notification makes to the store, in order, and its ignored fields."""
        if type(notification) is parse.PlainText:
            return self.plain_text_changes(notification), []
        assert isinstance(notification, parse.Notification)
        work: list[Change] = []
        ignored: list[str] = []
        counters: dict[str, int] = {}
        for change in notification.changes:
            if isinstance(change, parse.MessagesChange):
                for message in change.messages:
                    profile = change.profile_for(message)
                    record = self.record_for(change, message, profile)
                    given = _given_wa_id(message, profile)
                    if given is not None and not valid_wa_id(given):
                        counters[COUNTER_INVALID_WA_ID] = counters.get(COUNTER_INVALID_WA_ID, 0) + 1
                    work.append(self._message_change(message, record))
                for status in change.statuses:
                    work.append(self.status_record(change, status))
                if change.errors:
                    log.warning(
                        "webhook errors for %s: %s",
                        change.phone_number_id,
                        "; ".join(f"{e.code} {e.title or ''}".strip() for e in change.errors),
                    )
                    counters[COUNTER_VALUE_ERRORS] = counters.get(COUNTER_VALUE_ERRORS, 0) + len(
                        change.errors
                    )
                if change.invalid:
                    counters[COUNTER_INVALID] = counters.get(COUNTER_INVALID, 0) + change.invalid
            elif isinstance(change, parse.EchoesChange):
                for echo in change.echoes:
                    record = self.echo_record(change, echo)
                    if not (record.sender.wa_id or record.sender.user_id):
                        counters[COUNTER_INVALID] = counters.get(COUNTER_INVALID, 0) + 1
                        continue  # no customer to file it under
                    work.append(Echo(record))
                if change.invalid:
                    counters[COUNTER_INVALID] = counters.get(COUNTER_INVALID, 0) + change.invalid
            elif isinstance(change, parse.CallsChange):
                for call in change.calls:
                    if not call.from_customer:
                        counters[COUNTER_IGNORED_CALL] = counters.get(COUNTER_IGNORED_CALL, 0) + 1
                        continue
                    record = self.call_record(change, call)
                    if not (record.sender.wa_id or record.sender.user_id):
                        counters[COUNTER_INVALID] = counters.get(COUNTER_INVALID, 0) + 1
                        continue  # no customer to file it under
                    work.append(Call(record))
                if change.invalid:
                    counters[COUNTER_INVALID] = counters.get(COUNTER_INVALID, 0) + change.invalid
            elif isinstance(change, parse.TemplateStatusChange):
                work.append(
                    TemplateStatus(
                        template_id=change.template_id,
                        name=change.name,
                        language=change.language,
                        status=change.event,
                        reason=change.reason,
                    )
                )
            else:
                ignored.append(change.field)
                counters[COUNTER_IGNORED_FIELD] = counters.get(COUNTER_IGNORED_FIELD, 0) + 1
        if counters:
            work.append(Counts(counters))
        return work, ignored

    @staticmethod
    def _message_change(message: parse.Inbound, record: InboundRecord) -> Change:
        """A group's message goes to the group's thread (reactions to one are applied to
        their message as any reaction is)."""
        if (
            message.group_id
            and record.revokes is None
            and not isinstance(message, parse.ReactionMessage | parse.SystemMessage)
        ):
            return GroupMessage(record, message.group_id)
        return record

    @staticmethod
    def status_record(change: parse.MessagesChange, status: parse.StatusUpdate) -> StatusRecord:
        error = status.errors[0] if status.errors else None
        return StatusRecord(
            wamid=status.wamid,
            status=status.status,
            at=status.timestamp,
            phone_number_id=change.phone_number_id,
            opaque=status.biz_opaque_callback_data,
            pricing=status.pricing,
            error_code=error.code if error else None,
            error_message=plain_error(error.code, error.details or error.message)
            if error
            else None,
        )

    async def process(self, notification: parse.Notification | parse.PlainText) -> ProcessReport:
        """Store every change of a notification; returns after all have committed."""
        work, ignored = self.changes(notification)
        report = ProcessReport(ignored_fields=ignored)
        if not work:
            return report
        for outcome in await self.store.ingest(work, rules=self.rules):
            if isinstance(outcome, BaseException):
                report.failures.append(outcome)
            elif isinstance(outcome, IngestResult):
                report.messages.append(outcome)
            elif isinstance(outcome, StatusResult):
                report.statuses.append(outcome)
            elif isinstance(outcome, bool):
                report.templates += int(outcome)
        if report.media_ids and self.on_media is not None:
            self.on_media()
        return report
