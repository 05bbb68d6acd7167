"""Customers write: each inbound type arrives at the backend in Meta's exact shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from .conftest import APP_SECRET, PHONE_ID, WABA_ID, RunningSimulator, WebhookReceiver

MARIA = {
    "wa_id": "34612345678",
    "user_id": "ES.1502576394655843",
    "parent_user_id": "ES.ENT.118157992128868",
    "name": "María López",
    "username": "@maria",
    "country": "ES",
}


async def test_text_message_envelope_and_signature_over_raw_bytes(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.control("POST", "/customers", json=MARIA)
    result = await running.customer_writes("34612345678", {"type": "text", "text": "¿Hola? 👋 ñ"})
    await running.sim.wait_idle()

    assert len(receiver.raw_bodies) == 1
    raw = receiver.raw_bodies[0]
    assert raw.isascii() and b"\\u00bfHola? \\ud83d\\udc4b \\u00f1" in raw
    assert receiver.bad_signatures == 0
    delivery = running.sim.webhooks.deliveries[-1]
    expected = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert delivery.signature == expected and delivery.state == "delivered"

    payload = receiver.payloads[0]
    assert payload["object"] == "whatsapp_business_account"
    (entry,) = payload["entry"]
    assert entry["id"] == WABA_ID
    (change,) = entry["changes"]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"] == {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID}
    assert value["contacts"] == [
        {
            "profile": {"name": "María López", "username": "@maria"},
            "wa_id": "34612345678",
            "user_id": "ES.1502576394655843",
            "parent_user_id": "ES.ENT.118157992128868",
        }
    ]
    (message,) = value["messages"]
    assert message["id"] == result["wamid"] and message["id"].startswith("wamid.")
    assert message["from"] == "34612345678"
    assert message["from_user_id"] == "ES.1502576394655843"
    assert message["from_parent_user_id"] == "ES.ENT.118157992128868"
    assert message["timestamp"].isdigit()
    assert message["type"] == "text" and message["text"] == {"body": "¿Hola? 👋 ñ"}


async def test_username_only_customer_has_no_from(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.control("POST", "/customers", json={"user_id": "US.777", "name": "Ann"})
    await running.customer_writes("US.777", {"type": "text", "text": "hi"})
    await running.sim.wait_idle()
    (message,) = receiver.messages()
    assert "from" not in message and message["from_user_id"] == "US.777"
    (contact,) = receiver.values()[0]["contacts"]
    assert contact == {"profile": {"name": "Ann"}, "user_id": "US.777"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"type": "location", "latitude": 1.5, "longitude": 2.5, "name": "Shop", "address": "A"},
            {"location": {"latitude": 1.5, "longitude": 2.5, "name": "Shop", "address": "A"}},
        ),
        (
            {"type": "contacts", "name": "Ana Torres", "phone": "+34 600 111 222"},
            {
                "contacts": [
                    {
                        "name": {
                            "formatted_name": "Ana Torres",
                            "first_name": "Ana",
                            "last_name": "Torres",
                        },
                        "phones": [{"phone": "+34 600 111 222", "type": "CELL"}],
                    }
                ]
            },
        ),
        (
            {"type": "reaction", "message_id": "wamid.X", "emoji": "👍"},
            {"reaction": {"message_id": "wamid.X", "emoji": "👍"}},
        ),
        ({"type": "reaction", "message_id": "wamid.X"}, {"reaction": {"message_id": "wamid.X"}}),
        (
            {"type": "reaction", "message_id": "wamid.X", "emoji": ""},
            {"reaction": {"message_id": "wamid.X", "emoji": ""}},
        ),
        (
            {"type": "button", "text": "Talk to us", "payload": "TALK"},
            {"button": {"payload": "TALK", "text": "Talk to us"}},
        ),
        (
            {"type": "interactive", "reply_type": "button_reply", "id": "yes", "title": "Yes"},
            {
                "interactive": {
                    "type": "button_reply",
                    "button_reply": {"id": "yes", "title": "Yes"},
                }
            },
        ),
        (
            {
                "type": "interactive",
                "reply_type": "list_reply",
                "id": "r1",
                "title": "Row",
                "description": "D",
            },
            {
                "interactive": {
                    "type": "list_reply",
                    "list_reply": {"id": "r1", "title": "Row", "description": "D"},
                }
            },
        ),
        (
            {
                "type": "interactive",
                "reply_type": "nfm_reply",
                "name": "flow",
                "body": "Sent",
                "response_json": {"a": 1},
            },
            {
                "interactive": {
                    "type": "nfm_reply",
                    "nfm_reply": {"name": "flow", "body": "Sent", "response_json": '{"a": 1}'},
                }
            },
        ),
        (
            {"type": "order", "catalog_id": "C1", "text": "please", "product_items": []},
            {"order": {"catalog_id": "C1", "product_items": [], "text": "please"}},
        ),
        (
            {"type": "unsupported", "unsupported_type": "poll_creation"},
            {
                "unsupported": {"type": "poll_creation"},
                "errors": [
                    {
                        "code": 131051,
                        "title": "Message type unknown",
                        "message": "Message type unknown",
                        "error_data": {"details": "Message type is currently not supported."},
                    }
                ],
            },
        ),
        ({"type": "request_welcome"}, {}),
        (
            {"type": "revoke", "original_message_id": "wamid.O"},
            {"revoke": {"original_message_id": "wamid.O"}},
        ),
    ],
)
async def test_each_inbound_type_has_its_payload(
    running: RunningSimulator, receiver: WebhookReceiver, body: dict, expected: dict
) -> None:
    await running.control("POST", "/customers", json=MARIA)
    result = await running.customer_writes("ES.1502576394655843", body)
    await running.sim.wait_idle()
    (message,) = receiver.messages()
    common = {"from", "from_user_id", "from_parent_user_id", "id", "timestamp", "type"}
    assert message["type"] == body["type"]
    assert {k: v for k, v in message.items() if k not in common} == expected
    assert result["message"] == message
    assert "contacts" in receiver.value_with_message(message["id"])


@pytest.mark.parametrize(
    ("body", "mime_type", "extra"),
    [
        ({"type": "image", "caption": "the box"}, "image/jpeg", {"caption": "the box"}),
        ({"type": "video"}, "video/mp4", {}),
        ({"type": "audio", "voice": True}, "audio/ogg; codecs=opus", {"voice": True}),
        ({"type": "audio"}, "audio/mpeg", {"voice": False}),
        (
            {"type": "document", "filename": "bill.pdf", "caption": "bill"},
            "application/pdf",
            {"filename": "bill.pdf", "caption": "bill"},
        ),
        ({"type": "sticker", "animated": True}, "image/webp", {"animated": True}),
        (
            {
                "type": "document",
                "file": base64.b64encode(b"PK\x03\x04zip!").decode(),
                "mime_type": "application/zip",
                "filename": "a.zip",
            },
            "application/zip",
            {"filename": "a.zip"},
        ),
    ],
)
async def test_media_messages_carry_a_downloadable_file(
    running: RunningSimulator,
    receiver: WebhookReceiver,
    body: dict,
    mime_type: str,
    extra: dict,
) -> None:
    await running.customer_writes("34600000001", body)
    await running.sim.wait_idle()
    (message,) = receiver.messages()
    media = message[body["type"]]
    assert media["mime_type"] == mime_type
    assert set(media) == {"id", "url", "mime_type", "sha256"} | set(extra)
    assert {k: media[k] for k in extra} == extra

    status, info = await running.graph("GET", f"/{media['id']}")
    assert status == 200
    assert info["sha256"] == media["sha256"] and info["mime_type"] == mime_type
    status, data = await running.download(info["url"])
    assert status == 200
    assert hashlib.sha256(data).hexdigest() == media["sha256"] == info["sha256"]
    assert len(data) == info["file_size"]
    if body.get("file"):
        assert data == b"PK\x03\x04zip!"
    assert (await running.download(media["url"]))[0] == 200


async def test_context_referral_and_group(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.customer_writes("34600000002", {"type": "text", "text": "first"})
    status, sent = await running.send({"to": "34600000002", "text": {"body": "hello"}})
    assert status == 200
    wamid = sent["messages"][0]["id"]
    await running.customer_writes(
        "34600000002",
        {
            "type": "text",
            "text": "answer",
            "context": {"reply_to": wamid, "forwarded": True},
            "referral": {"headline": "Sale"},
            "group_id": "G1",
        },
    )
    await running.sim.wait_idle()
    message = receiver.messages()[-1]
    assert message["context"] == {"from": "15550001111", "id": wamid, "forwarded": True}
    assert message["referral"]["headline"] == "Sale"
    assert message["referral"]["source_type"] == "ad" and "ctwa_clid" in message["referral"]
    assert message["group_id"] == "G1"


async def test_system_messages_have_no_contacts_and_change_identity(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.control("POST", "/customers", json=MARIA)
    await running.customer_writes(
        "34612345678",
        {"type": "system", "system_type": "user_changed_number", "new_wa_id": "34699999999"},
    )
    await running.sim.wait_idle()
    value = receiver.values()[0]
    assert "contacts" not in value
    (message,) = value["messages"]
    system = message["system"]
    assert message["from"] == "34612345678"
    assert system["type"] == "user_changed_number" and system["wa_id"] == "34699999999"
    assert system["user_id"].startswith("ES.") and system["body"]
    status, customer = await running.control("GET", "/customers/34699999999")
    assert status == 200 and customer["user_id"] == system["user_id"]

    await running.customer_writes(
        "34699999999",
        {"type": "system", "system_type": "user_changed_user_id", "new_user_id": "ES.42"},
    )
    await running.sim.wait_idle()
    system = receiver.messages()[-1]["system"]
    assert system["type"] == "user_changed_user_id" and system["user_id"] == "ES.42"
    assert "wa_id" not in system


async def test_raw_message_for_future_types(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    raw = {"type": "hologram", "hologram": {"shape": "cube"}}
    await running.customer_writes("34600000003", {"type": "raw", "message": raw})
    await running.sim.wait_idle()
    (message,) = receiver.messages()
    assert message["type"] == "hologram" and message["hologram"] == {"shape": "cube"}
    assert message["from"] == "34600000003" and message["id"].startswith("wamid.")


async def test_bad_control_bodies_are_422(running: RunningSimulator) -> None:
    status, body = await running.control(
        "POST", "/customers/34600000004/messages", json={"type": "telepathy"}
    )
    assert status == 422 and body["error"]["code"] == "invalid_message"
    status, body = await running.control(
        "POST", "/customers/34600000004/messages", json={"type": "reaction"}
    )
    assert status == 422
    status, body = await running.control("POST", "/customers", json={"read_receipts": "maybe"})
    assert status == 422 and body["error"]["code"] == "invalid_body"


async def test_inbound_opens_window_and_is_recorded(running: RunningSimulator) -> None:
    result = await running.customer_writes("34600000005", {"type": "text", "text": "hi"})
    status, customer = await running.control("GET", "/customers/34600000005")
    assert customer["last_inbound_at"] == float(result["message"]["timestamp"])
    status, received = await running.control("GET", "/received")
    assert received["items"][-1]["wamid"] == result["wamid"]
    assert json.dumps(received)  # serialisable
