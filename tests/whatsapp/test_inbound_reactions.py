"""Customer reactions delivered out of order: held until their message comes, newest wins."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.store.conversations import load_message
from backend.store.reactions import HELD_REACTION_KEEP, expire_held_reactions
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=5)


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def message_of(backend, wamid):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


def reaction(target: str, emoji: str | None, *, at):
    payload = {"message_id": target} if emoji is None else {"message_id": target, "emoji": emoji}
    return p.message("reaction", payload, at=at)


async def test_a_reaction_before_its_message_is_held_then_attached_when_it_arrives(backend, meta):
    target = p.text("my parcel is late", at=AT)
    early = reaction(target["id"], "😡", at=AT + timedelta(seconds=30))
    await deliver(meta, early)
    # held: no message, no thread, no ticket
    assert await rows(backend, "SELECT id FROM messages") == []
    assert await rows(backend, "SELECT id FROM tickets") == []
    assert await counter(backend, "webhook.reaction_held") == 1
    await deliver(meta, early)  # redelivered while held: a duplicate
    assert await counter(backend, "webhook.duplicate") == 1
    before = (await rows(backend, "SELECT COALESCE(MAX(seq), 0) AS s FROM events"))[0]["s"]
    await deliver(meta, target)
    got = await message_of(backend, target["id"])
    assert [(r.emoji, r.by) for r in got.reactions] == [("😡", "in")]
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert ticket["subject"] == "my parcel is late"
    assert len(await rows(backend, "SELECT id FROM messages")) == 1
    # the message arrives with its reaction on it
    frames = [json.loads(f) for _, f in await backend.store.events_after(before)]
    (created,) = [f["data"] for f in frames if f["type"] == "message.created"]
    assert [r["emoji"] for r in created["reactions"]] == ["😡"]


async def test_add_and_removal_apply_by_whatsapp_time_whatever_the_arrival_order(backend, meta):
    target = p.text("order A123", at=AT)
    await deliver(meta, target)
    removal = reaction(target["id"], None, at=AT + timedelta(seconds=20))
    older_add = reaction(target["id"], "👍", at=AT + timedelta(seconds=10))
    await deliver(meta, removal)
    await deliver(meta, older_add)  # sent before the removal, delivered after it
    assert (await message_of(backend, target["id"])).reactions == []
    assert await counter(backend, "webhook.reaction_stale") == 1
    await deliver(meta, reaction(target["id"], "❤️", at=AT + timedelta(seconds=30)))
    assert [r.emoji for r in (await message_of(backend, target["id"])).reactions] == ["❤️"]


async def test_held_reactions_also_apply_newest_first(backend, meta):
    target = p.text("order B456", at=AT)
    await deliver(meta, reaction(target["id"], "👍", at=AT + timedelta(seconds=40)))
    await deliver(meta, reaction(target["id"], None, at=AT + timedelta(seconds=20)))
    await deliver(meta, target)
    assert [r.emoji for r in (await message_of(backend, target["id"])).reactions] == ["👍"]
    other = p.text("order C789", at=AT)
    await deliver(meta, reaction(other["id"], "👍", at=AT + timedelta(seconds=20)))
    await deliver(meta, reaction(other["id"], None, at=AT + timedelta(seconds=40)))
    await deliver(meta, other)
    assert (await message_of(backend, other["id"])).reactions == []


async def test_a_reaction_whose_message_never_comes_ends_as_a_quiet_event_line(backend, meta):
    await deliver(meta, p.text("hello", at=AT))
    (before,) = await rows(
        backend,
        "SELECT th.inbound_count, th.last_message_preview, th.unread_count, t.status "
        "FROM threads th JOIN tickets t ON t.id = th.ticket_id",
    )
    await deliver(meta, reaction("wamid.sent-from-another-app", "😂", at=AT))
    # not yet: the hold lasts as long as Meta may still deliver the message
    assert await backend.store.write(lambda tx: expire_held_reactions(tx, NOW)) == 0
    later = NOW + HELD_REACTION_KEEP + timedelta(minutes=1)
    assert await backend.store.write(lambda tx: expire_held_reactions(tx, later)) == 1
    (row,) = await rows(backend, "SELECT id, kind, wamid FROM messages WHERE kind = 'event'")
    line = await backend.store.write(lambda tx: load_message(tx, row["id"]))
    assert (line.kind, line.event, line.text) == ("event", "reaction_target_missing", "😂")
    # quiet: no counters, no preview, no ticket move
    (after,) = await rows(
        backend,
        "SELECT th.inbound_count, th.last_message_preview, th.unread_count, t.status "
        "FROM threads th JOIN tickets t ON t.id = th.ticket_id",
    )
    assert after == before
    assert await backend.store.write(lambda tx: expire_held_reactions(tx, later)) == 0


async def test_with_no_thread_an_expired_reaction_is_dropped_and_counted(backend, meta):
    await deliver(meta, reaction("wamid.never-here", "👍", at=AT))
    await deliver(meta, reaction("wamid.also-never", None, at=AT))
    later = NOW + HELD_REACTION_KEEP + timedelta(minutes=1)
    assert await backend.store.write(lambda tx: expire_held_reactions(tx, later)) == 2
    assert await rows(backend, "SELECT id FROM messages") == []
    assert await rows(backend, "SELECT id FROM tickets") == []
    assert await counter(backend, "webhook.reaction_target_missing") == 1
