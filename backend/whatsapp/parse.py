"""Webhook notifications → typed inbound messages, statuses and other changes.

Pure: no I/O, no store. Meta adds message types, statuses and fields without
versioning them, so everything is read leniently: an unknown message type becomes an
``UnsupportedMessage`` (raw payload kept), an unknown field an ``IgnoredChange``, a
missing optional part ``None``. Only a body that is not a notification at all (not an
object, ``entry`` not a list) raises ``MalformedNotification``.

The parsed values are slotted dataclasses, read-only by convention: not frozen, because
a frozen one sets each field through ``object.__setattr__``, a sixth of the time this
module spends on every webhook (tests/bench/ingest.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.domain import json_input
from backend.domain.media_types import SENDABLE_MIME
from backend.domain.numbers import fits_int64
from backend.schemas import MessageKind

# Inbound media of a type that cannot be sent (domain/media_types.py) is downgraded to an
# unsupported-attachment placeholder; a document may be any sendable file (SPEC §6:
# "document (pdf, mp3, …)").
_DOCUMENT_ACCEPTS = frozenset().union(*SENDABLE_MIME.values())
MEDIA_TYPES = frozenset(SENDABLE_MIME)

UNAVAILABLE_CODE = 131060
UNSUPPORTED_CODE = 131051
IDENTITY_KEY_CHANGED = "identity_key_changed"

_LEGACY_SYSTEM_EVENTS = {
    "customer_changed_number": "user_changed_number",
    # the customer's security code (identity key) changed: WhatsApp reinstalled or a new
    # phone. No id changes: an event line, no identity update.
    "customer_identity_changed": IDENTITY_KEY_CHANGED,
}
# a Flow answer's fields shown at most (the rest stay in the stored response)
FORM_FIELDS_MAX = 50
FORM_VALUE_MAX = 1000


class MalformedNotification(ValueError):
    """The body is JSON but not a webhook notification."""


# ------------------------------------------------------------------ small parts


@dataclass(slots=True, kw_only=True)
class ErrorInfo:
    code: int | None
    title: str | None = None
    message: str | None = None
    details: str | None = None
    href: str | None = None


@dataclass(slots=True, kw_only=True)
class Profile:
    """One entry of ``value.contacts``: who sent the messages beside it."""

    user_id: str | None
    wa_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    name: str | None = None


@dataclass(slots=True, kw_only=True)
class Context:
    reply_to: str | None = None  # the wamid replied to (context.id)
    reply_from: str | None = None
    forwarded: bool = False
    frequently_forwarded: bool = False
    referred_product: dict[str, Any] | None = None


@dataclass(slots=True, kw_only=True)
class MediaRef:
    id: str | None
    mime_type: str | None = None
    sha256: str | None = None
    url: str | None = None
    filename: str | None = None
    caption: str | None = None
    animated: bool | None = None
    voice: bool = False


@dataclass(slots=True, kw_only=True)
class SharedContactCard:
    name: str
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    org: str | None = None


@dataclass(slots=True, kw_only=True)
class OrderLine:
    product_retailer_id: str
    quantity: int
    item_price: float | None = None
    currency: str | None = None


# ------------------------------------------------------------------ inbound messages


@dataclass(slots=True, kw_only=True)
class Inbound:
    """What every inbound message carries. Subclasses add the type's payload."""

    wamid: str
    type: str  # Meta's type as received
    timestamp: datetime | None
    from_wa_id: str | None = None
    from_user_id: str | None = None
    from_parent_user_id: str | None = None
    context: Context | None = None
    referral: dict[str, Any] | None = None
    group_id: str | None = None
    errors: tuple[ErrorInfo, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    edit_of: str | None = None  # an ``edit``'s new content: the wamid of the message it edits

    @property
    def kind(self) -> MessageKind:
        return MessageKind.unsupported


@dataclass(slots=True, kw_only=True)
class TextMessage(Inbound):
    body: str

    @property
    def kind(self) -> MessageKind:
        return MessageKind.text


@dataclass(slots=True, kw_only=True)
class MediaMessage(Inbound):
    """image, video (GIFs as mp4 too), audio (voice notes), document, sticker."""

    media: MediaRef

    @property
    def kind(self) -> MessageKind:
        if self.type == "audio" and self.media.voice:
            return MessageKind.voice
        return MessageKind(self.type)


@dataclass(slots=True, kw_only=True)
class LocationMessage(Inbound):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None

    @property
    def kind(self) -> MessageKind:
        return MessageKind.location


@dataclass(slots=True, kw_only=True)
class ContactsMessage(Inbound):
    cards: tuple[SharedContactCard, ...]

    @property
    def kind(self) -> MessageKind:
        return MessageKind.contacts


@dataclass(slots=True, kw_only=True)
class ReactionMessage(Inbound):
    target_wamid: str | None
    emoji: str | None  # None: the reaction was removed

    @property
    def removed(self) -> bool:
        return not self.emoji

    @property
    def kind(self) -> MessageKind:
        return MessageKind.unsupported  # a reaction is not a message; see ingest


@dataclass(slots=True, kw_only=True)
class ButtonMessage(Inbound):
    """A template's quick-reply button."""

    text: str
    payload: str | None = None

    @property
    def kind(self) -> MessageKind:
        return MessageKind.button_reply


@dataclass(slots=True, kw_only=True)
class InteractiveMessage(Inbound):
    """button_reply, list_reply, nfm_reply (flows) or call_permission_reply."""

    reply_type: str
    reply_id: str | None = None
    title: str = ""
    description: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    form: tuple[tuple[str, str], ...] = ()  # a Flow answer's fields (name, value)

    @property
    def kind(self) -> MessageKind:
        return MessageKind.interactive_reply


@dataclass(slots=True, kw_only=True)
class OrderMessage(Inbound):
    catalog_id: str | None
    items: tuple[OrderLine, ...]
    text: str | None = None

    @property
    def kind(self) -> MessageKind:
        return MessageKind.order


@dataclass(slots=True, kw_only=True)
class SystemMessage(Inbound):
    """The user changed number or BSUID: an event line and an identity update."""

    event: str  # user_changed_number | user_changed_user_id | Meta's own when unknown
    original_type: str | None = None
    body: str | None = None
    new_wa_id: str | None = None
    new_user_id: str | None = None
    new_parent_user_id: str | None = None

    @property
    def kind(self) -> MessageKind:
        return MessageKind.event


@dataclass(slots=True, kw_only=True)
class RequestWelcome(Inbound):
    """The user opened a chat with the business for the first time."""

    @property
    def kind(self) -> MessageKind:
        return MessageKind.event


@dataclass(slots=True, kw_only=True)
class UnsupportedMessage(Inbound):
    """Meta's ``unsupported``, a coexistence revoke/edit, an attachment of a type we do not
    accept, or a type this code does not know: a placeholder naming the reason."""

    reason: str
    original_type: str | None = None
    attachment: MediaRef | None = None
    original_message_id: str | None = None  # revoke / edit


# ------------------------------------------------------------------ statuses and other changes


@dataclass(slots=True, kw_only=True)
class StatusUpdate:
    wamid: str
    status: str  # lowercased; unknown values are kept as they are
    timestamp: datetime | None
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: tuple[ErrorInfo, ...] = ()
    pricing: dict[str, Any] | None = None
    conversation: dict[str, Any] | None = None


@dataclass(slots=True, kw_only=True)
class MessagesChange:
    """A ``messages`` change: inbound messages, statuses and errors of one business number."""

    waba_id: str | None
    phone_number_id: str | None
    display_phone_number: str | None
    profiles: tuple[Profile, ...] = ()
    messages: tuple[Inbound, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    errors: tuple[ErrorInfo, ...] = ()
    invalid: int = 0  # messages or statuses without an id: nothing to key them on

    def profile_for(self, message: Inbound) -> Profile | None:
        for profile in self.profiles:
            if message.from_user_id and profile.user_id == message.from_user_id:
                return profile
        for profile in self.profiles:
            if message.from_wa_id and profile.wa_id == message.from_wa_id:
                return profile
        return self.profiles[0] if len(self.profiles) == 1 else None


@dataclass(slots=True, kw_only=True)
class CallEvent:
    """One element of a ``calls`` change (the Calling API): a call rang or ended."""

    call_id: str
    event: str  # connect | terminate | … (lowercased)
    timestamp: datetime | None
    direction: str | None = None  # USER_INITIATED | BUSINESS_INITIATED (uppercased)
    from_wa_id: str | None = None
    from_user_id: str | None = None
    from_parent_user_id: str | None = None
    status: str | None = None  # with terminate: COMPLETED | FAILED | … (uppercased)
    duration: int | None = None  # seconds, with terminate

    @property
    def from_customer(self) -> bool:
        return self.direction in (None, "USER_INITIATED")


@dataclass(slots=True, kw_only=True)
class CallsChange:
    """A ``calls`` change: calls between customers and one business number."""

    waba_id: str | None
    phone_number_id: str | None
    display_phone_number: str | None
    profiles: tuple[Profile, ...] = ()
    calls: tuple[CallEvent, ...] = ()
    invalid: int = 0

    def profile_for(self, call: CallEvent) -> Profile | None:
        for profile in self.profiles:
            if (call.from_user_id and profile.user_id == call.from_user_id) or (
                call.from_wa_id and profile.wa_id == call.from_wa_id
            ):
                return profile
        return self.profiles[0] if len(self.profiles) == 1 else None


@dataclass(slots=True, kw_only=True)
class Echo:
    """A message the business sent from the WhatsApp Business app (coexistence): the
    message as parsed (its ``from`` is the business), and the customer it went to."""

    message: Inbound
    to_wa_id: str | None = None
    to_user_id: str | None = None
    to_parent_user_id: str | None = None


@dataclass(slots=True, kw_only=True)
class EchoesChange:
    """An ``smb_message_echoes`` change of one business number."""

    waba_id: str | None
    phone_number_id: str | None
    display_phone_number: str | None
    echoes: tuple[Echo, ...] = ()
    invalid: int = 0


@dataclass(slots=True, kw_only=True)
class TemplateStatusChange:
    waba_id: str | None
    event: str  # APPROVED, REJECTED, PAUSED, … (uppercased)
    template_id: str | None
    name: str | None
    language: str | None
    reason: str | None = None
    category: str | None = None


@dataclass(slots=True, kw_only=True)
class IgnoredChange:
    waba_id: str | None
    field: str


Change = MessagesChange | CallsChange | EchoesChange | TemplateStatusChange | IgnoredChange


@dataclass(slots=True, kw_only=True)
class Notification:
    object: str | None
    changes: tuple[Change, ...]


# ------------------------------------------------------------------ readers


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _float(value: Any) -> float | None:
    """A finite number ("NaN" and "Infinity" are strings float() reads, JSON cannot hold)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    """An integer SQLite can hold (64 bits)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # int(inf) is an OverflowError
        return None
    return number if fits_int64(number) else None


def parse_timestamp(value: Any) -> datetime | None:
    """Meta's unix seconds (a string, sometimes a number) as an aware UTC datetime."""
    seconds = _float(value)
    if seconds is None or seconds < 0 or seconds > 32503680000:  # year 3000
        return None
    return datetime.fromtimestamp(seconds, UTC)


def parse_errors(value: Any) -> tuple[ErrorInfo, ...]:
    errors = []
    for item in _list(value):
        item = _dict(item)
        if not item:
            continue
        errors.append(
            ErrorInfo(
                code=_int(item.get("code")),
                title=_str(item.get("title")),
                message=_str(item.get("message")),
                details=_str(_dict(item.get("error_data")).get("details")),
                href=_str(item.get("href")),
            )
        )
    return tuple(errors)


def _base_mime(mime: str | None) -> str | None:
    if not mime:
        return None
    return mime.split(";", 1)[0].strip().lower() or None


def mime_accepted(media_type: str, mime: str | None) -> bool:
    """Whether an inbound attachment of this type and MIME type is kept as media."""
    base = _base_mime(mime)
    if base is None:
        return True  # nothing to judge by: the Graph API's answer gives it later
    allowed = _DOCUMENT_ACCEPTS if media_type == "document" else SENDABLE_MIME[media_type]
    if base not in allowed:
        return False
    if base == "audio/ogg" and mime and "codecs" in mime.lower():
        return "opus" in mime.lower()
    return True


REFERRAL_FIELDS = (
    "source_type",
    "source_id",
    "source_url",
    "headline",
    "body",
    "media_type",
    "image_url",
    "video_url",
    "thumbnail_url",
    "ctwa_clid",
)
PRODUCT_FIELDS = ("catalog_id", "product_retailer_id")


def _strings(value: Any, fields: tuple[str, ...]) -> dict[str, str] | None:
    """The known fields of an object, as text (Meta may send ids as numbers); None when
    it has none of them."""
    if not value or not isinstance(value, dict):
        return None  # most messages have no referral and no product: no pass over the names
    kept = {name: text for name in fields if (text := _str(value.get(name))) is not None}
    return kept or None


def _context(value: Any) -> Context | None:
    data = _dict(value)
    if not data:
        return None
    product = _strings(data.get("referred_product"), PRODUCT_FIELDS)
    return Context(
        reply_to=_str(data.get("id")),
        reply_from=_str(data.get("from")),
        forwarded=data.get("forwarded") is True,
        frequently_forwarded=data.get("frequently_forwarded") is True,
        referred_product=product,
    )


def _media(data: dict[str, Any], media_type: str) -> MediaRef:
    animated = data.get("animated")
    return MediaRef(
        id=_str(data.get("id")),
        mime_type=_str(data.get("mime_type")),
        sha256=_str(data.get("sha256")),
        url=_str(data.get("url")),
        filename=_str(data.get("filename")),
        caption=_str(data.get("caption")),
        animated=animated if isinstance(animated, bool) else None,
        voice=data.get("voice") is True,
    )


def _card(data: dict[str, Any]) -> SharedContactCard:
    name = _dict(data.get("name"))
    formatted = _str(name.get("formatted_name")) or " ".join(
        part for part in (_str(name.get("first_name")), _str(name.get("last_name"))) if part
    )
    phones = tuple(
        phone
        for phone in (
            _str(_dict(p).get("phone")) or _str(_dict(p).get("wa_id"))
            for p in _list(data.get("phones"))
        )
        if phone
    )
    emails = tuple(
        email for email in (_str(_dict(e).get("email")) for e in _list(data.get("emails"))) if email
    )
    org = _dict(data.get("org"))
    org_name = _str(org.get("company")) or _str(org.get("department"))
    return SharedContactCard(
        name=formatted or (phones[0] if phones else "Unnamed contact"),
        phones=phones,
        emails=emails,
        org=org_name,
    )


def _order_line(data: dict[str, Any]) -> OrderLine | None:
    product = _str(data.get("product_retailer_id"))
    if product is None:
        return None
    return OrderLine(
        product_retailer_id=product,
        quantity=_int(data.get("quantity")) or 0,
        item_price=_float(data.get("item_price")),
        currency=_str(data.get("currency")),
    )


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(_form_value(item) for item in value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _form_fields(response: Any) -> tuple[tuple[str, str], ...]:
    """A Flow answer's submitted fields, read leniently: () unless ``response`` is an
    object; the ``flow_token`` is ours, not the customer's."""
    if not isinstance(response, dict):
        return ()
    fields = []
    for name, value in response.items():
        if name == "flow_token":
            continue
        fields.append((str(name), _form_value(value)[:FORM_VALUE_MAX]))
        if len(fields) == FORM_FIELDS_MAX:
            break
    return tuple(fields)


def _interactive(common: dict[str, Any], data: dict[str, Any]) -> Inbound:
    reply_type = _str(data.get("type")) or ""
    reply = _dict(data.get(reply_type))
    if reply_type in ("button_reply", "list_reply"):
        return InteractiveMessage(
            **common,
            reply_type=reply_type,
            reply_id=_str(reply.get("id")),
            title=_str(reply.get("title")) or "",
            description=_str(reply.get("description")),
        )
    if reply_type == "nfm_reply":
        response: Any = reply.get("response_json")
        if isinstance(response, str):
            try:
                response = json_input.decode(response, invalid_numbers_as_null=True)
            except ValueError:
                pass
        form = _form_fields(response)
        return InteractiveMessage(
            **common,
            reply_type=reply_type,
            title="\n".join(f"{name}: {value}" for name, value in form)
            or _str(reply.get("body"))
            or _str(reply.get("name"))
            or "Form response",
            details={"name": _str(reply.get("name")), "response": response},
            form=form,
        )
    if reply_type == "call_permission_reply":
        answer = _str(reply.get("response")) or "unknown"
        words = {"accept": "accepted", "reject": "declined"}.get(answer, answer)
        return InteractiveMessage(
            **common,
            reply_type=reply_type,
            title=f"Call permission {words}",
            details={
                "response": answer,
                "expiration_timestamp": _str(reply.get("expiration_timestamp")),
                "response_source": _str(reply.get("response_source")),
                "is_permanent": reply.get("is_permanent"),
            },
        )
    return UnsupportedMessage(
        **common, reason=f"interactive {reply_type or 'reply'}", original_type="interactive"
    )


def _system(common: dict[str, Any], data: dict[str, Any]) -> Inbound:
    original = _str(data.get("type")) or ""
    event = _LEGACY_SYSTEM_EVENTS.get(original, original or "system")
    if event == IDENTITY_KEY_CHANGED:
        # its wa_id / customer name the customer as they are: nothing to update
        return SystemMessage(
            **common, event=event, original_type=original, body=_str(data.get("body"))
        )
    new_wa_id = _str(data.get("wa_id")) or _str(data.get("new_wa_id"))
    return SystemMessage(
        **common,
        event=event,
        original_type=original or None,
        body=_str(data.get("body")),
        new_wa_id=new_wa_id,
        new_user_id=_str(data.get("user_id")),
        new_parent_user_id=_str(data.get("parent_user_id")),
    )


def _unsupported(common: dict[str, Any], message: dict[str, Any]) -> UnsupportedMessage:
    errors: tuple[ErrorInfo, ...] = common["errors"]
    original = _str(_dict(message.get("unsupported")).get("type"))
    if any(e.code == UNAVAILABLE_CODE for e in errors):
        reason = original or "message unavailable"
    else:
        reason = original or "unknown message type"
    return UnsupportedMessage(**common, reason=reason, original_type=original)


def _edited(data: dict[str, Any], body: dict[str, Any]) -> Inbound | None:
    """An ``edit``'s new content (``edit.message``, a text or a captioned media message) as
    that message, sent by the edit's sender at the edit's time; None when unreadable."""
    inner = _dict(body.get("message"))
    inner_type = _str(inner.get("type"))
    original = _str(body.get("original_message_id"))
    if not inner_type or inner_type in ("edit", "revoke") or not original:
        return None
    outer = {key: value for key, value in data.items() if key not in ("type", "edit")}
    parsed = parse_message(
        {**outer, **inner, "id": data.get("id"), "timestamp": data.get("timestamp")}
    )
    if parsed is None or isinstance(parsed, UnsupportedMessage):
        return None
    parsed.edit_of = original
    parsed.raw = data
    return parsed


def parse_message(message: Any) -> Inbound | None:
    """One element of ``value.messages``; None when it has no id to key it on."""
    data = _dict(message)
    wamid = _str(data.get("id"))
    if not wamid:
        return None
    kind = _str(data.get("type")) or "unknown"
    common: dict[str, Any] = {
        "wamid": wamid,
        "type": kind,
        "timestamp": parse_timestamp(data.get("timestamp")),
        "from_wa_id": _str(data.get("from")),
        "from_user_id": _str(data.get("from_user_id")),
        "from_parent_user_id": _str(data.get("from_parent_user_id")),
        "context": _context(data.get("context")),
        "referral": _strings(data.get("referral"), REFERRAL_FIELDS),
        "group_id": _str(data.get("group_id")),
        "errors": parse_errors(data.get("errors")),
        "raw": data,
    }
    payload = data.get(kind)
    body = _dict(payload)
    if kind == "text":
        text = _str(body.get("body"))
        if text is not None:
            return TextMessage(**common, body=text)
    elif kind in MEDIA_TYPES:
        if body:
            media = _media(body, kind)
            if not mime_accepted(kind, media.mime_type):
                return UnsupportedMessage(
                    **common,
                    reason=f"unsupported attachment type {_base_mime(media.mime_type)}",
                    original_type=kind,
                    attachment=media,
                )
            return MediaMessage(**common, media=media)
    elif kind == "location":
        latitude, longitude = _float(body.get("latitude")), _float(body.get("longitude"))
        if latitude is not None and longitude is not None:
            return LocationMessage(
                **common,
                latitude=latitude,
                longitude=longitude,
                name=_str(body.get("name")),
                address=_str(body.get("address")),
                url=_str(body.get("url")),
            )
    elif kind == "contacts":
        cards = tuple(_card(_dict(item)) for item in _list(payload) if isinstance(item, dict))
        if cards:
            return ContactsMessage(**common, cards=cards)
    elif kind == "reaction":
        emoji = _str(body.get("emoji")) or None
        return ReactionMessage(**common, target_wamid=_str(body.get("message_id")), emoji=emoji)
    elif kind == "button":
        text = _str(body.get("text")) or _str(body.get("payload"))
        if text is not None:
            return ButtonMessage(**common, text=text, payload=_str(body.get("payload")))
    elif kind == "interactive":
        if body:
            return _interactive(common, body)
    elif kind == "order":
        items = tuple(
            line
            for line in (_order_line(_dict(i)) for i in _list(body.get("product_items")))
            if line
        )
        return OrderMessage(
            **common,
            catalog_id=_str(body.get("catalog_id")),
            items=items,
            text=_str(body.get("text")),
        )
    elif kind == "system":
        return _system(common, body)
    elif kind == "request_welcome":
        return RequestWelcome(**common)
    elif kind == "edit" and (edited := _edited(data, body)) is not None:
        return edited
    elif kind in ("revoke", "edit"):
        return UnsupportedMessage(
            **common,
            reason="deleted message" if kind == "revoke" else "edited message",
            original_type=kind,
            original_message_id=_str(body.get("original_message_id")),
        )
    elif kind == "unsupported" or kind == "unknown":
        return _unsupported(common, data)
    else:
        # a type Meta added after this code was written
        return UnsupportedMessage(**common, reason=kind, original_type=kind)
    # a known type whose payload is missing or unreadable
    return UnsupportedMessage(**common, reason=f"unreadable {kind} message", original_type=kind)


def parse_status(status: Any) -> StatusUpdate | None:
    data = _dict(status)
    wamid = _str(data.get("id"))
    if not wamid:
        return None
    return StatusUpdate(
        wamid=wamid,
        status=(_str(data.get("status")) or "").strip().lower(),
        timestamp=parse_timestamp(data.get("timestamp")),
        recipient_id=_str(data.get("recipient_id")),
        recipient_user_id=_str(data.get("recipient_user_id")),
        biz_opaque_callback_data=_str(data.get("biz_opaque_callback_data")),
        errors=parse_errors(data.get("errors")),
        pricing=_dict(data.get("pricing")) or None,
        conversation=_dict(data.get("conversation")) or None,
    )


def _profile(data: dict[str, Any]) -> Profile:
    profile = _dict(data.get("profile"))
    return Profile(
        user_id=_str(data.get("user_id")),
        wa_id=_str(data.get("wa_id")),
        parent_user_id=_str(data.get("parent_user_id")),
        username=_str(profile.get("username")) or _str(data.get("username")),
        name=_str(profile.get("name")),
    )


def parse_messages_value(waba_id: str | None, value: Any) -> MessagesChange:
    data = _dict(value)
    metadata = _dict(data.get("metadata"))
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    invalid = 0
    for raw in _list(data.get("messages")):
        message = parse_message(raw)
        if message is None:
            invalid += 1
        else:
            messages.append(message)
    for raw in _list(data.get("statuses")):
        update = parse_status(raw)
        if update is None:
            invalid += 1
        else:
            statuses.append(update)
    return MessagesChange(
        waba_id=waba_id,
        phone_number_id=_str(metadata.get("phone_number_id")),
        display_phone_number=_str(metadata.get("display_phone_number")),
        profiles=tuple(
            _profile(_dict(c)) for c in _list(data.get("contacts")) if isinstance(c, dict)
        ),
        messages=tuple(messages),
        statuses=tuple(statuses),
        errors=parse_errors(data.get("errors")),
        invalid=invalid,
    )


def parse_call(call: Any) -> CallEvent | None:
    data = _dict(call)
    call_id = _str(data.get("id"))
    if not call_id:
        return None
    duration = _int(data.get("duration"))
    return CallEvent(
        call_id=call_id,
        event=(_str(data.get("event")) or "").strip().lower(),
        timestamp=parse_timestamp(data.get("timestamp")),
        direction=(_str(data.get("direction")) or "").strip().upper() or None,
        from_wa_id=_str(data.get("from")),
        from_user_id=_str(data.get("from_user_id")),
        from_parent_user_id=_str(data.get("from_parent_user_id")),
        status=(_str(data.get("status")) or "").strip().upper() or None,
        duration=duration if duration is not None and 0 <= duration < 10**7 else None,
    )


def parse_calls_value(waba_id: str | None, value: Any) -> CallsChange:
    data = _dict(value)
    metadata = _dict(data.get("metadata"))
    calls: list[CallEvent] = []
    invalid = 0
    for raw in _list(data.get("calls")):
        call = parse_call(raw)
        if call is None:
            invalid += 1
        else:
            calls.append(call)
    return CallsChange(
        waba_id=waba_id,
        phone_number_id=_str(metadata.get("phone_number_id")),
        display_phone_number=_str(metadata.get("display_phone_number")),
        profiles=tuple(
            _profile(_dict(c)) for c in _list(data.get("contacts")) if isinstance(c, dict)
        ),
        calls=tuple(calls),
        invalid=invalid,
    )


def parse_echoes_value(waba_id: str | None, value: Any) -> EchoesChange:
    data = _dict(value)
    metadata = _dict(data.get("metadata"))
    echoes: list[Echo] = []
    invalid = 0
    for raw in _list(data.get("message_echoes")):
        message = parse_message(raw)
        if message is None:
            invalid += 1
            continue
        fields = _dict(raw)
        echoes.append(
            Echo(
                message=message,
                to_wa_id=_str(fields.get("to")),
                to_user_id=_str(fields.get("to_user_id")),
                to_parent_user_id=_str(fields.get("to_parent_user_id")),
            )
        )
    return EchoesChange(
        waba_id=waba_id,
        phone_number_id=_str(metadata.get("phone_number_id")),
        display_phone_number=_str(metadata.get("display_phone_number")),
        echoes=tuple(echoes),
        invalid=invalid,
    )


def parse_template_status(waba_id: str | None, value: Any) -> TemplateStatusChange:
    data = _dict(value)
    return TemplateStatusChange(
        waba_id=waba_id,
        event=(_str(data.get("event")) or "UNKNOWN").upper(),
        template_id=_str(data.get("message_template_id")),
        name=_str(data.get("message_template_name")),
        language=_str(data.get("message_template_language")),
        reason=_str(data.get("reason")),
        category=_str(data.get("message_template_category")),
    )


# the keys of a text message that ``plain_text`` reads; any other (context, referral,
# group_id, errors…) sends the notification to ``parse_notification``
_PLAIN_TEXT_KEYS = frozenset(
    {"from", "from_user_id", "from_parent_user_id", "id", "timestamp", "type", "text"}
)


@dataclass(slots=True, kw_only=True)
class PlainText:
    """The commonest notification (``plain_text``): one text message, and the contact
    beside it, in one ``messages`` change."""

    phone_number_id: str | None
    wamid: str
    timestamp: datetime | None
    from_wa_id: str | None
    from_user_id: str | None
    from_parent_user_id: str | None
    profile: Profile | None  # what MessagesChange.profile_for gives for the message
    body: str


def _text_or_none(value: Any) -> bool:
    return value is None or type(value) is str


def plain_text(data: Any) -> PlainText | None:
    """A decoded body read in one pass, without the parsed objects, when it is the
    commonest shape: one entry, one ``messages`` change holding one text message with
    none of the optional parts (no context, referral, group or errors), at most one
    contact, no statuses and no errors. None for anything else, which
    ``parse_notification`` reads. The ingest makes the same changes of either
    (tests/whatsapp/test_plain_text.py); reading and recording this way take about half
    the time (the webhook's path, tests/bench/results.md)."""
    if type(data) is not dict:
        return None
    entries = data.get("entry")
    if type(entries) is not list or len(entries) != 1 or type(entries[0]) is not dict:
        return None
    changes = entries[0].get("changes")
    if type(changes) is not list or len(changes) != 1 or type(changes[0]) is not dict:
        return None
    change = changes[0]
    value = change.get("value")
    if change.get("field") != "messages" or type(value) is not dict:
        return None
    messages = value.get("messages")
    if (
        type(messages) is not list
        or len(messages) != 1
        or value.get("statuses")
        or value.get("errors")
    ):
        return None
    message = messages[0]
    if (
        type(message) is not dict
        or message.get("type") != "text"
        or not _PLAIN_TEXT_KEYS.issuperset(message)
    ):
        return None
    text, wamid = message.get("text"), message.get("id")
    if type(text) is not dict or type(wamid) is not str or not wamid:
        return None
    body = text.get("body")
    from_wa_id = message.get("from")
    from_user_id = message.get("from_user_id")
    from_parent_user_id = message.get("from_parent_user_id")
    if not (
        type(body) is str
        and _text_or_none(from_wa_id)
        and _text_or_none(from_user_id)
        and _text_or_none(from_parent_user_id)
    ):
        return None
    contacts = value.get("contacts")
    profile = None
    if contacts is not None:
        if type(contacts) is not list:
            return None
        profiles = [item for item in contacts if isinstance(item, dict)]
        if len(profiles) > 1:
            return None  # which one is the sender's: MessagesChange.profile_for
        if profiles:
            profile = _profile(profiles[0])
    return PlainText(
        phone_number_id=_str(_dict(value.get("metadata")).get("phone_number_id")),
        wamid=wamid,
        timestamp=parse_timestamp(message.get("timestamp")),
        from_wa_id=from_wa_id,
        from_user_id=from_user_id,
        from_parent_user_id=from_parent_user_id,
        profile=profile,
        body=body,
    )


def parse_notification(data: Any) -> Notification:
    """A decoded webhook body → its changes, in order."""
    if not isinstance(data, dict):
        raise MalformedNotification("the body must be a JSON object")
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise MalformedNotification("'entry' must be a list")
    changes: list[Change] = []
    for entry in entries:
        entry = _dict(entry)
        waba_id = _str(entry.get("id"))
        for change in _list(entry.get("changes")):
            change = _dict(change)
            name = _str(change.get("field")) or ""
            if name == "messages":
                changes.append(parse_messages_value(waba_id, change.get("value")))
            elif name == "smb_message_echoes":
                changes.append(parse_echoes_value(waba_id, change.get("value")))
            elif name == "calls":
                changes.append(parse_calls_value(waba_id, change.get("value")))
            elif name == "message_template_status_update":
                changes.append(parse_template_status(waba_id, change.get("value")))
            else:
                changes.append(IgnoredChange(waba_id=waba_id, field=name))
    return Notification(object=_str(data.get("object")), changes=tuple(changes))
