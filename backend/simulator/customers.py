"""Builders for every inbound message type, from the control API's short request bodies.

`build_inbound` turns e.g. `{"type": "image", "caption": "look"}` into the exact
webhook message object of WHATSAPP.md (storing a real media file so the backend
can download it).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .media_samples import sample_bytes
from .state import Customer, PhoneNumber

if TYPE_CHECKING:
    from .simulator import Simulator


class InboundSpecError(ValueError):
    """The control request cannot be turned into a message (answered 422)."""


@dataclass
class InboundMessage:
    message: dict[str, Any]
    include_contacts: bool = True
    opens_window: bool = True
    # For system messages: the identity the customer has after this message.
    new_identity: tuple[str, str | None] | None = None
    # Most arrive as `messages`; a call as `calls`, an echo of what the business sent
    # from the WhatsApp Business app as `smb_message_echoes` (`value.message_echoes`).
    field: str = "messages"
    items_key: str = "messages"
    from_customer: bool = True


MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")

DEFAULT_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "document": "application/pdf",
    "sticker": "image/webp",
}
VOICE_MIME = "audio/ogg; codecs=opus"

CALL_PERMISSION_DAYS = 7
# What an inbound reply answers: the type of message the business sent with its choices.
REPLY_ANSWERS = {
    "button_reply": ("interactive", "button"),
    "list_reply": ("interactive", "list"),
    "button": ("template", None),
}

UNSUPPORTED_ERRORS = {
    131051: ("Message type unknown", "Message type is currently not supported."),
    131060: (
        "This message is currently unavailable",
        "This message is currently unavailable. It will be delivered when available.",
    ),
}


def build_inbound(
    sim: Simulator, customer: Customer, phone: PhoneNumber, spec: dict[str, Any]
) -> InboundMessage:
    kind = spec.get("type")
    if not isinstance(kind, str):
        raise InboundSpecError("`type` is required")
    wamid = sim.state.ids.wamid(customer.wa_id)
    timestamp = str(int(spec.get("timestamp") or sim.clock.now()))

    if kind == "raw":
        raw = spec.get("message")
        if not isinstance(raw, dict):
            raise InboundSpecError("`message` must be an object for type raw")
        message = _common(customer, wamid, timestamp, str(raw.get("type", "unknown"))) | raw
        return InboundMessage(message, include_contacts=bool(spec.get("include_contacts", True)))

    builder = _BUILDERS.get(kind)
    if builder is None and kind not in MEDIA_TYPES:
        raise InboundSpecError(
            f"unknown type {kind!r}; use one of {sorted([*_BUILDERS, *MEDIA_TYPES, 'raw'])}"
        )
    message = _common(customer, wamid, timestamp, kind)
    if kind in MEDIA_TYPES:
        result = InboundMessage(message)
        message[kind] = _media_payload(sim, phone, kind, spec)
    else:
        assert builder is not None
        result = builder(sim, customer, message, spec)
    # A call goes to the business number; an echo comes from it.
    if result.field == "calls":
        result.message["to"] = phone.display_phone_number
        return result
    if result.field == "smb_message_echoes":
        result.message["from"] = phone.display_phone_number
        return result
    _add_context(sim, customer, phone, message, spec)
    if isinstance(spec.get("referral"), dict):
        message["referral"] = _referral(spec["referral"])
    if spec.get("group_id"):
        message["group_id"] = str(spec["group_id"])
    return result


def _common(customer: Customer, wamid: str, timestamp: str, kind: str) -> dict[str, Any]:
    message: dict[str, Any] = {}
    if customer.wa_id:
        message["from"] = customer.wa_id
    message["from_user_id"] = customer.user_id
    if customer.parent_user_id:
        message["from_parent_user_id"] = customer.parent_user_id
    message.update({"id": wamid, "timestamp": timestamp, "type": kind})
    return message


def _media_payload(
    sim: Simulator, phone: PhoneNumber, kind: str, spec: dict[str, Any]
) -> dict[str, Any]:
    voice = kind == "audio" and bool(spec.get("voice", False))
    mime_type = str(spec.get("mime_type") or (VOICE_MIME if voice else DEFAULT_MIME[kind]))
    filename = spec.get("filename")
    if kind == "document" and not filename:
        filename = "document.pdf" if mime_type == "application/pdf" else "file.bin"
    if spec.get("file") is not None:
        try:
            data = base64.b64decode(str(spec["file"]), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InboundSpecError("`file` must be base64") from exc
    else:
        data = sample_bytes(mime_type, label=str(spec.get("caption") or filename or kind))
    item = sim.state.add_media(data, mime_type, filename=filename, phone_number_id=phone.id)
    payload: dict[str, Any] = {}
    if spec.get("caption") and kind in ("image", "video", "document"):
        payload["caption"] = str(spec["caption"])
    if kind == "document":
        payload["filename"] = filename
    payload.update(
        {
            "mime_type": mime_type,
            "sha256": item.sha256,
            "id": item.id,
            "url": sim.media_url(item),
        }
    )
    if kind == "audio":
        payload["voice"] = voice
    if kind == "sticker":
        payload["animated"] = bool(spec.get("animated", False))
    return payload


def _text(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    text = spec.get("text")
    body = text.get("body") if isinstance(text, dict) else text
    if not isinstance(body, str):
        raise InboundSpecError("`text` is required for type text")
    message["text"] = {"body": body}
    return InboundMessage(message)


def _location(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    location: dict[str, Any] = {
        "latitude": float(spec.get("latitude", 40.4168)),
        "longitude": float(spec.get("longitude", -3.7038)),
    }
    for key in ("name", "address", "url"):
        if spec.get(key):
            location[key] = str(spec[key])
    message["location"] = location
    return InboundMessage(message)


def _contacts(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    contacts = spec.get("contacts")
    if contacts is None:
        name = str(spec.get("name", "Ana Torres"))
        phone = str(spec.get("phone", "+34 600 111 222"))
        first, _, last = name.partition(" ")
        card_name: dict[str, Any] = {"formatted_name": name, "first_name": first}
        if last:
            card_name["last_name"] = last
        card_phone = {"phone": phone, "type": "CELL"}
        if spec.get("wa_id"):
            card_phone["wa_id"] = str(spec["wa_id"])
        contacts = [{"name": card_name, "phones": [card_phone]}]
    if not isinstance(contacts, list):
        raise InboundSpecError("`contacts` must be a list of contact cards")
    message["contacts"] = contacts
    return InboundMessage(message)


def _reaction(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    message_id = spec.get("message_id")
    if not message_id:
        raise InboundSpecError("`message_id` is required for type reaction")
    reaction: dict[str, Any] = {"message_id": str(message_id)}
    if "emoji" in spec and spec["emoji"] is not None:
        reaction["emoji"] = str(spec["emoji"])
    message["reaction"] = reaction
    return InboundMessage(message)


def _button(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    text = str(spec.get("text", "Talk to us"))
    message["button"] = {"payload": str(spec.get("payload", text)), "text": text}
    return InboundMessage(message)


def _interactive(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    if isinstance(spec.get("interactive"), dict):
        message["interactive"] = spec["interactive"]
        return InboundMessage(message)
    reply_type = str(spec.get("reply_type", "button_reply"))
    if reply_type == "button_reply":
        reply: dict[str, Any] = {
            "id": str(spec.get("id", "btn_1")),
            "title": str(spec.get("title", "Yes")),
        }
    elif reply_type == "list_reply":
        reply = {
            "id": str(spec.get("id", "row_1")),
            "title": str(spec.get("title", "Option 1")),
            "description": str(spec.get("description", "")),
        }
    elif reply_type == "nfm_reply":
        response = spec.get("response_json", {"flow_token": "token", "answer": "ok"})
        reply = {
            "name": str(spec.get("name", "flow")),
            "body": str(spec.get("body", "Sent")),
            "response_json": response if isinstance(response, str) else json.dumps(response),
        }
    elif reply_type == "call_permission_reply":
        reply = _call_permission_reply(sim, spec)
    else:
        raise InboundSpecError(f"unknown interactive reply_type {reply_type!r}")
    message["interactive"] = {"type": reply_type, reply_type: reply}
    return InboundMessage(message)


def _call_permission_reply(sim: Simulator, spec: dict[str, Any]) -> dict[str, Any]:
    """The customer's answer to a call permission request; a temporary acceptance
    expires after CALL_PERMISSION_DAYS."""
    response = str(spec.get("response", "accept"))
    is_permanent = bool(spec.get("is_permanent", False))
    reply: dict[str, Any] = {"response": response, "is_permanent": is_permanent}
    if response == "accept" and not is_permanent:
        expires = sim.clock.now() + CALL_PERMISSION_DAYS * 86400
        reply["expiration_timestamp"] = int(spec.get("expiration_timestamp") or expires)
    reply["response_source"] = str(spec.get("response_source", "user_action"))
    return reply


def _order(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    order: dict[str, Any] = {
        "catalog_id": str(spec.get("catalog_id", "1234567890")),
        "product_items": spec.get(
            "product_items",
            [
                {
                    "product_retailer_id": "SKU-1",
                    "quantity": 2,
                    "item_price": 9.99,
                    "currency": "USD",
                }
            ],
        ),
    }
    if spec.get("text"):
        order["text"] = str(spec["text"])
    message["order"] = order
    return InboundMessage(message)


def _system(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    system_type = str(spec.get("system_type", "user_changed_number"))
    new_user_id = str(spec.get("new_user_id") or sim.state.ids.bsuid(customer.country))
    if system_type == "user_changed_number":
        new_wa_id = str(spec.get("new_wa_id") or _changed_number(customer.wa_id))
        body = f"User {customer.name} changed from {customer.wa_id or 'a username'} to {new_wa_id}"
        system: dict[str, Any] = {"body": body, "wa_id": new_wa_id, "user_id": new_user_id}
    elif system_type == "user_changed_user_id":
        new_wa_id = customer.wa_id
        system = {"body": f"User {customer.name} changed their user id", "user_id": new_user_id}
    elif system_type == "customer_identity_changed":
        # The legacy security-code change: no identifier changes.
        message["system"] = {
            "body": f"User {customer.name}'s security code changed",
            "type": system_type,
            "customer": customer.wa_id or customer.user_id,
        }
        message["identity"] = {
            "acknowledged": bool(spec.get("acknowledged", True)),
            "created_timestamp": int(message["timestamp"]),
            "hash": str(spec.get("hash") or sim.state.ids.identity_hash()),
        }
        return InboundMessage(message, include_contacts=False, opens_window=False)
    else:
        raise InboundSpecError(f"unknown system_type {system_type!r}")
    system["type"] = system_type
    if customer.parent_user_id:
        system["parent_user_id"] = customer.parent_user_id
    message["system"] = system
    return InboundMessage(
        message,
        include_contacts=False,
        opens_window=False,
        new_identity=(new_user_id, new_wa_id),
    )


def _changed_number(wa_id: str | None) -> str:
    if not wa_id:
        return "15550009999"
    last = (int(wa_id[-1]) + 1) % 10
    return wa_id[:-1] + str(last)


def _call(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    """A call from the customer (Calling API, `calls` field): `connect` when it rings,
    `terminate` when it ends. A user-initiated call re-opens the service window."""
    event = str(spec.get("event", "connect"))
    if event not in ("connect", "terminate"):
        raise InboundSpecError("`event` must be connect or terminate")
    direction = str(spec.get("direction", "USER_INITIATED"))
    call: dict[str, Any] = {"id": str(spec.get("call_id") or sim.state.ids.call_id())}
    for key in ("from", "from_user_id", "from_parent_user_id"):
        if key in message:
            call[key] = message[key]
    call.update({"event": event, "timestamp": message["timestamp"], "direction": direction})
    if event == "terminate":
        duration = int(spec.get("duration", 0))
        status = str(spec.get("status", "COMPLETED" if duration else "FAILED"))
        call["status"] = status
        if duration:
            end = int(message["timestamp"])
            call.update(
                {"start_time": str(end - duration), "end_time": str(end), "duration": duration}
            )
    return InboundMessage(
        call,
        opens_window=direction == "USER_INITIATED",
        field="calls",
        items_key="calls",
    )


def _echo(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    """A text the business sent from the WhatsApp Business app on the same number
    (coexistence): `smb_message_echoes`, from the business to the customer."""
    text = spec.get("text")
    body = text.get("body") if isinstance(text, dict) else text
    if not isinstance(body, str):
        raise InboundSpecError("`text` is required for type echo")
    echo: dict[str, Any] = {}
    if customer.wa_id:
        echo["to"] = customer.wa_id
    echo["to_user_id"] = customer.user_id
    echo.update({"id": message["id"], "timestamp": message["timestamp"], "type": "text"})
    echo["text"] = {"body": body}
    return InboundMessage(
        echo,
        opens_window=False,
        field="smb_message_echoes",
        items_key="message_echoes",
        from_customer=False,
    )


def _request_welcome(
    sim: Simulator, customer: Customer, message: dict, spec: dict
) -> InboundMessage:
    return InboundMessage(message)


def _unsupported(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    code = int(spec.get("error_code", 131051))
    title, details = UNSUPPORTED_ERRORS.get(code, UNSUPPORTED_ERRORS[131051])
    message["unsupported"] = {"type": str(spec.get("unsupported_type", "unknown"))}
    message["errors"] = [
        {"code": code, "title": title, "message": title, "error_data": {"details": details}}
    ]
    return InboundMessage(message)


def _revoke(sim: Simulator, customer: Customer, message: dict, spec: dict) -> InboundMessage:
    original = spec.get("original_message_id") or spec.get("message_id")
    if not original:
        raise InboundSpecError("`original_message_id` is required for type revoke")
    message["revoke"] = {"original_message_id": str(original)}
    return InboundMessage(message)


_BUILDERS = {
    "text": _text,
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "button": _button,
    "interactive": _interactive,
    "order": _order,
    "system": _system,
    "request_welcome": _request_welcome,
    "unsupported": _unsupported,
    "revoke": _revoke,
    "call": _call,
    "echo": _echo,
}


def _add_context(
    sim: Simulator,
    customer: Customer,
    phone: PhoneNumber,
    message: dict[str, Any],
    spec: dict[str, Any],
) -> None:
    context = spec.get("context")
    if not isinstance(context, dict):
        context = {}
    if not (context.get("reply_to") or context.get("id")):
        answered = _answered_message(sim, customer, phone, message)
        if answered is not None:
            context = context | {"reply_to": answered}
    built: dict[str, Any] = {}
    reply_to = context.get("reply_to") or context.get("id")
    if reply_to:
        reply_to = str(reply_to)
        if context.get("from"):
            quoted_from = str(context["from"])
        elif reply_to in sim.state.sent:
            quoted_from = phone.display_phone_number
        else:
            quoted_from = customer.wa_id or customer.user_id
        built["from"] = quoted_from
        built["id"] = reply_to
    if context.get("forwarded"):
        built["forwarded"] = True
    if context.get("frequently_forwarded"):
        built["frequently_forwarded"] = True
    if isinstance(context.get("referred_product"), dict):
        built["referred_product"] = context["referred_product"]
    if built:
        message["context"] = built


def _answered_message(
    sim: Simulator, customer: Customer, phone: PhoneNumber, message: dict[str, Any]
) -> str | None:
    """The wamid of the business message a button or list reply answers: the newest one
    sent to this customer that offered the chosen id (else the newest of its kind)."""
    kind = message["type"]
    if kind == "interactive":
        kind = str(message["interactive"].get("type"))
        chosen = (message["interactive"].get(kind) or {}).get("id")
    else:
        chosen = (message.get("button") or {}).get("payload")
    if kind not in REPLY_ANSWERS:
        return None
    sent_type, interactive_type = REPLY_ANSWERS[kind]
    newest_of_kind = None
    for sent in reversed(sim.state.sent.values()):
        if (
            sent.customer_user_id != customer.user_id
            or sent.phone_number_id != phone.id
            or sent.type != sent_type
        ):
            continue
        payload = sent.body.get(sent_type) or {}
        if interactive_type is not None and payload.get("type") != interactive_type:
            continue
        if chosen in _choice_ids(payload):
            return sent.wamid
        newest_of_kind = newest_of_kind or sent.wamid
    return newest_of_kind


def _choice_ids(payload: dict[str, Any]) -> set[str]:
    """The ids a customer can answer with: reply buttons, list rows, quick-reply payloads."""
    ids: set[str] = set()
    action = payload.get("action") or {}
    for button in action.get("buttons") or []:
        ids.add(str(((button or {}).get("reply") or {}).get("id")))
    for section in action.get("sections") or []:
        ids.update(str((row or {}).get("id")) for row in (section or {}).get("rows") or [])
    for component in payload.get("components") or []:
        for parameter in (component or {}).get("parameters") or []:
            if isinstance(parameter, dict) and parameter.get("payload") is not None:
                ids.add(str(parameter["payload"]))
    return ids


def _referral(spec: dict[str, Any]) -> dict[str, Any]:
    referral = {
        "source_url": "https://fb.me/3cr4Wqqkv",
        "source_id": "120226305854810726",
        "source_type": "ad",
        "headline": "Spring offers",
        "body": "Chat with us on WhatsApp",
        "media_type": "image",
        "image_url": "https://scontent.xx.fbcdn.net/v/ad-image.jpg",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO",
    }
    return referral | spec
