"""End to end: the real simulator builds, signs and POSTs each inbound type to the real
backend; the backend stores it as the right kind (and fetches media from the simulator)."""

from __future__ import annotations

import pytest

from backend.store.conversations import load_message
from tests.whatsapp.conftest import SIM_CUSTOMER, counter, rows

CASES: list[tuple[str, dict, str]] = [
    ("text", {"type": "text", "text": "Hola, ¿dónde está mi pedido? 📦"}, "text"),
    ("image", {"type": "image", "caption": "the box"}, "image"),
    ("video", {"type": "video", "caption": "unboxing"}, "video"),
    ("voice", {"type": "audio", "voice": True}, "voice"),
    ("audio", {"type": "audio"}, "audio"),
    ("document", {"type": "document", "filename": "invoice.pdf", "caption": "inv"}, "document"),
    ("sticker", {"type": "sticker", "animated": True}, "sticker"),
    ("location", {"type": "location", "name": "Sol", "address": "Madrid"}, "location"),
    (
        "contacts",
        {"type": "contacts", "name": "Ana Torres", "phone": "+34 600 111 222"},
        "contacts",
    ),
    ("button", {"type": "button", "text": "Track", "payload": "TRACK"}, "button_reply"),
    (
        "button_reply",
        {"type": "interactive", "reply_type": "button_reply", "title": "Yes"},
        "interactive_reply",
    ),
    (
        "list_reply",
        {"type": "interactive", "reply_type": "list_reply", "title": "Shipping"},
        "interactive_reply",
    ),
    ("nfm_reply", {"type": "interactive", "reply_type": "nfm_reply"}, "interactive_reply"),
    (
        "call_permission",
        {"type": "interactive", "reply_type": "call_permission_reply"},
        "interactive_reply",
    ),
    ("order", {"type": "order", "text": "two please"}, "order"),
    ("poll", {"type": "unsupported", "unsupported_type": "poll_creation"}, "unsupported"),
    (
        "unavailable",
        {"type": "unsupported", "unsupported_type": "unknown", "error_code": 131060},
        "unsupported",
    ),
    ("request_welcome", {"type": "request_welcome"}, "event"),
    (
        "future",
        {"type": "raw", "message": {"type": "hologram", "hologram": {"x": 1}}},
        "unsupported",
    ),
    (
        "zip",
        {"type": "document", "mime_type": "application/zip", "filename": "a.zip"},
        "unsupported",
    ),
    ("card", {"type": "text", "text": "card 4111 1111 1111 1111"}, "quarantined"),
]


@pytest.mark.parametrize(("name", "body", "kind"), CASES, ids=[c[0] for c in CASES])
async def test_each_inbound_type_through_the_simulator(sim, name, body, kind):
    wamid = await sim.customer_sends(body)
    message = await sim.stored(wamid)
    assert message.kind == kind
    assert message.direction == "in"
    assert message.from_number == SIM_CUSTOMER


async def test_a_deletion_through_the_simulator_is_a_line_under_its_message(sim):
    first = await sim.customer_sends({"type": "text", "text": "wrong chat, sorry"})
    gone = await sim.customer_sends({"type": "revoke", "original_message_id": first})
    line = await sim.stored(gone)
    assert (line.kind, line.event) == ("event", "message_revoked")
    assert line.reply_to.id == (await sim.stored(first)).id


async def test_reply_and_reaction_through_the_simulator(sim):
    first = await sim.customer_sends({"type": "text", "text": "order A123"})
    original = await sim.stored(first)
    reply = await sim.customer_sends(
        {"type": "text", "text": "any news?", "context": {"reply_to": first}}
    )
    assert (await sim.stored(reply)).reply_to.id == original.id
    await sim.customer_sends({"type": "reaction", "message_id": first, "emoji": "👍"})

    async def reacted():
        message = await sim.backend.store.write(lambda tx: load_message(tx, original.id))
        return [r.emoji for r in message.reactions] == ["👍"]

    await sim.until(reacted)
    await sim.customer_sends({"type": "reaction", "message_id": first})

    async def removed():
        message = await sim.backend.store.write(lambda tx: load_message(tx, original.id))
        return message.reactions == []

    await sim.until(removed)
    # a reaction to a message not (yet) here is held: no message, no ticket
    await sim.customer_sends({"type": "reaction", "message_id": "wamid.never", "emoji": "😂"})

    async def held():
        return await counter(sim.backend, "webhook.reaction_held") == 1

    await sim.until(held)
    assert len(await rows(sim.backend, "SELECT id FROM messages")) == 2
    assert len(await rows(sim.backend, "SELECT id FROM tickets")) == 1


async def test_system_change_of_number_through_the_simulator(sim):
    await sim.stored(await sim.customer_sends({"type": "text", "text": "hello"}))
    wamid = await sim.customer_sends(
        {"type": "system", "system_type": "user_changed_number", "new_wa_id": "34699000111"}
    )
    event = await sim.stored(wamid)
    assert (event.kind, event.event) == ("event", "user_changed_number")
    (contact,) = await rows(sim.backend, "SELECT wa_id FROM contacts")
    assert contact["wa_id"] == "34699000111"


async def test_received_media_is_downloaded_from_the_simulator(sim):
    agent = sim.backend.client(sim.backend.agent_token)
    try:
        wamid = await sim.customer_sends({"type": "image", "caption": "photo"})
        message = await sim.stored(wamid)

        async def ready():
            found = await rows(
                sim.backend,
                "SELECT state, sha256, size FROM media WHERE id = ?",
                (message.media.id,),
            )
            return found[0] if found[0]["state"] != "pending" else None

        row = await sim.until(ready)
        assert row["state"] == "ready", row
        response = await agent.get(f"/api/v1/media/{message.media.id}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        import hashlib

        assert hashlib.sha256(response.content).hexdigest() == row["sha256"]
        assert len(response.content) == row["size"]
    finally:
        await agent.aclose()


async def test_media_download_failure_then_retry_success_with_the_simulator(sim):
    await sim.control(
        "POST",
        "/faults",
        json={
            "fail_next": [
                {
                    "kind": "5xx",
                    "path_contains": "/whatsapp_business/attachments/",
                    "method": "GET",
                },
            ]
        },
    )
    wamid = await sim.customer_sends({"type": "document", "filename": "a.pdf"})
    message = await sim.stored(wamid)

    async def ready():
        found = await rows(
            sim.backend, "SELECT state, attempts FROM media WHERE id = ?", (message.media.id,)
        )
        return found[0] if found[0]["state"] == "ready" else None

    row = await sim.until(ready)
    assert row["attempts"] == 2


async def test_duplicate_deliveries_from_the_simulator_are_stored_once(sim):
    wamid = await sim.customer_sends({"type": "text", "text": "once"})
    await sim.stored(wamid)
    deliveries = await sim.control("GET", "/deliveries?state=delivered")
    delivered = [
        d
        for d in deliveries["items"]
        if any(
            m.get("id") == wamid
            for e in d["payload"]["entry"]
            for c in e["changes"]
            for m in c["value"].get("messages", [])
        )
    ]
    assert delivered
    # Meta retries: replay the same signed bytes
    from tests.whatsapp.conftest import signed_post

    client = sim.backend.client()
    try:
        response = await signed_post(client, delivered[0]["payload"])
        assert response.status_code == 200
    finally:
        await client.aclose()
    assert len(await rows(sim.backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))) == 1
    assert await counter(sim.backend, "webhook.duplicate") == 1
