"""Realistic WhatsApp Cloud API webhook payloads (shapes from WHATSAPP.md).

Builders return plain dicts; ``envelope`` wraps values in Meta's notification envelope.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

WABA_ID = "102290129340398"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_NUMBER = "15550001111"
OTHER_PHONE_NUMBER_ID = "999999999999999"

CUSTOMER_WA_ID = "34612345678"
CUSTOMER_USER_ID = "ES.1502576394655843"
CUSTOMER_PARENT_ID = "ES.ENT.118157992128868"
CUSTOMER_NAME = "Maria Lopez"

_counter = itertools.count(1)


def wamid(tag: str = "") -> str:
    return f"wamid.HBgLMzQ2MTIzNDU2NzgVAgASGBQz{tag or ''}{next(_counter):08d}"


def ts(at: datetime) -> str:
    return str(int(at.timestamp()))


def contact(
    *,
    wa_id: str | None = CUSTOMER_WA_ID,
    user_id: str | None = CUSTOMER_USER_ID,
    name: str | None = CUSTOMER_NAME,
    username: str | None = None,
    parent_user_id: str | None = None,
) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    if name is not None:
        profile["name"] = name
    if username is not None:
        profile["username"] = username
    data: dict[str, Any] = {"profile": profile}
    if user_id is not None:  # absent before 2026 (BSUIDs came in April)
        data["user_id"] = user_id
    if wa_id is not None:
        data["wa_id"] = wa_id
    if parent_user_id is not None:
        data["parent_user_id"] = parent_user_id
    return data


def message(
    type_: str,
    payload: Any = None,
    *,
    at: datetime,
    id_: str | None = None,
    from_: str | None = CUSTOMER_WA_ID,
    user_id: str | None = CUSTOMER_USER_ID,
    context: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {} if user_id is None else {"from_user_id": user_id}
    data.update(id=id_ or wamid(), timestamp=ts(at), type=type_)
    if from_ is not None:
        data["from"] = from_
    if payload is not None:
        data[type_] = payload
    if context is not None:
        data["context"] = context
    data.update(extra)
    return data


def text(body: str, *, at: datetime, **kw: Any) -> dict[str, Any]:
    return message("text", {"body": body}, at=at, **kw)


def image(*, at: datetime, caption: str | None = None, mime: str = "image/jpeg", media_id: str = "1479537139650973", sha256: str = "mHpL3hG0W+1Yc1JYp0O4Kxk6T9PZ+Z6F3l5Z9j5R4dE=", **kw: Any) -> dict[str, Any]:  # fmt: skip
    payload = {
        "id": media_id,
        "mime_type": mime,
        "sha256": sha256,
        "url": f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}",
    }
    if caption is not None:
        payload["caption"] = caption
    return message("image", payload, at=at, **kw)


def media(type_: str, *, at: datetime, mime: str, media_id: str = "2754859441498128", sha256: str = "0" * 64, **fields: Any) -> dict[str, Any]:  # fmt: skip
    payload = {
        "id": media_id,
        "mime_type": mime,
        "sha256": sha256,
        "url": f"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}",
    }
    extra_message = {k[4:]: v for k, v in fields.items() if k.startswith("msg_")}
    payload.update({k: v for k, v in fields.items() if not k.startswith("msg_")})
    return message(type_, payload, at=at, **extra_message)


def status(
    id_: str,
    status_: str,
    *,
    at: datetime,
    opaque: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    recipient_id: str | None = CUSTOMER_WA_ID,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id_,
        "status": status_,
        "timestamp": ts(at),
        "recipient_user_id": CUSTOMER_USER_ID,
    }
    if recipient_id is not None:
        data["recipient_id"] = recipient_id
    if opaque is not None:
        data["biz_opaque_callback_data"] = opaque
    if status_.lower() in ("sent", "delivered"):
        data["pricing"] = {
            "billable": True,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    if errors is not None:
        data["errors"] = errors
    return data


def error(code: int, title: str = "Error", details: str = "") -> dict[str, Any]:
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or title},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }


def value(
    *,
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[dict[str, Any]] | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id},
    }
    if contacts is None and messages:
        contacts = [contact()]
    if contacts:
        data["contacts"] = contacts
    if messages:
        data["messages"] = messages
    if statuses:
        data["statuses"] = statuses
    if errors:
        data["errors"] = errors
    return data


def envelope(*changes: tuple[str, dict[str, Any]], waba_id: str = WABA_ID) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"field": name, "value": v} for name, v in changes]}],
    }


def messages_envelope(*messages: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return envelope(("messages", value(messages=list(messages), **kw)))


def statuses_envelope(*statuses: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return envelope(("messages", value(statuses=list(statuses), **kw)))


# ------------------------------------------------------------------ one of every inbound type


def every_type(at: datetime) -> dict[str, dict[str, Any]]:
    """A message of each inbound type of WHATSAPP.md, keyed by a short name."""
    return {
        "text": text("Hola, my order has not arrived", at=at),
        "image": image(at=at, caption="the broken box"),
        "video": media("video", at=at, mime="video/mp4", caption="unboxing"),
        "gif_as_mp4": media("video", at=at, mime="video/mp4"),
        "audio": media("audio", at=at, mime="audio/mpeg", voice=False),
        "voice": media("audio", at=at, mime="audio/ogg; codecs=opus", voice=True),
        "document": media(
            "document", at=at, mime="application/pdf", filename="invoice-123.pdf", caption="invoice"
        ),
        "sticker": media("sticker", at=at, mime="image/webp", animated=True),
        "location": message(
            "location",
            {
                "latitude": 40.4168,
                "longitude": -3.7038,
                "name": "Puerta del Sol",
                "address": "Plaza de la Puerta del Sol, Madrid",
                "url": "https://maps.example/sol",
            },
            at=at,
        ),
        "contacts": message(
            "contacts",
            [
                {
                    "name": {"formatted_name": "Juan Perez", "first_name": "Juan"},
                    "phones": [
                        {"phone": "+34 600 111 222", "wa_id": "34600111222", "type": "CELL"}
                    ],
                    "emails": [{"email": "juan@example.com", "type": "WORK"}],
                    "org": {"company": "Acme"},
                }
            ],
            at=at,
        ),
        "button": message("button", {"text": "Track my order", "payload": "TRACK"}, at=at),
        "button_reply": message(
            "interactive",
            {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes please"}},
            at=at,
        ),
        "list_reply": message(
            "interactive",
            {
                "type": "list_reply",
                "list_reply": {"id": "ship", "title": "Shipping", "description": "Where is it"},
            },
            at=at,
        ),
        "nfm_reply": message(
            "interactive",
            {
                "type": "nfm_reply",
                "nfm_reply": {
                    "name": "flow",
                    "body": "Sent",
                    "response_json": '{"flow_token": "abc", "rating": "5"}',
                },
            },
            at=at,
        ),
        "call_permission_reply": message(
            "interactive",
            {
                "type": "call_permission_reply",
                "call_permission_reply": {
                    "response": "accept",
                    "expiration_timestamp": ts(at),
                    "response_source": "user_action",
                },
            },
            at=at,
        ),
        "order": message(
            "order",
            {
                "catalog_id": "cat-1",
                "text": "for my sister",
                "product_items": [
                    {
                        "product_retailer_id": "sku-1",
                        "quantity": "2",
                        "item_price": "9.99",
                        "currency": "EUR",
                    }
                ],
            },
            at=at,
        ),
        "unsupported_poll": message(
            "unsupported",
            {"type": "poll_creation"},
            at=at,
            errors=[
                error(131051, "Message type unknown", "Message type is currently not supported.")
            ],
        ),
        "unavailable": message(
            "unsupported",
            None,
            at=at,
            errors=[error(131060, "This message is currently unavailable")],
        ),
        "future_type": message("hologram", {"shape": "cube"}, at=at),
        "legacy_unknown": message(
            "unknown",
            None,
            at=at,
            errors=[error(131051, "Message type unknown")],
        ),
        # an edit of a message never stored: the customer's words as they are now
        "edit": message(
            "edit",
            {
                "original_message_id": "wamid.gone",
                "message": {"type": "text", "text": {"body": "my order has not arrived"}},
            },
            at=at,
        ),
        "unreadable_edit": message("edit", {"original_message_id": "wamid.gone"}, at=at),
        "zip_document": media("document", at=at, mime="application/zip", filename="photos.zip"),
    }


EXPECTED_KINDS = {
    "text": "text",
    "image": "image",
    "video": "video",
    "gif_as_mp4": "video",
    "audio": "audio",
    "voice": "voice",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "contacts": "contacts",
    "button": "button_reply",
    "button_reply": "interactive_reply",
    "list_reply": "interactive_reply",
    "nfm_reply": "interactive_reply",
    "call_permission_reply": "interactive_reply",
    "order": "order",
    "unsupported_poll": "unsupported",
    "unavailable": "unsupported",
    "future_type": "unsupported",
    "legacy_unknown": "unsupported",
    "edit": "text",
    "unreadable_edit": "unsupported",
    "zip_document": "unsupported",
}
