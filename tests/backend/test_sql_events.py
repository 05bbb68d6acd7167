"""Events whose payload SQLite builds (``SqlEvent``): the same JSON as the wire model, and
the batch rules (seq taken at emit time, newest state, rollback drops them)."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

import pytest

from backend import schemas
from backend.store import conversations as conv
from backend.store import inbound
from backend.store.engine import replayable
from backend.store.sqlite import SqliteStore
from backend.store.types import EmailRecord, Sender
from tests.backend.seed import BASE_TIME, seed_thread


@pytest.fixture
async def store(tmp_path):
    published: list[tuple[int, str, str]] = []
    store = SqliteStore(
        tmp_path / "t.db",
        on_commit=lambda events: published.extend((e.seq, e.type, e.frame) for e in events),
    )
    store.published = published  # type: ignore[attr-defined]
    await store.open()
    yield store
    await store.close()


def sql_thread(tx, thread_id: int) -> dict:
    row = tx.one(conv.THREAD_UPDATED.select, {"pairs": json.dumps([[41, thread_id]])})
    frame = json.loads(row["payload"])
    assert frame["seq"] == 41 and frame["type"] == "thread.updated"
    return frame["data"]


def sql_ticket(tx, ticket_id: int) -> dict:
    row = tx.one(conv.TICKET_UPDATED.select, {"pairs": json.dumps([[42, ticket_id]])})
    frame = json.loads(row["payload"])
    assert frame["seq"] == 42 and frame["type"] == "ticket.updated"
    return frame["data"]


# Contact name and phone columns as the display rule sees them: set, empty and missing.
CONTACT_SHAPES = [
    {"first_name": "Ana", "last_name": "García"},
    {"first_name": "Ana", "last_name": ""},
    {"first_name": "", "last_name": "García"},
    {"first_name": None, "last_name": None},
    {"first_name": "", "last_name": "", "phone": "", "mobile_phone": "+34600000002"},
    {"first_name": None, "phone": None, "mobile_phone": ""},
    {"first_name": None, "phone": None, "mobile_phone": None, "wa_username": "ana.g"},
    {"first_name": None, "phone": None, "wa_username": "", "wa_user_id": "ES.123"},
    {
        "first_name": None,
        "phone": None,
        "mobile_phone": None,
        "wa_id": None,
        "wa_username": None,
        "wa_user_id": None,
    },
    {"first_name": 'Quote " back\\slash \x07 bell', "last_name": "‮evil"},
]

TICKET_SHAPES = [
    {},
    {"status": "closed", "closed_at": "2026-11-02T10:00:00.000000+00:00"},
    {"needs_review": 1, "priority": "urgent", "last_delivery_status": "read"},
    {"first_response_seconds": 93, "outbound_count": 4, "owner_id": None},
    {"session_expires_at": "2026-11-02T09:00:00.250000+00:00", "pipeline": "billing"},
    # the inbound activity is on the thread's row; the later of the two times is updated_at
    {"inbound_count": 7, "inbound_stored_at": "2099-01-01T00:00:00.000000+00:00"},
    {"first_inbound_at": None, "last_inbound_at": None, "inbound_stored_at": None},
]
# ticket fields kept on the ticket's thread's row (migration 0007)
ON_THREAD = {
    "session_expires_at",
    "inbound_count",
    "first_inbound_at",
    "last_inbound_at",
    "inbound_stored_at",
}


async def test_thread_and_ticket_json_equal_the_wire_models(store):
    made = []
    for index, contact in enumerate(CONTACT_SHAPES):
        thread = await seed_thread(store, name="Someone", phone=f"+3461000{index:04d}", text="hi")
        made.append((thread, contact, TICKET_SHAPES[index % len(TICKET_SHAPES)]))

    def reshape(tx):
        for thread, contact, ticket in made:
            tx.update("contacts", thread.contact.id, contact)
            on_ticket = {k: v for k, v in ticket.items() if k not in ON_THREAD}
            tx.update("tickets", thread.ticket.id, on_ticket)
            tx.update("threads", thread.id, {k: v for k, v in ticket.items() if k in ON_THREAD})
        return True

    await store.write(reshape)

    def compare(tx):
        for thread, _, _ in made:
            model = conv.load_thread(tx, thread.id)
            assert sql_thread(tx, thread.id) == json.loads(model.model_dump_json())
            ticket = conv.load_ticket(tx, thread.ticket.id)
            assert sql_ticket(tx, thread.ticket.id) == json.loads(ticket.model_dump_json())
        return True

    assert await store.write(compare)
    latest = await store.get_thread(made[5][0].id)
    assert latest.ticket.updated_at.year == 2099 and latest.ticket.inbound_count == 7
    # and a client reads them back as the same models
    thread = made[-1][0]
    data = await store.write(lambda tx: sql_thread(tx, thread.id))
    assert schemas.Thread.model_validate(data) == await store.get_thread(thread.id)


async def test_a_snapshot_shows_the_state_at_commit_and_keeps_its_place(store):
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    store.published.clear()

    def first(tx):
        tx.emit("test.before", {"n": 1})
        conv.emit_thread_snapshot(tx, thread.id)
        tx.emit("test.after", {"n": 2})
        return True

    def second(tx):
        tx.execute("UPDATE threads SET last_message_preview = 'later' WHERE id = ?", (thread.id,))
        conv.emit_thread_snapshot(tx, thread.id)
        return True

    await asyncio.gather(store.write(replayable(first)), store.write(replayable(second)))
    types = [event_type for _, event_type, _ in store.published]
    assert types == ["test.before", "thread.updated", "test.after", "thread.updated"]
    seqs = [seq for seq, _, _ in store.published]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    snapshots = [json.loads(frame) for _, t, frame in store.published if t == "thread.updated"]
    # a snapshot taken before another job's change in the same batch shows that change
    # too when both committed together; alone, it shows its own state
    assert all(s["data"]["last_message_preview"] in ("hi", "later") for s in snapshots)
    assert snapshots[-1]["data"]["last_message_preview"] == "later"
    logged = dict(await store.events_after(0))
    for seq, _, frame in store.published:
        assert logged[seq] == frame  # what was sent is what a replay sends


async def test_a_rolled_back_job_leaves_no_snapshot(store):
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    store.published.clear()

    def failing(tx):
        conv.emit_thread_snapshot(tx, thread.id)
        raise ValueError("refused")

    def fine(tx):
        conv.emit_ticket_snapshot(tx, thread.ticket.id)
        return True

    outcomes = await asyncio.gather(
        store.write(replayable(fine)),
        store.write(replayable(failing)),
        store.write(fine),
        return_exceptions=True,
    )
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], ValueError)
    assert [t for _, t, _ in store.published] == ["ticket.updated", "ticket.updated"]
    logged = await store.events_after(0)
    assert [seq for seq, _ in logged][-2:] == [seq for seq, _, _ in store.published]


async def test_a_snapshot_of_a_row_gone_by_commit_is_not_sent(store):
    store.published.clear()

    def gone(tx):
        conv.emit_thread_snapshot(tx, 987654)
        tx.emit("test.kept", {})
        return True

    assert await store.write(gone) is True
    assert [t for _, t, _ in store.published] == ["test.kept"]
    assert [json.loads(f)["type"] for _, f in await store.events_after(0)] == ["test.kept"]


def sql_message(tx, message_id: int) -> dict:
    row = tx.one(conv.MESSAGE_CREATED.select, {"pairs": json.dumps([[43, message_id]])})
    frame = json.loads(row["payload"])
    assert frame["seq"] == 43 and frame["type"] == "message.created"
    return frame["data"]


async def test_message_json_equals_the_wire_model_for_every_kind(store):
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="first")

    def seed(tx) -> list[int]:
        agent = tx.insert(
            "agents",
            {
                "name": "Bea",
                "role": "agent",
                "token_hash": "x" * 64,
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )
        media = tx.insert(
            "media",
            {
                "external_id": "wa-media-1",
                "direction": "in",
                "mime_type": "image/webp",
                "filename": "sticker.webp",
                "sha256": "ab" * 32,
                "size": 2048,
                "state": "ready",
                "created_at": tx.now_iso,
            },
        )
        bare_media = tx.insert(
            "media",
            {"external_id": "wa-media-2", "direction": "in", "state": "", "created_at": tx.now_iso},
        )

        def add(**kw) -> int:
            return conv.insert_message(tx, thread_id=thread.id, **kw)

        mail_files = [  # an e-mail's files (store/mail.py's file_entry)
            {"id": media, "filename": "sticker.webp", "mime_type": "image/webp",
             "size": 2048, "sha256": "ab" * 32},
            {"id": bare_media, "filename": "b.txt", "mime_type": "text/plain", "size": 3,
             "sha256": None},
        ]  # fmt: skip

        plain = add(direction="in", kind="text", text='Hola \x07 ‮ "quoted" \\ 😊', wamid="w1")
        ids = [
            plain,
            add(
                direction="in",
                kind="quarantined",
                text="my card 4111",
                wamid="w2",
                content={"kind": "text"},
                quarantine_rule="payment_card",
            ),
            add(
                direction="in",
                kind="image",
                caption="look",
                media_id=media,
                wamid="w3",
                content={"animated": True},
                forwarded=True,
            ),
            add(
                direction="in",
                kind="quarantined",
                caption="iban",
                media_id=media,
                wamid="w3q",
                content={"kind": "image"},
            ),
            add(direction="in", kind="document", media_id=bare_media, wamid="w3b"),
            add(
                direction="in",
                kind="location",
                wamid="w4",
                content={"location": {"latitude": 41.3851, "longitude": 2, "name": "Sagrada"}},
            ),
            add(
                direction="in",
                kind="contacts",
                wamid="w5",
                content={
                    "contacts": [
                        {"name": "Luis", "phones": ["+34600000001"], "emails": []},
                        {"name": "Eva", "org": "Acme"},
                    ]
                },
            ),
            add(
                direction="in",
                kind="order",
                wamid="w6",
                content={
                    "order": [
                        {
                            "product_retailer_id": "sku-1",
                            "quantity": 2,
                            "item_price": 9.5,
                            "currency": "EUR",
                        },
                        {"product_retailer_id": "sku-2", "quantity": 1},
                    ]
                },
            ),
            add(
                direction="in",
                kind="text",
                text="replying",
                wamid="w7",
                reply_to_id=plain,
                reply_to_wamid="w1",
            ),
            add(
                direction="in",
                kind="text",
                text="to the unknown",
                wamid="w8",
                reply_to_wamid="wamid.not-here",
            ),
            *(
                add(
                    direction="in",
                    kind=kind,
                    text="The papers",
                    media_id=media,
                    quarantine_rule=rule,
                    content={
                        "email": {
                            "subject": "Papers",
                            "from": "ana@example.com",
                            "to": ["support@acme.test"],
                            "attachments": 2,
                            "files": mail_files,
                        }
                    },
                )  # fmt: skip
                for kind, rule in (("text", None), ("quarantined", "dmarc_fail"))
            ),
            add(
                direction="out",
                kind="template",
                text="Your order shipped",
                author_id=agent,
                status="read",
                wamid="w9",
                content={"template_name": "shipped", "template_language": "en_US"},
            ),
            add(direction="out", kind="text", text="failed", author_id=agent, status="failed"),
            add(
                direction="in", kind="unsupported", wamid="w10", unsupported_reason="poll_creation"
            ),
            add(
                direction="in",
                kind="event",
                text="changed number",
                content={"event": "user_changed_number", "previous": {"wa_id": "1"}},
            ),
            add(direction="out", kind="note", text="internal", author_id=agent),
        ]
        tx.execute(
            "UPDATE messages SET error_code = 131026, error_message = 'Not on WhatsApp', "
            "failed_at = ?, sent_at = ?, delivered_at = ?, read_at = ? WHERE id = ?",
            (
                tx.now_iso,
                "2026-11-01T09:00:00.000000+00:00",
                tx.now_iso,
                "2026-11-01T09:00:01.500000+00:00",
                ids[-4],
            ),
        )
        conv.set_reaction(tx, message_id=plain, by="in", agent_id=None, emoji="👍")
        conv.set_reaction(tx, message_id=plain, by="out", agent_id=agent, emoji="❤️")
        tx.execute("UPDATE messages SET quarantine_revealed = 1 WHERE id = ?", (ids[1],))
        return ids

    ids = await store.write(seed)

    def compare(tx):
        for message_id in ids:
            model = conv.load_message(tx, message_id)
            assert sql_message(tx, message_id) == json.loads(model.model_dump_json()), model.kind
        return True

    assert await store.write(compare)


async def test_the_log_keeps_a_snapshot_as_its_row_and_a_replay_builds_it_anew(store):
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    store.published.clear()
    await store.write(lambda tx: conv.emit_thread_snapshot(tx, thread.id))
    ((seq, _, sent),) = store.published
    assert json.loads(sent)["data"]["last_message_preview"] == "hi"
    (logged,) = await store.readers.all(
        "SELECT type, payload, entity_id FROM events WHERE seq = ?", (seq,)
    )
    assert tuple(logged) == ("thread.updated", "", thread.id)

    await store.write(
        lambda tx: tx.execute(
            "UPDATE threads SET last_message_preview = 'later' WHERE id = ?", (thread.id,)
        )
    )
    (replayed,) = [frame for s, frame in await store.events_after(seq - 1) if s == seq]
    frame = json.loads(replayed)
    assert frame["seq"] == seq and frame["type"] == "thread.updated"
    assert frame["data"]["last_message_preview"] == "later"  # the row as it is now
    assert schemas.Thread.model_validate(frame["data"]) == await store.get_thread(thread.id)


async def test_a_replay_page_of_gone_rows_still_moves_on(store):
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    start = (await store.event_bounds())[1]

    def snapshots(tx):
        for _ in range(3):
            conv.emit_thread_snapshot(tx, thread.id)
        tx.emit("test.after", {"n": 1})
        return True

    await store.write(snapshots)
    # the thread goes away after the events were logged: a replay leaves them out
    await store.write(
        lambda tx: tx.execute("UPDATE events SET entity_id = -1 WHERE seq > ?", (start,))
    )
    page = await store.event_page(start, 3)
    assert page.frames == [] and page.full and page.last_seq == start + 3
    page = await store.event_page(page.last_seq, 3)
    assert [json.loads(f)["type"] for _, f in page.frames] == ["test.after"]
    assert not page.full


async def test_snapshots_logged_by_another_process_are_published_built(store, tmp_path):
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    store.published.clear()
    other = SqliteStore(tmp_path / "t.db")  # an admin command on the same database
    await other.open()
    try:
        await other.write(lambda tx: conv.emit_thread_snapshot(tx, thread.id))
    finally:
        await other.close()
    await store.write(lambda tx: tx.emit("test.next", {}))
    types = [t for _, t, _ in store.published]
    assert types == ["thread.updated", "test.next"]
    frame = json.loads(store.published[0][2])
    assert frame["data"]["id"] == thread.id and frame["seq"] == store.published[0][0]


def tricky_texts() -> list[str | None]:
    """Texts whose JSON string needs every kind of escape, and random ones."""
    chosen = random.Random(14)
    planes = [(0, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]

    def any_text() -> str:
        return "".join(
            chr(chosen.randint(*chosen.choice(planes))) for _ in range(chosen.randint(0, 40))
        )

    return [
        "".join(map(chr, range(128))),
        'She said "hi" \\ then \\u0041 left',
        "line\nbreak\ttab\r\b\f\x00\x0b\x1f\x7f",
        "👍🏽 emoji, ‮ reversed, \u2028 \u2029 \ufeff, 日本語",
        "",
        None,
        *(any_text() for _ in range(60)),
    ]


def added_record(index: int, text: str | None) -> inbound.InboundRecord:
    kinds = [
        {"kind": "text"},
        {"kind": "unsupported", "unsupported_reason": 'type "x"\n'},
        {"kind": "quarantined", "quarantine_rule": "card\\number"},
    ]
    return inbound.InboundRecord(
        wamid=None if index % 7 == 3 else f'wamid."{index}\\',
        phone_number_id="PNID1",
        at=BASE_TIME + timedelta(minutes=index, microseconds=0 if index % 2 else 250_000),
        sender=Sender(wa_id=None if index % 5 == 4 else f"3461000{index:04d}", user_id=None),
        text=text,
        forwarded=index % 3 == 1,
        **kinds[index % len(kinds)],
    )


async def test_an_added_message_frame_is_the_one_sqlite_builds(store):
    """The common case's message.created frame is made from what the job inserted, not
    read back (``conv.added_message_json``): it is the text SQLite builds from the row,
    byte for byte (a replay builds it from the row), and the wire model's JSON."""
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    found = conv.InboundThread(thread.id, thread.ticket.id, False, None, "waiting_on_us")
    store.published.clear()
    records = [added_record(index, text) for index, text in enumerate(tricky_texts())]

    def add(record):
        def job(tx):
            business_number = None if record.wamid is None else "+15550001111"
            return inbound._add_to_thread(tx, record, found, business_number).message_id

        return job

    # many at once: several held frames in one batch
    ids = await asyncio.gather(*(store.write(replayable(add(record))) for record in records))
    sent = {seq: frame for seq, kind, frame in store.published if kind == "message.created"}
    assert len(sent) == len(records)
    replayed = dict(await store.events_after(0))
    for seq, frame in sent.items():
        assert frame == replayed[seq]
    models = await store.write(lambda tx: [conv.load_message(tx, i) for i in ids])
    for frame, model in zip(sent.values(), models, strict=True):
        assert json.loads(frame)["data"] == json.loads(model.model_dump_json())
    assert {model.kind for model in models} == {"text", "unsupported", "quarantined"}


async def test_an_added_message_changed_again_in_its_batch_is_read_back(store):
    """A message another job of the batch snapshots again is built from its row as the
    batch leaves it, for both its frames (what was sent is what a replay sends)."""
    thread = await seed_thread(store, name="Ana", phone="+34610000001", text="hi")
    found = conv.InboundThread(thread.id, thread.ticket.id, False, None, "waiting_on_us")
    store.published.clear()

    def add_then_read(tx):
        added = inbound._add_to_thread(tx, added_record(0, "read at once"), found, None)
        tx.execute("UPDATE messages SET status = 'read' WHERE id = ?", (added.message_id,))
        conv.emit_message_snapshot(tx, added.message_id, created=False)
        return True

    await store.write(add_then_read)
    frames = {t: (seq, f) for seq, t, f in store.published if t.startswith("message.")}
    replayed = dict(await store.events_after(0))
    for seq, frame in frames.values():
        assert json.loads(frame)["data"]["status"] == "read"
        assert frame == replayed[seq]


def tricky_mail(index: int, text: str | None) -> EmailRecord:
    words = text or ""
    auths = [
        None,
        {},
        {"spf": "pass", "dkim": None, "dmarc": f'fail "{words[:5]}"'},
        {"spf": "none"},
        {"spf": 1},  # not text: read back from the row
    ]
    return EmailRecord(
        message_id=f"<tricky-{index}@example.com>",
        mailbox="support@acme.test",
        sender=f"{words[:8]}{index}@example.com",
        subject=words[::-1],
        text=words,
        full_text=words + "\n> quoted",
        at=BASE_TIME + timedelta(minutes=index, microseconds=0 if index % 2 else 250_000),
        to=("support@acme.test", *([words[:12]] if index % 2 else [])),
        cc=tuple(words.split(" ")[:3]) if index % 3 else (),
        auth=auths[index % len(auths)],  # type: ignore[arg-type]
        quarantine_rule="dmarc_fail" if index % 4 == 3 else None,
        left_out=(f"big {words[:6]}.pdf",) if index % 5 == 1 else (),
    )


async def test_an_added_mail_frame_is_the_one_sqlite_builds(store):
    """A received mail's message.created (no file) is made from what the job inserted:
    byte for byte what SQLite builds from the row, and the wire model's JSON."""
    await store.add_mailbox("support@acme.test", "Acme Support")
    store.published.clear()
    mails = [tricky_mail(index, text) for index, text in enumerate(tricky_texts())]
    results = await asyncio.gather(*(store.ingest_email(mail) for mail in mails))
    sent = {seq: frame for seq, kind, frame in store.published if kind == "message.created"}
    assert len(sent) == len(mails)
    replayed = dict(await store.events_after(0))
    for seq, frame in sent.items():
        assert frame == replayed[seq]
    # Only the frame is compared for a verdict that is not text (no wire model) and for
    # a NUL in a header (both read back: SQLite's ->> ends a text at a NUL, the model not)
    modelled = [
        (frame, result.message_id)
        for frame, result, mail in zip(sent.values(), results, mails, strict=True)
        if mail.auth != {"spf": 1} and "\0" not in mail.sender + mail.subject
    ]
    ids = [message_id for _, message_id in modelled]
    models = await store.write(lambda tx: [conv.load_message(tx, i) for i in ids])
    for (frame, _), model in zip(modelled, models, strict=True):
        assert json.loads(frame)["data"] == json.loads(model.model_dump_json())
    assert {model.kind for model in models} == {"text", "quarantined"}
    assert {model.channel_type for model in models} == {"EMAIL"}
