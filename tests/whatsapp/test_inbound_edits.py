"""A customer edits or deletes a message (coexistence numbers: ``edit`` and ``revoke``).

An edit carries the new content (Meta's ``edit.message``): it is stored as the message
it now is, quoting the one it replaces, so the agent reads the customer's words and
sees what changed (``content.edit_of`` names it) — never an "Unsupported message" standing in for them. A deletion is
an event line quoting the message it deletes; a deletion of a
message that was never stored (sent before the number was connected, or lost to Meta)
is counted, and opens no conversation: it has nothing to show."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.store.reactions import HELD_REACTION_KEEP
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=30)


async def deliver(meta, *messages) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages))
    assert response.status_code == 200, response.text


def edit(original: str, new_text: str, minute: int) -> dict:
    inner = {"type": "text", "text": {"body": new_text}}
    return p.message(
        "edit",
        {"original_message_id": original, "message": inner},
        at=AT + timedelta(minutes=minute),
    )


def revoke(original: str, minute: int) -> dict:
    return p.message("revoke", {"original_message_id": original}, at=AT + timedelta(minutes=minute))


async def thread_messages(agent) -> list[dict]:
    (thread,) = (await agent.get("/api/v1/threads")).json()["items"]
    response = await agent.get(f"/api/v1/threads/{thread['id']}/messages")
    return list(reversed(response.json()["items"]))


async def test_an_edit_shows_the_new_words_quoting_the_old(backend, meta, agent):
    original = p.text("my order 1234 is late", at=AT)
    await deliver(meta, original)
    changed = edit(original["id"], "my order 1243 is late", 1)
    await deliver(meta, changed)
    first, second = await thread_messages(agent)
    assert (first["kind"], first["text"]) == ("text", "my order 1234 is late")
    assert (second["kind"], second["text"], second["wamid"]) == (
        "text",
        "my order 1243 is late",
        changed["id"],
    )
    assert second["reply_to"]["id"] == first["id"]  # the quote above it shows what changed
    (stored,) = await rows(
        backend, "SELECT content FROM messages WHERE wamid = ?", (changed["id"],)
    )
    assert json.loads(stored["content"]) == {"edit_of": original["id"]}
    (thread,) = (await agent.get("/api/v1/threads")).json()["items"]
    assert thread["last_message_preview"] == "my order 1243 is late"
    # the edited words are searchable, as any message's
    found = (await agent.get("/api/v1/search", params={"q": "1243"})).json()["items"]
    assert len(found) == 1


async def test_an_edit_of_a_message_never_stored_is_the_customers_message(backend, meta, agent):
    await deliver(meta, edit("wamid.SENT_BEFORE_WE_CONNECTED", "can you call me?", 0))
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert ticket["subject"] == "can you call me?"  # not "Unsupported message"
    (message,) = await thread_messages(agent)
    assert (message["kind"], message["text"]) == ("text", "can you call me?")


async def test_an_edit_before_its_original_quotes_it_once_it_arrives(backend, meta, agent):
    original = p.text("my order 1234 is late", at=AT)
    changed = edit(original["id"], "my order 1243 is late", 1)
    await deliver(meta, changed)
    await deliver(meta, original)
    first, second = await thread_messages(agent)
    assert (first["text"], second["text"]) == ("my order 1234 is late", "my order 1243 is late")
    # as in order: the new words quote the old, so the agent sees which were replaced
    assert second["reply_to"]["id"] == first["id"]


async def test_a_deletion_is_a_line_under_the_message_it_deletes(backend, meta, agent):
    original = p.text("my card is 4111", at=AT)
    await deliver(meta, original)
    (before,) = await rows(backend, "SELECT last_message_preview FROM threads")
    gone = revoke(original["id"], 1)
    await deliver(meta, gone)
    await deliver(meta, gone)  # Meta retries: stored once
    first, line = await thread_messages(agent)
    assert (line["kind"], line["text"], line["event"]) == (
        "event",
        "The customer deleted this message",
        "message_revoked",
    )
    assert line["reply_to"]["id"] == first["id"]
    assert await rows(backend, "SELECT last_message_preview FROM threads") == [before]
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert ticket["subject"] == "my card is 4111"


async def test_a_deletion_before_its_message_is_held_then_shown_under_it(backend, meta, agent):
    # Meta delivers in no order: the deletion may come first. The message must never
    # show without its mark (the agent would read words the customer took back).
    original = p.text("my card is 4111", at=AT)
    gone = revoke(original["id"], 1)
    await deliver(meta, gone)
    assert await rows(backend, "SELECT id FROM tickets") == []  # held: opens nothing yet
    assert await counter(backend, "webhook.revoke_held") == 1
    await deliver(meta, gone)  # redelivered while held: a duplicate
    assert await counter(backend, "webhook.revoke_held") == 1
    await deliver(meta, original)
    first, line = await thread_messages(agent)
    assert (first["kind"], first["text"]) == ("text", "my card is 4111")
    assert (line["kind"], line["text"], line["event"], line["wamid"]) == (
        "event",
        "The customer deleted this message",
        "message_revoked",
        gone["id"],
    )
    assert line["reply_to"]["id"] == first["id"]
    assert await rows(backend, "SELECT target_wamid FROM held_for_message") == []
    await deliver(meta, gone)  # a retry after it was applied changes nothing
    assert len(await thread_messages(agent)) == 2


async def test_a_deletion_of_a_message_never_stored_opens_nothing(backend, meta):
    await deliver(meta, revoke("wamid.NEVER_STORED", 0))
    assert await rows(backend, "SELECT id FROM tickets") == []
    assert await rows(backend, "SELECT id FROM messages") == []
    # held for the message's coming; once Meta can no longer deliver it, counted
    later = NOW + HELD_REACTION_KEEP + timedelta(minutes=1)
    assert await backend.store.expire_held_reactions(later) == 1
    assert await rows(backend, "SELECT id FROM messages") == []
    assert await counter(backend, "webhook.revoke_without_target") == 1


async def test_an_unreadable_edit_is_still_a_placeholder(backend, meta, agent):
    original = p.text("hello", at=AT)
    await deliver(meta, original)
    broken = p.message(
        "edit", {"original_message_id": original["id"]}, at=AT + timedelta(minutes=1)
    )
    await deliver(meta, broken)
    _, placeholder = await thread_messages(agent)
    assert (placeholder["kind"], placeholder["unsupported_reason"]) == (
        "unsupported",
        "edited message",
    )
