"""View counts from the live-counts cache: served without recounting, right after changes,
per agent where a view depends on who asks; deep offset pages pick the same threads."""

from __future__ import annotations

from backend.store import conversations as conv
from tests.backend.seed import seed_thread, seed_threads


def spy_counts(store, monkeypatch) -> list[str]:
    """Record each COUNT the store runs (by the filter it counts)."""
    calls: list[str] = []
    original = type(store).count_threads

    async def counting(self, where, **kwargs):
        calls.append(where.where())
        return await original(self, where, **kwargs)

    monkeypatch.setattr(type(store), "count_threads", counting)
    return calls


async def uncached(store, agent) -> dict:
    """What the counts are, straight from the database."""
    rows = await store._visible_view_rows(agent)
    return (await store._count_views(agent, rows)).model_dump(mode="json")


async def test_counts_come_from_the_cache_until_a_change(live_backend, monkeypatch):
    store = live_backend.store
    ids = await seed_threads(store, 3)
    calls = spy_counts(store, monkeypatch)
    async with live_backend.client(live_backend.agent_token) as client:
        first = (await client.get("/api/v1/views/counts")).json()
        assert first["counts"]["builtin:all_open"] == 3
        assert first == await uncached(store, live_backend.agent)
        calls.clear()
        # nothing changed: both endpoints and the list's total answer without a COUNT
        again = (await client.get("/api/v1/views/counts")).json()
        views = (await client.get("/api/v1/views")).json()["items"]
        page = (
            await client.get(
                "/api/v1/threads", params={"view": "builtin:all_open", "with_total": "true"}
            )
        ).json()
        assert calls == []
        assert again == first
        assert {v["id"]: v["count"] for v in views}["builtin:all_open"] == 3
        assert page["total"] == 3

        # a change: the next answer is recounted and reflects it, at once
        def close_and_assign(tx):
            ticket_ids = [row[0] for row in tx.all("SELECT ticket_id FROM threads ORDER BY id")]
            conv.set_ticket_status(tx, ticket_ids[0], "closed", None)
            for ticket_id in ticket_ids[1:]:
                conv.set_ticket_owner(tx, ticket_id, None, None)
            conv.set_ticket_owner(tx, ticket_ids[1], live_backend.agent.id, None)

        await store.write(close_and_assign)
        after = (await client.get("/api/v1/views/counts")).json()
        assert calls != []
        assert after["counts"]["builtin:all_open"] == 2
        assert after["counts"]["builtin:closed"] == 1
        assert after["counts"]["builtin:mine"] == 1
        assert after["mine"][str(live_backend.agent.id)] == 1
        assert after == await uncached(store, live_backend.agent)
        page = (
            await client.get(
                "/api/v1/threads", params={"view": "builtin:mine", "with_total": "true"}
            )
        ).json()
        assert page["total"] == 1
        assert [t["id"] for t in page["items"]] == [ids[1]]
        # and it is cached again
        calls.clear()
        assert (await client.get("/api/v1/views/counts")).json() == after
        assert calls == []


async def test_writes_that_change_nothing_leave_the_counts_cached(live_backend, monkeypatch):
    """The outbox settles and claims through the writer every second, nearly always finding
    nothing to do: those rounds made every GET /views (and every list's first page) recount
    every view, some 70 ms each on 100k threads, while the inbox waited for its first frame."""
    store = live_backend.store
    await seed_threads(store, 2)
    calls = spy_counts(store, monkeypatch)
    async with live_backend.client(live_backend.agent_token) as client:
        first = (await client.get("/api/v1/views/counts")).json()
        calls.clear()
        now = store.now()
        assert await store.resolve_ambiguous(now, "no status came") == []
        assert await store.claim_outbox(now, 4) == []
        assert (await client.get("/api/v1/views/counts")).json() == first
        assert calls == []


async def test_concurrent_requests_share_one_recount(live_backend, monkeypatch):
    import asyncio

    store = live_backend.store
    await seed_threads(store, 2)
    calls = spy_counts(store, monkeypatch)
    async with live_backend.client(live_backend.agent_token) as client:
        await store.write(lambda tx: conv.set_ticket_status(tx, 1, "closed", None))
        calls.clear()
        answers = await asyncio.gather(
            client.get("/api/v1/views"),
            client.get("/api/v1/views/counts"),
            client.get("/api/v1/views/counts"),
        )
    assert all(response.status_code == 200 for response in answers)
    assert answers[1].json()["counts"]["builtin:all_open"] == 1
    # one recount of the four shared built-ins (+ one per custom view: none here)
    assert len(calls) == 4


async def test_a_shared_view_on_me_counts_for_whoever_asks(live_backend):
    store = live_backend.store
    ann = await seed_thread(store, name="Ann Lee", phone="+34611111111", text="Hi")
    bob, ada = live_backend.agent.id, live_backend.admin.id
    await store.write(lambda tx: conv.set_ticket_owner(tx, ann.ticket.id, ada, None))
    filters = [{"property": "owner", "operator": "is_any_of", "values": ["me"]}]
    async with live_backend.client(live_backend.admin_token) as client:
        made = await client.post(
            "/api/v1/views", json={"name": "Mine too", "sharing": "everyone", "filters": filters}
        )
        view_id = made.json()["id"]
        assert (await client.get("/api/v1/views/counts")).json()["counts"][view_id] == 1
    async with live_backend.client(live_backend.agent_token) as client:
        counts = (await client.get("/api/v1/views/counts")).json()["counts"]
        page = (
            await client.get("/api/v1/threads", params={"view": view_id, "with_total": "true"})
        ).json()
        views = {v["id"]: v for v in (await client.get("/api/v1/views")).json()["items"]}
    assert bob != ada
    assert counts[view_id] == 0  # Bob's own, not Ada's cached one
    assert page["total"] == 0 and page["items"] == []
    assert views[view_id]["count"] == 0


async def test_a_new_view_is_counted_at_once(live_backend):
    await seed_threads(live_backend.store, 2)
    filters = [{"property": "status", "operator": "is_any_of", "values": ["new"]}]
    async with live_backend.client(live_backend.agent_token) as client:
        await client.get("/api/v1/views/counts")
        made = await client.post("/api/v1/views", json={"name": "New", "filters": filters})
        counts = (await client.get("/api/v1/views/counts")).json()["counts"]
    assert counts[made.json()["id"]] == 2


async def test_offset_pages_match_keyset_pages_under_a_view(live_backend):
    store = live_backend.store
    ids = await seed_threads(store, 30)

    def arrange(tx):
        for thread_id in ids[::3]:
            ticket_id = tx.one("SELECT ticket_id FROM threads WHERE id = ?", (thread_id,))[0]
            conv.set_ticket_status(tx, ticket_id, "closed", None)

    await store.write(arrange)
    open_newest_first = [i for i in reversed(ids) if i not in ids[::3]]
    async with live_backend.client(live_backend.agent_token) as client:
        for offset in (0, 7, 18, 19, 25):
            page = (
                await client.get(
                    "/api/v1/threads",
                    params={"view": "builtin:all_open", "offset": offset, "limit": 5},
                )
            ).json()
            assert [t["id"] for t in page["items"]] == open_newest_first[offset : offset + 5]
            assert all(t["contact"]["id"] and t["ticket"]["id"] for t in page["items"])


async def test_nothing_is_counted_while_no_client_is_connected(live_backend, monkeypatch):
    """The pushed counts are for clients: with none connected a write only marks them
    stale (a demo left without a terminal recounted every view every second); the first
    client to connect is pushed the counts as they are, at once."""
    import asyncio

    from backend.keys import HUB
    from tests.backend.wsclient import LiveClient

    store, hub = live_backend.store, live_backend.app[HUB]
    await seed_threads(store, 3)
    async with asyncio.timeout(10):
        while not hub.waited_for:  # the counter waits for a client
            await asyncio.sleep(0.01)
    calls = spy_counts(store, monkeypatch)
    async with live_backend.client(live_backend.admin_token) as client:
        for ticket_id, change in (
            (1, {"status": "closed"}),
            (2, {"status": "closed"}),
            (3, {"owner_id": live_backend.agent.id}),
        ):
            response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=change)
            assert response.status_code == 200, response.text
    assert hub.waited_for
    assert calls == []
    async with LiveClient.connect(live_backend, live_backend.agent_token) as live:
        pushed = (await live.next_of("view.counts", timeout=10))["data"]
    assert calls != []
    assert pushed["counts"]["builtin:closed"] == 2
    assert pushed["counts"]["builtin:all_open"] == 1
    assert pushed["mine"] == {str(live_backend.agent.id): 1}
