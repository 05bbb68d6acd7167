"""Full-text search: messages, contacts (names and numbers), subjects; filters; pages."""

from __future__ import annotations

from datetime import timedelta

from tests.backend.seed import BASE_TIME, seed_thread


async def test_search_finds_messages_contacts_and_subjects(live_backend):
    store = live_backend.store
    ann = await seed_thread(store, name="Ann Lee", phone="+34611111111", text="Parcel missing")
    await seed_thread(store, name="Ann Lee", phone="+34611111111", text="Still no parcel, help")
    bob = await seed_thread(store, name="Bob Parcelson", phone="+34622222222", text="Hi")
    async with live_backend.client(live_backend.agent_token) as client:
        hits = (await client.get("/api/v1/search", params={"q": "parcel"})).json()["items"]
        assert [(h["matched"], h["thread"]["id"]) for h in hits] == [
            ("contact", bob.id),
            ("subject", ann.id),
            ("message", ann.id),
            ("message", ann.id),
        ]
        assert hits[2]["snippet"] == "Still no parcel, help"
        assert hits[2]["message_id"] > hits[3]["message_id"]
        by_number = (await client.get("/api/v1/search", params={"q": "+34 611 111"})).json()[
            "items"
        ]
        assert [h["thread"]["id"] for h in by_number] == [ann.id]
        by_plus = (await client.get("/api/v1/search", params={"q": "+34611111111"})).json()
        assert by_plus["items"][0]["matched"] == "contact"
        filtered = await client.get("/api/v1/search", params={"q": "parcel", "status": "closed"})
        assert filtered.json()["items"] == []
        hostile = await client.get("/api/v1/search", params={"q": 'parcel" OR NEAR(*'})
        assert hostile.status_code == 200
        assert (await client.get("/api/v1/search")).status_code == 422
        listed = (await client.get("/api/v1/threads", params={"q": "missing"})).json()["items"]
        assert [t["id"] for t in listed] == [ann.id]
        listed = (await client.get("/api/v1/threads", params={"q": "bob"})).json()["items"]
        assert [t["id"] for t in listed] == [bob.id]


async def test_search_pages_across_stages(live_backend):
    store = live_backend.store
    for i in range(5):
        await seed_thread(
            store,
            name=f"Zed {i}",
            phone=f"+3465000000{i}",
            text=f"blue widget {i}",
            at=BASE_TIME + timedelta(minutes=i),
        )
    seen = []
    cursor = None
    async with live_backend.client(live_backend.agent_token) as client:
        for _ in range(10):
            params = {"q": "widget", "limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/search", params=params)).json()
            seen += [(h["matched"], h["thread"]["id"], h["message_id"]) for h in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    assert len(seen) == len(set(seen)) == 10  # 5 subjects, then 5 messages
    assert [kind for kind, _, _ in seen] == ["subject"] * 5 + ["message"] * 5


async def test_a_message_hit_shows_the_words_around_the_match(live_backend):
    """The snippet is FTS5's: twelve words around the match, ``…`` where text is left
    out, an accent-blind match shown as written (PostgreSQL cuts it the same way)."""
    store = live_backend.store
    await seed_thread(
        store,
        name="Ann Lee",
        phone="+34611111111",
        text="Hello, I ordered a lamp last week and it arrived today, but the box was open "
        "and the cable inside is missing, so I would like a refund or a new cable please. "
        "Thank you for your help with this, Ann",
    )
    await seed_thread(
        store,
        name="Eva Ruiz",
        phone="+34622222222",
        text="Mi pedido llegó roto y el café se derramó por toda la caja; quiero que me "
        "devuelvan el dinero cuanto antes porque era un regalo para mi madre",
    )
    expected = {
        "refund": "…so I would like a refund or a new cable please. Thank…",
        "new cab": "…like a refund or a new cable please. Thank you for your…",
        "cafe": "Mi pedido llegó roto y el café se derramó por toda la…",
        "devuelv": "…la caja; quiero que me devuelvan el dinero cuanto antes porque era…",
    }
    async with live_backend.client(live_backend.agent_token) as client:
        for q, snippet in expected.items():
            hits = (await client.get("/api/v1/search", params={"q": q})).json()["items"]
            messages = [h["snippet"] for h in hits if h["matched"] == "message"]
            assert messages == [snippet], q
