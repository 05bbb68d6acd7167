"""The ingest's common case (a customer writing again in an open conversation that already
waits on us) has a path of its own, ``inbound._add_to_thread``, for speed. It must store
exactly what the general path stores: the same webhooks through a backend with and one
without it leave the same rows behind."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.domain.clock import FixedClock
from backend.store import conversations as conv
from backend.store import inbound
from tests.support import LiveBackend
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, UNREACHABLE_GRAPH, connect_number, signed_post

OTHER_WA_ID = "34699888777"
OTHER_USER_ID = "ES.9988776655443322"
# no user id, and a number in a range the phone library does not know: found by wa_id
LEGACY_WA_ID = "447700900555"

# What the background services write at their own pace, not the ingest's: agents' random
# tokens, the view counts pushed every second, the media fetcher's attempts (it tries
# the unreachable Graph API and marks the media and its message, message.updated).
NOT_COMPARED = {"agents", "agent_tokens"}
MEDIA_AS_STORED = (
    "SELECT id, external_id, direction, mime_type, filename, sha256, phone_number_id, "
    "created_at FROM media ORDER BY id"
)
EVENTS_OF_THE_INGEST = (
    "SELECT type, payload, at, entity_id FROM events "
    "WHERE type NOT IN ('view.counts', 'message.updated') ORDER BY seq"
)


def conversation() -> list[dict[str, Any]]:
    """Webhook bodies from three customers (one known only by a wa_id the phone library
    refuses): every message type, batched and alone, older and newer than the session,
    quoted, forwarded, with a referral, quarantined, reactions, delivered late."""
    first = p.text("Hi, where is my order?", at=NOW - timedelta(hours=2))
    other = {"from_": OTHER_WA_ID, "user_id": OTHER_USER_ID}
    other_contact = p.contact(wa_id=OTHER_WA_ID, user_id=OTHER_USER_ID, name="Otto")
    late = p.text("delivered after its reaction", at=NOW - timedelta(minutes=34, seconds=30))
    legacy = {"from_": LEGACY_WA_ID, "user_id": None}
    legacy_contact = p.contact(wa_id=LEGACY_WA_ID, user_id=None, name="Tom")
    return [
        p.messages_envelope(first),
        p.messages_envelope(p.text("Hello?", at=NOW - timedelta(hours=1, minutes=50))),
        # every type in one notification: one batch, one savepoint
        p.messages_envelope(*p.every_type(NOW - timedelta(hours=1)).values()),
        # and each alone again, later
        *(
            p.messages_envelope(message)
            for message in p.every_type(NOW - timedelta(minutes=50)).values()
        ),
        # older than the window already open: the window is not shortened
        p.messages_envelope(p.text("sent earlier, delivered late", at=NOW - timedelta(hours=3))),
        p.messages_envelope(
            p.text("quoting you", at=NOW - timedelta(minutes=40), context={"id": first["id"]})
        ),
        p.messages_envelope(
            p.text(
                "look at this",
                at=NOW - timedelta(minutes=39),
                context={"forwarded": True, "frequently_forwarded": True},
            )
        ),
        p.messages_envelope(
            p.text(
                "from your ad",
                at=NOW - timedelta(minutes=38),
                referral={"source_type": "ad", "source_id": "ad-1", "headline": "Sale"},
            )
        ),
        p.messages_envelope(p.text("my password is hunter2!", at=NOW - timedelta(minutes=37))),
        p.messages_envelope(
            p.message(
                "reaction",
                {"message_id": first["id"], "emoji": "👍"},
                at=NOW - timedelta(minutes=36),
            )
        ),
        # a reaction held until its message comes
        p.messages_envelope(
            p.message(
                "reaction",
                {"message_id": late["id"], "emoji": "🎉"},
                at=NOW - timedelta(minutes=34),
            )
        ),
        p.messages_envelope(late),
        p.messages_envelope(
            p.text("I'm new here", at=NOW - timedelta(minutes=35), **other),
            contacts=[other_contact],
        ),
        p.messages_envelope(
            p.text("still there?", at=NOW - timedelta(minutes=30), **other),
            p.text("hello??", at=NOW - timedelta(minutes=29), **other),
            contacts=[other_contact],
        ),
        # the last word is an old message: the window stays where the newest put it
        p.messages_envelope(
            p.text("from this morning", at=NOW - timedelta(hours=4), **other),
            contacts=[other_contact],
        ),
        *(
            p.messages_envelope(
                p.text(body, at=NOW - timedelta(minutes=minutes), **legacy),
                contacts=[legacy_contact],
            )
            for body, minutes in (("no user id", 28), ("again", 27), ("earlier", 33))
        ),
    ]


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
                "'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts_%' "
                "ORDER BY name"
            )
            if name not in NOT_COMPARED
        ]
        content = {
            table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            for table in tables
        }
        content["media"] = db.execute(MEDIA_AS_STORED).fetchall()
        content["events"] = db.execute(EVENTS_OF_THE_INGEST).fetchall()
        content["messages_fts"] = db.execute(
            "SELECT rowid, body FROM messages_fts ORDER BY rowid"
        ).fetchall()
    return content


async def ingest(tmp_path: Path, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    backend = LiveBackend(
        data_dir=tmp_path,
        clock=FixedClock(NOW),
        overrides={"whatsapp_graph_url": UNREACHABLE_GRAPH},
    )
    await backend.start()
    try:
        await backend.seed_agents()
        await connect_number(backend)
        async with backend.client() as meta:
            for index, body in enumerate(bodies):
                response = await signed_post(meta, body)
                assert response.status_code == 200, response.text
                if index == 1:
                    # an agent's reply left the ticket waiting on the customer: the next
                    # message moves it back, which only the general path does
                    await backend.store.write(move_first_ticket_to("waiting_on_contact"))
        path = backend.settings.database_path
    finally:
        await backend.stop()
    return dump(path)


def move_first_ticket_to(status: str) -> Callable[[Any], None]:
    def move(tx: Any) -> None:
        ticket_id = tx.one("SELECT MIN(id) FROM tickets")[0]
        conv.set_ticket_status(tx, ticket_id, status, None)

    return move


async def test_the_common_case_stores_what_the_general_path_stores(tmp_path, monkeypatch):
    bodies = conversation()
    taken: list[str] = []
    taken_by: set[str | None] = set()
    add_to_thread = inbound._add_to_thread

    def spy(tx: Any, record: inbound.InboundRecord, *args: Any) -> Any:
        taken.append(record.kind)
        taken_by.add(record.sender.wa_id)
        return add_to_thread(tx, record, *args)

    monkeypatch.setattr(inbound, "_add_to_thread", spy)
    with_common_case = await ingest(tmp_path / "common", bodies)
    # the common case was taken for most kinds, and not for the rest
    assert {"text", "location", "contacts", "order", "unsupported", "quarantined"} <= set(taken)
    assert not {"image", "video", "document"} & set(taken)
    assert taken_by == {p.CUSTOMER_WA_ID, OTHER_WA_ID, LEGACY_WA_ID}

    monkeypatch.setattr(inbound, "_continues_thread", lambda record, thread: False)
    general_only = await ingest(tmp_path / "general", bodies)

    assert with_common_case.keys() == general_only.keys()
    for table, rows in with_common_case.items():
        assert rows == general_only[table], table
    assert len(with_common_case["messages"]) > 40


@pytest.mark.parametrize("status", ["new", "waiting_on_contact"])
def test_a_message_that_moves_its_ticket_takes_the_general_path(status):
    record = inbound.InboundRecord(
        wamid="wamid.x",
        phone_number_id=p.PHONE_NUMBER_ID,
        at=NOW,
        sender=inbound.Sender(),
        kind="text",
    )
    waiting = conv.InboundThread(1, 1, False, None, "waiting_on_us")
    other = conv.InboundThread(1, 1, False, None, status)
    assert inbound._continues_thread(record, waiting)
    assert not inbound._continues_thread(record, other)
