"""The business sends: Meta's answers, validation errors and the status webhooks that follow."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PHONE_ID, RunningSimulator, WebhookReceiver

CUSTOMER = "34612345678"


async def _open_window(running: RunningSimulator, key: str = CUSTOMER, **fields: Any) -> None:
    if fields:
        await running.control("POST", "/customers", json={"wa_id": key} | fields)
    await running.customer_writes(key, {"type": "text", "text": "hello"})


def _assert_meta_error(body: dict[str, Any], code: int) -> None:
    error = body["error"]
    assert error["code"] == code
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert error["error_data"]["details"]


async def test_text_send_answer_and_statuses_sent_delivered_read(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await _open_window(running)
    status, body = await running.send(
        {
            "recipient_type": "individual",
            "to": "+34 612 345 678",
            "type": "text",
            "text": {"body": "Hola María", "preview_url": True},
            "biz_opaque_callback_data": "ttydesk:42",
        }
    )
    assert status == 200
    wamid = body["messages"][0]["id"]
    assert body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+34 612 345 678", "wa_id": CUSTOMER}],
        "messages": [{"id": wamid}],
    }
    await running.sim.wait_idle()
    statuses = receiver.statuses(wamid)
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    for item in statuses:
        assert item["recipient_id"] == CUSTOMER
        assert item["recipient_user_id"].startswith("ES.")
        assert item["biz_opaque_callback_data"] == "ttydesk:42"
        assert item["timestamp"].isdigit()
        assert "conversation" not in item
    assert "pricing" in statuses[0] and "pricing" in statuses[1] and "pricing" not in statuses[2]
    assert statuses[0]["pricing"]["pricing_model"] == "PMP"
    assert statuses[0]["pricing"]["category"] == "service"
    value = next(v for v in receiver.values() if v.get("statuses"))
    assert value["contacts"][0]["wa_id"] == CUSTOMER

    status, sent = await running.control("GET", f"/sent?to={CUSTOMER}")
    (record,) = sent["items"]
    assert record["wamid"] == wamid and record["body"]["text"]["body"] == "Hola María"
    assert record["statuses"] == ["sent", "delivered", "read"]


async def test_no_read_without_read_receipts_and_blocked_stays_sent(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await _open_window(running, "34600000001", read_receipts=False)
    await _open_window(running, "34600000002", blocked=True)
    _, first = await running.send({"to": "34600000001", "text": {"body": "a"}})
    _, second = await running.send({"to": "34600000002", "text": {"body": "b"}})
    await running.sim.wait_idle()
    assert [s["status"] for s in receiver.statuses(first["messages"][0]["id"])] == [
        "sent",
        "delivered",
    ]
    assert [s["status"] for s in receiver.statuses(second["messages"][0]["id"])] == ["sent"]


async def test_not_on_whatsapp_and_per_customer_failure(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await _open_window(running, "34600000003", on_whatsapp=False)
    await _open_window(running, "34600000004", fail_with=131049)
    _, first = await running.send(
        {"to": "34600000003", "text": {"body": "a"}, "biz_opaque_callback_data": "x"}
    )
    _, second = await running.send({"to": "34600000004", "text": {"body": "b"}})
    await running.sim.wait_idle()
    (failed,) = receiver.statuses(first["messages"][0]["id"])
    assert failed["status"] == "failed"
    assert failed["errors"][0]["code"] == 131026
    assert {"title", "message", "error_data", "href"} <= set(failed["errors"][0])
    assert "pricing" not in failed and "biz_opaque_callback_data" not in failed
    failed_value = next(v for v in receiver.values() if failed in v.get("statuses", []))
    assert "contacts" not in failed_value
    (other,) = receiver.statuses(second["messages"][0]["id"])
    assert other["errors"][0]["code"] == 131049


async def test_outside_the_window_a_free_form_send_fails_async_with_131047(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    # Never wrote: no window.
    status, body = await running.send({"to": "34600000005", "text": {"body": "hi"}})
    assert status == 200
    await running.sim.wait_idle()
    (failed,) = receiver.statuses(body["messages"][0]["id"])
    assert failed["status"] == "failed" and failed["errors"][0]["code"] == 131047

    # Wrote, then 24 h passed.
    await _open_window(running, "34600000006")
    status, _ = await running.control("POST", "/clock", json={"advance_seconds": 24 * 3600 + 5})
    assert status == 200
    _, body = await running.send({"to": "34600000006", "text": {"body": "hi"}})
    # A template still goes out.
    _, template = await running.send(
        {
            "to": "34600000006",
            "type": "template",
            "template": {
                "name": "follow_up",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Jo"}]}],
            },
        }
    )
    await running.sim.wait_idle()
    assert receiver.statuses(body["messages"][0]["id"])[0]["errors"][0]["code"] == 131047
    assert template["messages"][0]["message_status"] == "accepted"
    template_statuses = receiver.statuses(template["messages"][0]["id"])
    assert [s["status"] for s in template_statuses] == ["sent", "delivered", "read"]
    assert template_statuses[0]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "marketing",
    }


async def test_send_to_a_bsuid(running: RunningSimulator, receiver: WebhookReceiver) -> None:
    await running.control("POST", "/customers", json={"user_id": "US.1349", "name": "Ann"})
    await running.customer_writes("US.1349", {"type": "text", "text": "hi"})
    status, body = await running.send({"recipient": "US.1349", "text": {"body": "hello"}})
    assert status == 200
    assert body["contacts"] == [{"input": "US.1349", "user_id": "US.1349"}]
    await running.sim.wait_idle()
    statuses = receiver.statuses(body["messages"][0]["id"])
    assert statuses and all("recipient_id" not in s for s in statuses)
    assert all(s["recipient_user_id"] == "US.1349" for s in statuses)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"messaging_product": "sms", "to": CUSTOMER, "text": {"body": "x"}}, 100),
        ({"text": {"body": "x"}}, 131008),
        ({"to": "not-a-number", "text": {"body": "x"}}, 131009),
        ({"recipient": "nope", "text": {"body": "x"}}, 131009),
        ({"to": CUSTOMER, "type": "text"}, 131008),
        ({"to": CUSTOMER, "type": "text", "text": {"body": ""}}, 131008),
        ({"to": CUSTOMER, "type": "text", "text": {"body": "x" * 4097}}, 100),
        ({"to": CUSTOMER, "type": "hologram", "hologram": {}}, 100),
        ({"to": CUSTOMER, "type": "image", "image": {}}, 131008),
        ({"to": CUSTOMER, "type": "image", "image": {"link": "ftp://x"}}, 131009),
        ({"to": CUSTOMER, "type": "audio", "audio": {"id": "1", "caption": "no"}}, 100),
        ({"to": CUSTOMER, "type": "reaction", "reaction": {"emoji": "👍"}}, 131008),
        ({"to": CUSTOMER, "text": {"body": "x"}, "biz_opaque_callback_data": "x" * 513}, 131009),
        ({"to": CUSTOMER, "text": {"body": "x"}, "context": {}}, 131008),
        (
            {
                "to": CUSTOMER,
                "type": "interactive",
                "interactive": {
                    "type": "button",
                    "body": {"text": "Pick"},
                    "action": {
                        "buttons": [{"type": "reply", "reply": {"id": "1", "title": "x" * 21}}]
                    },
                },
            },
            131009,
        ),
        (
            {"to": CUSTOMER, "type": "template", "template": {"name": "nope", "language": {}}},
            131008,
        ),
        (
            {"to": CUSTOMER, "type": "template", "template": {"name": "nope", "language": {"code": "en_US"}}},
            132001,
        ),
        (
            {"to": CUSTOMER, "type": "template", "template": {"name": "hello_world", "language": {"code": "fr_FR"}}},
            132001,
        ),
        (
            {"to": CUSTOMER, "type": "template", "template": {"name": "spring_sale", "language": {"code": "en_US"}}},
            132001,
        ),
        (
            {
                "to": CUSTOMER,
                "type": "template",
                "template": {
                    "name": "follow_up",
                    "language": {"code": "en_US"},
                    "components": [{"type": "body", "parameters": []}],
                },
            },
            132000,
        ),
        (
            {
                "to": CUSTOMER,
                "type": "template",
                "template": {
                    "name": "order_update",
                    "language": {"code": "en_US"},
                    "components": [
                        {"type": "header", "parameters": [{"type": "video", "video": {"link": "https://x/v.mp4"}}]},
                        {"type": "body", "parameters": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                    ],
                },
            },
            132012,
        ),
        (
            {
                "to": CUSTOMER,
                "type": "template",
                "template": {
                    "name": "appointment_reminder",
                    "language": {"code": "en_US"},
                    "components": [
                        {
                            "type": "body",
                            "parameters": [
                                {"type": "text", "parameter_name": "first_name", "text": "Jo"},
                                {"type": "text", "parameter_name": "when", "text": "Monday"},
                            ],
                        }
                    ],
                },
            },
            132000,
        ),
    ],
)  # fmt: skip
async def test_validation_errors(running: RunningSimulator, body: dict, code: int) -> None:
    payload = {"messaging_product": "whatsapp"} | body
    status, answer = await running.graph("POST", f"/{PHONE_ID}/messages", json=payload)
    assert status == 400, answer
    _assert_meta_error(answer, code)


async def test_templates_with_positional_and_named_parameters(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    status, body = await running.send(
        {
            "to": CUSTOMER,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "es_ES"},
                "components": [
                    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x/i.jpg"}}]},
                    {"type": "body", "parameters": [{"type": "text", "text": "María"}, {"type": "text", "text": "A1"}]},
                    {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A1"}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "1", "parameters": [{"type": "payload", "payload": "TALK"}]},
                ],
            },
        }
    )  # fmt: skip
    assert status == 200, body
    status, body = await running.send(
        {
            "to": CUSTOMER,
            "type": "template",
            "template": {
                "name": "appointment_reminder",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "parameter_name": "date", "text": "Monday"},
                            {"type": "text", "parameter_name": "first_name", "text": "Jo"},
                        ],
                    }
                ],
            },
        }
    )
    assert status == 200, body
    assert body["messages"][0]["message_status"] == "accepted"


async def test_paused_and_disabled_templates(running: RunningSimulator) -> None:
    for template_status, code in (("PAUSED", 132015), ("DISABLED", 132016)):
        await running.control(
            "POST", "/templates", json={"name": "hello_world", "status": template_status}
        )
        status, body = await running.send(
            {
                "to": CUSTOMER,
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            }
        )
        assert status == 400 and body["error"]["code"] == code


async def test_media_reaction_interactive_and_reply_sends(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    inbound = await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    form = {"messaging_product": "whatsapp", "type": "image/png"}
    from aiohttp import FormData

    data = FormData(form)
    data.add_field("file", b"\x89PNG\r\n\x1a\nfake", filename="a.png", content_type="image/png")
    status, uploaded = await running.graph("POST", f"/{PHONE_ID}/media", data=data)
    assert status == 200
    bodies = [
        {"to": CUSTOMER, "type": "image", "image": {"id": uploaded["id"], "caption": "look"}},
        {"to": CUSTOMER, "type": "document", "document": {"link": "https://x/a.pdf", "filename": "a.pdf"}},
        {"to": CUSTOMER, "type": "sticker", "sticker": {"id": uploaded["id"]}},
        {"to": CUSTOMER, "type": "reaction", "reaction": {"message_id": inbound["wamid"], "emoji": "👍"}},
        {"to": CUSTOMER, "type": "reaction", "reaction": {"message_id": inbound["wamid"], "emoji": ""}},
        {"to": CUSTOMER, "text": {"body": "quoted"}, "context": {"message_id": inbound["wamid"]}},
        {
            "to": CUSTOMER,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick"},
                "action": {"button": "Options", "sections": [{"title": "S", "rows": [{"id": "1", "title": "One"}]}]},
            },
        },
        {"to": CUSTOMER, "type": "location", "location": {"latitude": 1, "longitude": 2}},
    ]  # fmt: skip
    for body in bodies:
        status, answer = await running.send(body)
        assert status == 200, (body, answer)
    # An unknown media id is accepted, then fails like a failed media fetch.
    _, answer = await running.send({"to": CUSTOMER, "type": "video", "video": {"id": "999"}})
    await running.sim.wait_idle()
    assert receiver.statuses(answer["messages"][0]["id"])[0]["errors"][0]["code"] == 131053


async def test_mark_as_read_with_typing_indicator(running: RunningSimulator) -> None:
    inbound = await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    status, body = await running.send(
        {"status": "read", "message_id": inbound["wamid"], "typing_indicator": {"type": "text"}}
    )
    assert (status, body) == (200, {"success": True})
    _, received = await running.control("GET", "/received")
    assert received["items"][-1]["read_by_business"] is True
    assert received["items"][-1]["typing_indicator_shown"] is True
    status, body = await running.send({"status": "read", "message_id": "wamid.unknown"})
    assert status == 400 and body["error"]["code"] == 100


async def test_played_and_manual_statuses(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await _open_window(running)
    _, answer = await running.send(
        {"to": CUSTOMER, "type": "audio", "audio": {"link": "https://x/v.ogg"}}
    )
    wamid = answer["messages"][0]["id"]
    await running.sim.wait_idle()
    status, played = await running.control(
        "POST", f"/customers/{CUSTOMER}/play", json={"message_id": wamid}
    )
    assert status == 200 and played["status"] == "played"
    status, failed = await running.control(
        "POST", "/statuses", json={"message_id": wamid, "status": "failed", "error_code": 131052}
    )
    assert status == 200
    await running.sim.wait_idle()
    assert [s["status"] for s in receiver.statuses(wamid)] == [
        "sent",
        "delivered",
        "read",
        "played",
        "failed",
    ]
    assert receiver.statuses(wamid)[-1]["errors"][0]["code"] == 131052


async def test_unknown_and_unregistered_numbers(running: RunningSimulator) -> None:
    status, body = await running.send({"to": CUSTOMER, "text": {"body": "x"}}, phone_id="123")
    assert status == 400
    assert body["error"]["code"] == 100 and body["error"]["error_subcode"] == 33
    await running.control("POST", f"/phone_numbers/{PHONE_ID}", json={"registered": False})
    status, body = await running.send({"to": CUSTOMER, "text": {"body": "x"}})
    assert status == 400 and body["error"]["code"] == 133010


async def test_any_api_version_is_accepted(running: RunningSimulator) -> None:
    async with running.client.get(
        "/v19.0/102290129340398", headers={"Authorization": "Bearer test-access-token"}
    ) as response:
        assert response.status == 200
