"""Migrations that move data keep it: a database at an older version comes out whole."""

from __future__ import annotations

import sqlite3
from importlib import resources

from backend.store.engine import _statements, migrate
from backend.store.sqlite import SqliteStore

AT = "2026-11-02T09:00:00.000000+00:00"


def migrated_to(conn: sqlite3.Connection, last: int) -> None:
    """Apply migrations 1..last by hand, as an older ttydesk left the file."""
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY)")
    folder = resources.files("backend.store") / "migrations"
    for script in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not script.name.endswith(".sql"):
            continue
        number = int(script.name.split("_", 1)[0])
        if number > last:
            continue
        for statement in _statements(script.read_text(encoding="utf-8")):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations (version) VALUES (?)", (number,))


async def test_0007_moves_the_tickets_inbound_activity_to_its_thread(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrated_to(conn, 6)
    conn.execute(
        "INSERT INTO contacts (id, first_name, created_at, updated_at) VALUES (1, 'Ana', ?, ?)",
        (AT, AT),
    )
    conn.execute(
        "INSERT INTO tickets (id, subject, contact_id, thread_id, first_inbound_at, "
        "last_inbound_at, session_expires_at, inbound_count, created_at, updated_at) "
        "VALUES (1, 'Order', 1, 1, ?, '2026-11-02T10:00:00.000000+00:00', "
        "'2026-11-03T10:00:00.000000+00:00', 3, ?, '2026-11-02T11:00:00.000000+00:00')",
        (AT, AT),
    )
    conn.execute(
        "INSERT INTO threads (id, contact_id, ticket_id, session_expires_at, created_at) "
        "VALUES (1, 1, 1, '2026-11-03T10:00:00.000000+00:00', ?)",
        (AT,),
    )
    assert migrate(conn) >= 7
    columns = {row[1] for row in conn.execute("PRAGMA table_info(tickets)")}
    assert not columns & {"inbound_count", "first_inbound_at", "last_inbound_at"}
    assert "session_expires_at" not in columns
    conn.close()

    store = SqliteStore(path)
    await store.open()
    try:
        ticket = await store.get_ticket(1)
    finally:
        await store.close()
    assert ticket.inbound_count == 3
    assert ticket.first_inbound_at.isoformat(timespec="microseconds") == AT
    assert ticket.last_inbound_at.hour == 10
    assert ticket.session_expires_at.day == 3
    assert ticket.updated_at.hour == 11  # its own: no inbound message stored since


UNKNOWN_RANGE = "447700900555"  # a number the phone library refuses: one contact per message
T = [f"2026-11-02T0{hour}:00:00.000000+00:00" for hour in range(10)]


def version_7_with_duplicates(conn: sqlite3.Connection) -> None:
    """What the bug left: one customer as three contacts (two share the wa_id, the second
    and third the BSUID; the third has the newer number), each with their own ticket."""
    migrated_to(conn, 7)
    conn.executemany(
        "INSERT INTO contacts (id, first_name, email, wa_id, wa_user_id, properties, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "Tom", None, UNKNOWN_RANGE, None, "{}", T[1], T[1]),
            (2, "Tom", "tom@example.com", UNKNOWN_RANGE, "GB.555", '{"vip": true}', T[2], T[2]),
            (3, None, None, "447700900777", "GB.555", "{}", T[3], T[4]),
            (4, "Ana", None, "34612345678", "ES.1", "{}", T[1], T[1]),
        ],
    )
    # ticket/thread n: (contact, number, status, inbound messages at)
    conversations = {
        1: (1, "P1", "waiting_on_us", [T[1], T[3]]),
        2: (2, "P1", "new", [T[2]]),
        3: (3, "P1", "closed", [T[0]]),
        4: (3, "P2", "new", [T[4]]),
        5: (4, "P1", "new", [T[2]]),
        6: (3, "P1", "waiting_on_contact", [T[5]]),
    }
    message_id = 0
    for n, (contact, number, status, times) in conversations.items():
        conn.execute(
            "INSERT INTO tickets (id, subject, status, contact_id, thread_id, contact_wa_id, "
            "outbound_count, created_at, updated_at, closed_at) "
            "VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?)",
            (n, f"ticket {n}", status, contact, n, n, T[n % 4], T[n % 4],
             T[6] if status == "closed" else None),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO threads (id, phone_number_id, contact_id, ticket_id, status, "
            "last_message_at, last_message_preview, last_message_direction, unread_count, "
            "inbound_count, first_inbound_at, last_inbound_at, session_expires_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'in', ?, ?, ?, ?, ?, ?)",
            (n, number, contact, n, status, times[-1], f"said at {times[-1][11:13]}",
             len(times), len(times), times[0], times[-1], times[-1].replace("-02T", "-03T"),
             T[n % 4]),
        )  # fmt: skip
        conn.execute(
            "INSERT INTO associations (contact_id, object_type, object_id) VALUES (?, 'ticket', ?)",
            (contact, n),
        )
        for at in times:
            message_id += 1
            conn.execute(
                "INSERT INTO messages (id, thread_id, direction, kind, text, wamid, created_at) "
                "VALUES (?, ?, 'in', 'text', ?, ?, ?)",
                (message_id, n, f"said at {at[11:13]}", f"wamid.{message_id}", at),
            )
    conn.executemany(
        "INSERT INTO associations (contact_id, object_type, object_id) VALUES (?, 'company', 7)",
        [(1,), (2,)],
    )


async def test_0008_merges_the_contacts_and_open_tickets_of_one_customer(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    version_7_with_duplicates(conn)
    assert migrate(conn) >= 8

    def table(sql: str) -> list[dict]:
        return [dict(row) for row in conn.execute(sql)]

    # nothing is deleted: the duplicates stay, without the identity, pointing at the first
    assert table(
        "SELECT id, first_name, email, wa_id, wa_user_id, json_extract(properties, "
        "'$.merged_into') AS merged_into, json_extract(properties, '$.vip') AS vip "
        "FROM contacts ORDER BY id"
    ) == [
        # the oldest survives, with the newest identity and what it lacked from the others
        {"id": 1, "first_name": "Tom", "email": "tom@example.com", "wa_id": "447700900777",
         "wa_user_id": "GB.555", "merged_into": None, "vip": None},
        {"id": 2, "first_name": "Tom", "email": "tom@example.com", "wa_id": None,
         "wa_user_id": None, "merged_into": 1, "vip": 1},
        {"id": 3, "first_name": None, "email": None, "wa_id": None, "wa_user_id": None,
         "merged_into": 1, "vip": None},
        {"id": 4, "first_name": "Ana", "email": None, "wa_id": "34612345678",
         "wa_user_id": "ES.1", "merged_into": None, "vip": None},
    ]  # fmt: skip
    # the old number still finds the customer (a message from it delivered late)
    assert table("SELECT value, contact_id FROM contact_former_ids") == [
        {"value": UNKNOWN_RANGE, "contact_id": 1}
    ]
    # every ticket is the customer's; the open ones on P1 are one: the oldest (1)
    assert table("SELECT id, contact_id, status FROM tickets ORDER BY id") == [
        {"id": 1, "contact_id": 1, "status": "waiting_on_us"},
        {"id": 2, "contact_id": 1, "status": "closed"},
        {"id": 3, "contact_id": 1, "status": "closed"},  # closed before: as it was
        {"id": 4, "contact_id": 1, "status": "new"},  # the only open one on P2
        {"id": 5, "contact_id": 4, "status": "new"},
        {"id": 6, "contact_id": 1, "status": "closed"},
    ]
    assert table("SELECT thread_id, text FROM messages ORDER BY created_at, id") == [
        {"thread_id": 3, "text": "said at 00"},
        {"thread_id": 1, "text": "said at 01"},
        {"thread_id": 1, "text": "said at 02"},
        {"thread_id": 5, "text": "said at 02"},
        {"thread_id": 1, "text": "said at 03"},
        {"thread_id": 4, "text": "said at 04"},
        {"thread_id": 1, "text": "said at 05"},
    ]
    assert table(
        "SELECT id, contact_id, inbound_count, unread_count, first_inbound_at, "
        "last_message_at, last_message_preview FROM threads WHERE id IN (1, 2, 6) ORDER BY id"
    ) == [
        {"id": 1, "contact_id": 1, "inbound_count": 4, "unread_count": 4,
         "first_inbound_at": T[1], "last_message_at": T[5], "last_message_preview": "said at 05"},
        {"id": 2, "contact_id": 1, "inbound_count": 0, "unread_count": 0,
         "first_inbound_at": None, "last_message_at": None, "last_message_preview": None},
        {"id": 6, "contact_id": 1, "inbound_count": 0, "unread_count": 0,
         "first_inbound_at": None, "last_message_at": None, "last_message_preview": None},
    ]  # fmt: skip
    assert table(
        "SELECT object_type, object_id FROM associations WHERE contact_id = 1 "
        "ORDER BY object_type, object_id"
    ) == [{"object_type": "company", "object_id": 7}] + [
        {"object_type": "ticket", "object_id": n} for n in (1, 2, 3, 4, 6)
    ]
    assert table("SELECT contact_id FROM associations WHERE contact_id IN (2, 3)") == []
    assert table(
        "SELECT ticket_id, action, old, new FROM ticket_timeline ORDER BY ticket_id, id"
    ) == [
        {"ticket_id": 1, "action": "merged", "old": "2", "new": "1"},
        {"ticket_id": 1, "action": "merged", "old": "6", "new": "1"},
        {"ticket_id": 2, "action": "merged", "old": "2", "new": "1"},
        {"ticket_id": 2, "action": "status_changed", "old": "new", "new": "closed"},
        {"ticket_id": 6, "action": "merged", "old": "6", "new": "1"},
        {"ticket_id": 6, "action": "status_changed", "old": "waiting_on_contact", "new": "closed"},
    ]
    assert not table("SELECT name FROM sqlite_temp_master")
    conn.close()

    store = SqliteStore(path)
    await store.open()
    try:
        page = await store.list_messages(1)
        ticket = await store.get_ticket(1)
        contact = await store.get_contact(1)
    finally:
        await store.close()
    assert [m.text for m in page.items] == ["said at 05", "said at 03", "said at 02", "said at 01"]
    assert (ticket.inbound_count, ticket.outbound_count) == (4, 1 + 2 + 6)
    assert ticket.contact_wa_id == "447700900777"
    assert contact.wa_id == "447700900777"


async def test_0008_leaves_a_database_without_duplicates_as_it_was(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrated_to(conn, 7)
    conn.executemany(
        "INSERT INTO contacts (id, wa_id, wa_user_id, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [(1, "34612345678", "ES.1", T[1], T[1]), (2, None, None, T[1], T[1]),
         (3, None, None, T[2], T[2]), (4, "", "", T[1], T[1]), (5, "", "", T[1], T[1])],
    )  # fmt: skip
    before = conn.execute("SELECT * FROM contacts ORDER BY id").fetchall()
    assert migrate(conn) >= 8
    assert (
        conn.execute(
            "SELECT id, first_name, last_name, email, phone, mobile_phone, country, wa_user_id, "
            "wa_parent_user_id, wa_id, wa_username, owner_id, properties, created_at, updated_at "
            "FROM contacts ORDER BY id"
        ).fetchall()
        == before
    )
    assert conn.execute("SELECT COUNT(*) FROM contact_former_ids").fetchone()[0] == 0


async def test_after_0008_the_customer_writes_into_the_surviving_conversation(tmp_path):
    """The split customer's next messages (from the number the phone library refuses, with
    and without the BSUID, and one sent from the old number before it was replaced and
    delivered only now) go to the one open ticket left on the business number."""
    from datetime import UTC, datetime

    from backend.domain.clock import FixedClock
    from tests.support import LiveBackend
    from tests.whatsapp import payloads as p
    from tests.whatsapp.conftest import connect_number, signed_post

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / "ttydesk.db", isolation_level=None)
    version_7_with_duplicates(conn)
    conn.close()
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    sent_before_the_change = datetime.fromisoformat(T[2])
    backend = LiveBackend(data_dir=data_dir, clock=FixedClock(now))
    await backend.start()
    try:
        await connect_number(backend, phone_number_id="P1", connected_at=datetime(2026, 11, 1))
        async with backend.client() as meta:
            for n, (wa_id, user_id, at) in enumerate(
                (
                    ("447700900777", None, now),
                    ("447700900777", "GB.555", now),
                    (UNKNOWN_RANGE, None, sent_before_the_change),
                )
            ):
                message = p.text(f"again {n}", at=at, from_=wa_id, user_id=user_id)
                contact = p.contact(wa_id=wa_id, user_id=user_id)
                envelope = p.messages_envelope(message, contacts=[contact], phone_number_id="P1")
                response = await signed_post(meta, envelope)
                assert response.status_code == 200, response.text
        found = [
            dict(row)
            for row in await backend.store.readers.all(
                "SELECT m.text, m.thread_id, th.contact_id FROM messages m "
                "JOIN threads th ON th.id = m.thread_id WHERE m.text LIKE 'again %' ORDER BY m.id"
            )
        ]
        contacts = await backend.store.readers.one("SELECT COUNT(*) FROM contacts")
    finally:
        await backend.stop()
    assert found == [{"text": f"again {n}", "thread_id": 1, "contact_id": 1} for n in range(3)]
    assert contacts[0] == 4  # no new contact


async def test_after_0008_a_merged_duplicate_is_no_longer_a_contact_of_its_own(tmp_path):
    """The duplicates 0008 merged keep their rows (nothing is deleted) but are not listed or
    found as contacts any more: the list and search show the survivor, the duplicate's id
    opens the survivor, and a number on both no longer matches the duplicate."""
    from datetime import UTC, datetime

    from backend.domain.clock import FixedClock
    from tests.support import LiveBackend
    from tests.whatsapp import payloads as p
    from tests.whatsapp.conftest import connect_number, signed_post

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / "ttydesk.db", isolation_level=None)
    version_7_with_duplicates(conn)
    conn.close()
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    backend = LiveBackend(data_dir=data_dir, clock=FixedClock(now))
    await backend.start()
    try:
        await backend.seed_agents()
        # the same number on the survivor and, more recently updated, on a duplicate
        await backend.store.write(
            lambda tx: tx.execute(
                "UPDATE contacts SET phone = '+34612000111', updated_at = CASE id "
                "WHEN 2 THEN '2026-11-20T00:00:00.000000+00:00' ELSE updated_at END "
                "WHERE id IN (1, 2)"
            )
        )
        async with backend.client(backend.admin_token) as api:
            listed = (await api.get("/api/v1/contacts")).json()["items"]
            found = (await api.get("/api/v1/contacts", params={"q": "Tom"})).json()["items"]
            opened = (await api.get("/api/v1/contacts/2")).json()
            changed = await api.patch("/api/v1/contacts/3", json={"last_name": "Jones"})
        await connect_number(backend, phone_number_id="P1", connected_at=datetime(2026, 11, 1))
        async with backend.client() as meta:
            message = p.text("hello from my other phone", at=now, from_="34612000111", user_id=None)
            contact = p.contact(wa_id="34612000111", user_id=None)
            envelope = p.messages_envelope(message, contacts=[contact], phone_number_id="P1")
            assert (await signed_post(meta, envelope)).status_code == 200
        row = await backend.store.readers.one(
            "SELECT th.contact_id, t.needs_review FROM messages m "
            "JOIN threads th ON th.id = m.thread_id JOIN tickets t ON t.id = th.ticket_id "
            "WHERE m.text = 'hello from my other phone'"
        )
        kept = await backend.store.readers.one("SELECT COUNT(*) FROM contacts")
    finally:
        await backend.stop()
    assert [c["id"] for c in listed] == [4, 1]
    assert [c["id"] for c in found] == [1]
    assert opened["id"] == 1 and opened["email"] == "tom@example.com"
    assert changed.status_code == 200 and changed.json()["id"] == 1
    assert changed.json()["last_name"] == "Jones"
    assert (row["contact_id"], row["needs_review"]) == (1, 0)
    assert kept[0] == 4  # nothing deleted


def test_0026_counts_each_agents_open_tickets_into_their_row(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrated_to(conn, 25)
    for agent_id in (1, 2, 3):
        conn.execute(
            "INSERT INTO agents (id, name, token_hash, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (agent_id, f"Agent {agent_id}", f"hash{agent_id}", AT, AT),
        )
    owners_and_statuses = [
        (1, "new"),
        (1, "waiting_on_us"),
        (1, "closed"),
        (2, "waiting_on_contact"),
        (2, "closed"),
        (None, "new"),
    ]
    for ticket_id, (owner_id, status) in enumerate(owners_and_statuses, start=1):
        conn.execute(
            "INSERT INTO tickets (id, subject, status, owner_id, created_at, updated_at) "
            "VALUES (?, 'Order', ?, ?, ?, ?)",
            (ticket_id, status, owner_id, AT, AT),
        )
    assert migrate(conn) >= 26
    loads = conn.execute("SELECT id, open_tickets FROM agents ORDER BY id").fetchall()
    assert loads == [(1, 2), (2, 1), (3, 0)]
    conn.close()
