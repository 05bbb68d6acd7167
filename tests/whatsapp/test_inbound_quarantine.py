"""Quarantine of policy-breaking content, admin reveal (audited), and huge texts."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.store.conversations import load_message
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(minutes=5)
CARD = "4111 1111 1111 1111"


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def message_of(backend, wamid):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


async def test_a_card_number_is_quarantined_hidden_and_not_searchable(backend, meta):
    msg = p.text(f"my card is {CARD} exp 12/29", at=AT)
    await deliver(meta, msg)
    got = await message_of(backend, msg["id"])
    assert got.kind == "quarantined"
    assert got.quarantine_rule == "payment_card"
    assert got.text is None
    assert CARD not in got.model_dump_json()
    (row,) = await rows(backend, "SELECT text, content FROM messages")
    assert CARD in row["text"]  # stored, hidden
    assert json.loads(row["content"])["kind"] == "text"
    assert (
        await rows(backend, "SELECT rowid FROM messages_fts WHERE messages_fts MATCH '4111'") == []
    )
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    (thread,) = await rows(backend, "SELECT last_message_preview FROM threads")
    assert ticket["subject"] == thread["last_message_preview"] == "Quarantined message"
    frames = await backend.store.events_after(0)  # as a reconnecting client gets them
    assert frames and all(CARD not in frame for _, frame in frames)


async def test_a_phishing_caption_quarantines_the_media_message(backend, meta):
    msg = p.image(at=AT, caption="verify your account at https://paypa1-login.com/x")
    await deliver(meta, msg)
    got = await message_of(backend, msg["id"])
    assert got.kind == "quarantined"
    assert got.quarantine_rule == "phishing_link"
    assert got.media is None


async def test_an_admin_reveals_and_the_reveal_is_audited_agents_get_403(
    backend, meta, admin, agent
):
    msg = p.text(f"card {CARD}", at=AT)
    await deliver(meta, msg)
    (row,) = await rows(backend, "SELECT id FROM messages")
    denied = await agent.post(f"/api/v1/messages/{row['id']}/reveal")
    assert denied.status_code == 403
    assert await rows(backend, "SELECT id FROM audit_log WHERE action = 'message.reveal'") == []
    shown = await admin.post(f"/api/v1/messages/{row['id']}/reveal")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["text"] == f"card {CARD}"
    assert body["message"]["quarantine_revealed"] is True
    assert body["message"]["text"] is None
    (entry,) = await rows(
        backend, "SELECT actor_id, target, detail FROM audit_log WHERE action = 'message.reveal'"
    )
    assert entry["actor_id"] == backend.admin.id
    assert entry["target"] == f"message:{row['id']}"
    assert json.loads(entry["detail"]) == {"rule": "payment_card"}
    await admin.post(f"/api/v1/messages/{row['id']}/reveal")
    assert len(await rows(backend, "SELECT id FROM audit_log WHERE action = 'message.reveal'")) == 2


async def test_reveal_of_a_plain_or_missing_message(backend, meta, admin):
    await deliver(meta, p.text("nothing secret", at=AT))
    (row,) = await rows(backend, "SELECT id FROM messages")
    plain = await admin.post(f"/api/v1/messages/{row['id']}/reveal")
    assert plain.status_code == 409
    assert plain.json()["error"]["code"] == "not_quarantined"
    missing = await admin.post("/api/v1/messages/999999/reveal")
    assert missing.status_code == 404
    unauthenticated = await meta.post(f"/api/v1/messages/{row['id']}/reveal")
    assert unauthenticated.status_code == 401


async def test_a_1_mb_text_is_stored_whole_and_never_crashes(backend, meta):
    # how long it takes is a figure of tests/bench/hostile_text.py, not a test
    huge = ("lorem ipsum dolor sit amet 12345 www.example.com " * 22000)[:1_000_000]
    msg = p.text(huge, at=AT)
    await deliver(meta, msg)
    got = await message_of(backend, msg["id"])
    assert got.kind == "text"
    assert len(got.text) == 1_000_000
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert len(ticket["subject"]) <= 120
    (thread,) = await rows(backend, "SELECT last_message_preview FROM threads")
    assert len(thread["last_message_preview"]) <= 140


async def test_a_1_mb_text_with_a_card_at_the_end_is_quarantined(backend, meta):
    huge = "a" * 999_000 + f" {CARD}"
    msg = p.text(huge, at=AT)
    await deliver(meta, msg)
    got = await message_of(backend, msg["id"])
    assert (got.kind, got.quarantine_rule) == ("quarantined", "payment_card")


async def test_hostile_control_characters_are_stored_as_data(backend, meta):
    hostile = "\x1b[2J\x1b]0;pwned\x07[bold red]hi[/] \u202eevil"
    msg = p.text(hostile, at=AT)
    await deliver(meta, msg)
    assert (await message_of(backend, msg["id"])).text == hostile
