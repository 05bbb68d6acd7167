"""``GET /threads?sort=``: newest activity (default), longest waiting, session expiring first;
keyset pages (``cursor``) and offset pages stay in the sort's order without gaps or repeats."""

from __future__ import annotations

from datetime import timedelta

from backend.store.engine import iso
from tests.backend.seed import seed_threads


async def _all_pages(client, sort: str, limit: int) -> list[int]:  # noqa: ANN001
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        params = {"limit": limit, "sort": sort, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/threads", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [thread["id"] for thread in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("no last page")


async def test_longest_waiting_first_then_the_answered(live_backend):
    ids = await seed_threads(live_backend.store, 6)  # one minute apart, oldest first
    answered = {ids[1], ids[4]}

    def reply(tx):  # noqa: ANN001, ANN202
        for thread_id in answered:
            tx.execute(
                "UPDATE threads SET last_message_direction = 'out' WHERE id = ?", (thread_id,)
            )

    await live_backend.store.write(reply)
    expected = [ids[0], ids[2], ids[3], ids[5], ids[1], ids[4]]
    async with live_backend.client(live_backend.agent_token) as client:
        assert await _all_pages(client, "waiting", 2) == expected
        assert await _all_pages(client, "waiting", 4) == expected
        page = (
            await client.get(
                "/api/v1/threads",
                params={"sort": "waiting", "offset": 3, "limit": 2, "with_total": "true"},
            )
        ).json()
        assert [t["id"] for t in page["items"]] == expected[3:5] and page["total"] == 6
        newest = await _all_pages(client, "recent", 4)
    assert newest == list(reversed(ids))


async def test_session_expiring_first_then_the_expired(live_backend):
    ids = await seed_threads(live_backend.store, 6)
    now = live_backend.store.now()
    hours = [5, -1, 1, None, 10, -3]

    def expire(tx):  # noqa: ANN001, ANN202
        for thread_id, h in zip(ids, hours, strict=True):
            at = None if h is None else iso(now + timedelta(hours=h))
            tx.execute("UPDATE threads SET session_expires_at = ? WHERE id = ?", (at, thread_id))

    await live_backend.store.write(expire)
    expected = [ids[2], ids[0], ids[4], ids[5], ids[1], ids[3]]
    async with live_backend.client(live_backend.agent_token) as client:
        assert await _all_pages(client, "expiring", 2) == expected
        assert await _all_pages(client, "expiring", 5) == expected


async def test_an_unknown_sort_or_a_cursor_of_another_sort_is_refused(live_backend):
    await seed_threads(live_backend.store, 3)
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.get("/api/v1/threads", params={"sort": "random"})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "sort"
        page = (await client.get("/api/v1/threads", params={"sort": "waiting", "limit": 1})).json()
        response = await client.get(
            "/api/v1/threads", params={"sort": "expiring", "cursor": page["next_cursor"]}
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "cursor"
