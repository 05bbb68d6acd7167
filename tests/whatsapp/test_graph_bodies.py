"""What Meta receives for every kind of send, byte for byte: the Graph API body the
simulator got, compared with the body written out here (keys in order, values exact).

The store keeps what the agent asked; the WhatsApp channel builds these bodies at send
time. A change to any of them is a change to what customers receive.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any

from backend.simulator.config import TemplateConfig
from backend.simulator.media_samples import sample_bytes
from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER

wa = fx.wa  # the fixture

GROUP_ID = "120363025555555555"
USER_ID = "US.13491208655302741918"  # a customer known by their user id alone (BSUID)


def assert_same_body(received: dict[str, Any], expected: dict[str, Any]) -> None:
    """The same JSON: equal values, and the keys in the same order (the same bytes)."""
    assert received == expected
    assert json.dumps(received) == json.dumps(expected)


async def sent_bodies(env, count: int, to: str | None = CUSTOMER) -> list[dict[str, Any]]:
    items = await env.until(
        lambda: _at_least(env, count, to), timeout=15.0
    )  # the outbox sends in order, one per thread at a time
    return [item["body"] for item in items]


async def _at_least(env, count: int, to: str | None) -> list[dict[str, Any]] | None:
    items = await env.sent(to)
    return items if len(items) >= count else None


def individual(message_id: int, to: str = CUSTOMER) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "biz_opaque_callback_data": f"ttydesk:{message_id}",
    }


async def upload(env, content: bytes, filename: str) -> dict[str, Any]:
    response = await env.agent.post("/api/v1/media", files={"file": (filename, content)})
    assert response.status_code == 201, response.text
    return response.json()


async def send(env, thread_id: int, body: dict[str, Any]) -> int:
    response = await env.send(thread_id, body)
    assert response.status_code == 202, response.text
    return response.json()["id"]


async def test_text_reply_media_and_reaction_bodies(wa):
    thread = await wa.customer_writes("My parcel is late")
    inbound = (await wa.agent.get(f"/api/v1/threads/{thread['id']}/messages")).json()["items"][0]
    image = await upload(wa, sample_bytes("image/jpeg"), "photo.jpg")
    pdf = await upload(wa, sample_bytes("application/pdf"), "invoice.pdf")
    audio = await upload(wa, sample_bytes("audio/ogg"), "voice.ogg")
    ids = [
        await send(wa, thread["id"], {"kind": "text", "text": "Let me check *now* ✓"}),
        await send(
            wa,
            thread["id"],
            {
                "kind": "text",
                "text": "About this: https://acme.example.com/t/1",
                "reply_to": inbound["id"],
                "preview_url": False,
            },
        ),
        await send(
            wa,
            thread["id"],
            {
                "kind": "media",
                "media_id": image["id"],
                "caption": "Here",
                "reply_to": inbound["id"],
            },
        ),
        await send(wa, thread["id"], {"kind": "media", "media_id": pdf["id"]}),
        await send(wa, thread["id"], {"kind": "media", "media_id": audio["id"]}),
        await send(
            wa, thread["id"], {"kind": "reaction", "message_id": inbound["id"], "emoji": "👍"}
        ),
        await send(
            wa, thread["id"], {"kind": "reaction", "message_id": inbound["id"], "emoji": ""}
        ),
    ]
    bodies = await sent_bodies(wa, len(ids))
    image_id, pdf_id, audio_id = (
        bodies[2]["image"]["id"],
        bodies[3]["document"]["id"],
        bodies[4]["audio"]["id"],
    )
    assert {image_id, pdf_id, audio_id} <= set(wa.sim.state.media)  # uploaded to Meta first
    quoted = {"message_id": inbound["wamid"]}
    expected = [
        individual(ids[0])
        | {"type": "text", "text": {"body": "Let me check *now* ✓", "preview_url": True}},
        individual(ids[1])
        | {
            "type": "text",
            "text": {"body": "About this: https://acme.example.com/t/1", "preview_url": False},
            "context": quoted,
        },
        individual(ids[2])
        | {"type": "image", "image": {"id": image_id, "caption": "Here"}, "context": quoted},
        individual(ids[3])
        | {"type": "document", "document": {"id": pdf_id, "filename": "invoice.pdf"}},
        individual(ids[4]) | {"type": "audio", "audio": {"id": audio_id}},
        individual(ids[5])
        | {"type": "reaction", "reaction": {"message_id": inbound["wamid"], "emoji": "👍"}},
        individual(ids[6])
        | {"type": "reaction", "reaction": {"message_id": inbound["wamid"], "emoji": ""}},
    ]
    assert len(bodies) == len(expected)
    for received, wanted in zip(bodies, expected, strict=True):
        assert_same_body(received, wanted)


ORDER_NEWS = TemplateConfig(
    name="order_news",
    components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, it ships {{2}}."},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Thanks"},
                {"type": "URL", "text": "Track", "url": "https://e.com/t/{{1}}"},
                {"type": "URL", "text": "Shop", "url": "https://e.com/shop"},
            ],
        },
        {"type": "FOOTER", "text": "Acme"},
    ],
)
NAMED_NEWS = TemplateConfig(
    name="named_news",
    parameter_format="NAMED",
    components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
        {"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}} ships."},
    ],
)
DOCUMENT_HEADER = TemplateConfig(
    name="invoice_ready",
    components=[
        {"type": "HEADER", "format": "DOCUMENT"},
        {"type": "BODY", "text": "Your invoice {{1}} is ready."},
    ],
)


async def add_templates(env, *templates: TemplateConfig) -> None:
    state = env.sim.state
    state.wabas[fx.WABA_ID].templates.extend(state.template_from_config(t) for t in templates)
    synced = await env.agent.post("/api/v1/templates/sync")
    assert synced.status_code == 200, synced.text


def template(message_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    return individual(message_id) | {"type": "template", "template": spec}


def text(value: str, name: str | None = None) -> dict[str, Any]:
    return {"type": "text", "text": value} | ({"parameter_name": name} if name else {})


async def test_template_bodies(wa):
    await add_templates(wa, ORDER_NEWS, NAMED_NEWS, DOCUMENT_HEADER)
    thread = await wa.customer_writes()
    ids = [
        await send(
            wa, thread["id"], {"kind": "template", "name": "hello_world", "language": "en_US"}
        ),
        await send(
            wa,
            thread["id"],
            {
                "kind": "template",
                "name": "order_update",
                "language": "en_US",
                "variables": {
                    "header": "https://example.com/box.jpg",
                    "1": "María",
                    "2": "A123",
                    "button.0": "A123",
                },
            },
        ),
        await send(
            wa,
            thread["id"],
            {
                "kind": "template",
                "name": "order_news",
                "language": "en_US",
                "components": {
                    "header": {"1": "A-7"},
                    "body": {"1": "Jorge", "2": "today"},
                    "buttons": {"1": "A-7"},
                },
            },
        ),
        await send(
            wa,
            thread["id"],
            {
                "kind": "template",
                "name": "named_news",
                "language": "en_US",
                "components": {
                    "header": {"order_id": "H-1"},
                    "body": {"first_name": "Maria", "order_id": "B-2"},
                },
            },
        ),
        await send(
            wa,
            thread["id"],
            {
                "kind": "template",
                "name": "appointment_reminder",
                "language": "en_US",
                "variables": {"first_name": "Maria", "date": "1 December"},
            },
        ),
        await send(
            wa,
            thread["id"],
            {
                "kind": "template",
                "name": "invoice_ready",
                "language": "en_US",
                "components": {
                    "header": {"link": "https://example.com/invoice.pdf"},
                    "body": {"1": "F-9"},
                },
            },
        ),
    ]
    bodies = await sent_bodies(wa, len(ids))
    expected = [
        template(ids[0], {"name": "hello_world", "language": {"code": "en_US"}}),
        template(
            ids[1],
            {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [
                            {"type": "image", "image": {"link": "https://example.com/box.jpg"}}
                        ],
                    },
                    {"type": "body", "parameters": [text("María"), text("A123")]},
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "0",
                        "parameters": [text("A123")],
                    },
                ],
            },
        ),
        template(
            ids[2],
            {
                "name": "order_news",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [text("A-7")]},
                    {"type": "body", "parameters": [text("Jorge"), text("today")]},
                    {
                        "type": "button",
                        "sub_type": "url",
                        "index": "1",
                        "parameters": [text("A-7")],
                    },
                ],
            },
        ),
        template(
            ids[3],
            {
                "name": "named_news",
                "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [text("H-1", "order_id")]},
                    {
                        "type": "body",
                        "parameters": [text("Maria", "first_name"), text("B-2", "order_id")],
                    },
                ],
            },
        ),
        template(
            ids[4],
            {
                "name": "appointment_reminder",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [text("Maria", "first_name"), text("1 December", "date")],
                    }
                ],
            },
        ),
        template(
            ids[5],
            {
                "name": "invoice_ready",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [
                            {
                                "type": "document",
                                "document": {"link": "https://example.com/invoice.pdf"},
                            }
                        ],
                    },
                    {"type": "body", "parameters": [text("F-9")]},
                ],
            },
        ),
    ]
    assert len(bodies) == len(expected)
    for received, wanted in zip(bodies, expected, strict=True):
        assert_same_body(received, wanted)


async def test_start_conversation_and_retry_bodies(wa):
    thread = await wa.customer_writes()
    await wa.control("POST", "/clock", json={"advance_seconds": 25 * 3600})  # Meta's window closed
    late = await send(wa, thread["id"], {"kind": "text", "text": "late reply"})
    failed = await wa.wait_message(late, lambda m: m.status == "failed")
    assert failed.error_code == 131047
    await wa.customer_writes("still there?")  # reopens the window at Meta
    retried = await wa.agent.post(f"/api/v1/threads/{thread['id']}/messages/{late}/retry")
    assert retried.status_code == 202, retried.text
    await wa.wait_message(late, lambda m: m.status in ("sent", "delivered", "read"))
    started = await wa.agent.post(
        f"/api/v1/contacts/{thread['contact']['id']}/conversations",
        json={"template": {"name": "hello_world", "language": "en_US"}},
    )
    assert started.status_code == 202, started.text
    bodies = await sent_bodies(wa, 3)
    late_body = individual(late) | {
        "type": "text",
        "text": {"body": "late reply", "preview_url": True},
    }
    expected = [
        late_body,
        late_body,  # the retry sends the same request again
        template(
            started.json()["message"]["id"],
            {"name": "hello_world", "language": {"code": "en_US"}},
        ),
    ]
    for received, wanted in zip(bodies, expected, strict=True):
        assert_same_body(received, wanted)


async def test_group_and_user_id_recipients(wa):
    group_thread = await wa.customer_writes("hello all", group_id=GROUP_ID)
    user_thread = await wa.customer_writes("hi, no number here", customer=USER_ID)
    to_group = await send(wa, group_thread["id"], {"kind": "text", "text": "Hi all"})
    to_user = await send(wa, user_thread["id"], {"kind": "text", "text": "Hi you"})
    (group_body,) = await sent_bodies(wa, 1, to=GROUP_ID)
    assert_same_body(
        group_body,
        {
            "messaging_product": "whatsapp",
            "recipient_type": "group",
            "to": GROUP_ID,
            "biz_opaque_callback_data": f"ttydesk:{to_group}",
            "type": "text",
            "text": {"body": "Hi all", "preview_url": True},
        },
    )
    (user_body,) = await sent_bodies(wa, 1, to=USER_ID)
    assert_same_body(
        user_body,
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "recipient": USER_ID,
            "biz_opaque_callback_data": f"ttydesk:{to_user}",
            "type": "text",
            "text": {"body": "Hi you", "preview_url": True},
        },
    )


async def test_sends_queued_by_an_older_version_go_out_as_they_were_built(tmp_path):
    """Rows queued before migration 0024 hold the Graph API body the store built then (and
    no request): after the upgrade they are sent as they are, the file uploaded first; a
    failed one retried after the upgrade goes again with its old body."""
    env = await fx.start_env(tmp_path / "data")
    try:
        await env.connect_channel()
        thread = await env.customer_writes("My parcel is late")
        messages = (await env.agent.get(f"/api/v1/threads/{thread['id']}/messages")).json()
        inbound = messages["items"][0]
        image = await upload(env, sample_bytes("image/jpeg"), "photo.jpg")
        failed_id = await send(env, thread["id"], {"kind": "text", "text": "Hello?"})
        # every status in (none may come after the upgrade and undo the failure below)
        await env.wait_message(failed_id, lambda m: m.status == "read")
        await env.outbox.stop()  # the rows stay queued, as the older version left them
        text_id = await send(
            env, thread["id"], {"kind": "text", "text": "Sorry!", "reply_to": inbound["id"]}
        )
        image_id = await send(
            env, thread["id"], {"kind": "media", "media_id": image["id"], "caption": "Here"}
        )
        await env.backend.stop()
        # what 0023's store wrote: the whole body, the media id left for the worker
        old_bodies = {
            failed_id: individual(failed_id)
            | {"type": "text", "text": {"body": "Hello?", "preview_url": True}},
            text_id: individual(text_id)
            | {
                "type": "text",
                "text": {"body": "Sorry!", "preview_url": True},
                "context": {"message_id": inbound["wamid"]},
            },
            image_id: individual(image_id)
            | {"type": "image", "image": {"id": None, "caption": "Here"}},
        }
        with contextlib.closing(sqlite3.connect(tmp_path / "data" / "ttydesk.db")) as conn:
            for message_id, body in old_bodies.items():
                conn.execute(
                    "UPDATE outbox SET payload = ? WHERE message_id = ?",
                    (json.dumps(body), message_id),
                )
            conn.execute("UPDATE messages SET status = 'failed' WHERE id = ?", (failed_id,))
            conn.execute("ALTER TABLE outbox DROP COLUMN request")
            # 0024 alone is undone: later migrations (e-mail's 0027, 0028) are not about
            # the outbox, and would not run twice
            conn.execute("DELETE FROM schema_migrations WHERE version = 24")
            conn.commit()
        await env.backend.start()  # migrates to the current version, then sends
        retried = await env.agent.post(f"/api/v1/threads/{thread['id']}/messages/{failed_id}/retry")
        assert retried.status_code == 202, retried.text
        bodies = await sent_bodies(env, 4)
        assert_same_body(bodies[0], old_bodies[failed_id])  # sent before the upgrade
        by_reference = {body["biz_opaque_callback_data"]: body for body in bodies[1:]}
        media_id = by_reference[f"ttydesk:{image_id}"]["image"]["id"]
        assert media_id in env.sim.state.media
        assert_same_body(by_reference[f"ttydesk:{failed_id}"], old_bodies[failed_id])
        assert_same_body(by_reference[f"ttydesk:{text_id}"], old_bodies[text_id])
        assert_same_body(
            by_reference[f"ttydesk:{image_id}"],
            individual(image_id) | {"type": "image", "image": {"id": media_id, "caption": "Here"}},
        )
        for message_id in old_bodies:
            await env.wait_message(message_id, lambda m: m.status in ("sent", "delivered", "read"))
    finally:
        await fx.stop_env(env)


async def test_a_queued_request_that_cannot_be_read_fails_and_the_queue_goes_on(wa):
    """A row this version cannot read (damaged, or written by a newer version) is never
    sent on a guess: its message fails with a reason, the thread's next send goes."""
    thread = await wa.customer_writes()
    await wa.outbox.stop()
    unreadable = await send(wa, thread["id"], {"kind": "text", "text": "first"})
    fine = await send(wa, thread["id"], {"kind": "text", "text": "second"})
    await wa.backend.store.write(
        lambda tx: tx.execute(
            "UPDATE outbox SET request = ? WHERE message_id = ?", ('{"kind":"text"}', unreadable)
        )
    )
    await wa.backend.restart()
    failed = await wa.wait_message(unreadable, lambda m: m.status == "failed")
    assert "cannot read" in failed.error_message
    await wa.wait_message(fine, lambda m: m.wamid is not None)
    (body,) = await sent_bodies(wa, 1)
    assert_same_body(
        body, individual(fine) | {"type": "text", "text": {"body": "second", "preview_url": True}}
    )
