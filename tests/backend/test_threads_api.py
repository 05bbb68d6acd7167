"""Threads: list with keyset and offset pages, one thread, messages, read state."""

from __future__ import annotations

from datetime import timedelta

from tests.backend.seed import BASE_TIME, seed_thread, seed_threads


async def test_list_pages_newest_first_without_gaps_or_repeats(live_backend):
    ids = await seed_threads(live_backend.store, 23)
    seen: list[int] = []
    cursor = None
    async with live_backend.client(live_backend.agent_token) as client:
        for _ in range(10):
            params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/threads", params=params)).json()
            seen += [thread["id"] for thread in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == list(reversed(ids))


async def test_offset_and_total_for_virtual_lists(live_backend):
    ids = await seed_threads(live_backend.store, 12)
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.get(
            "/api/v1/threads", params={"offset": 10, "limit": 5, "with_total": "true"}
        )
    page = response.json()
    assert page["total"] == 12
    assert [t["id"] for t in page["items"]] == [ids[1], ids[0]]
    assert page["next_cursor"] is None


async def test_threads_without_messages_come_last_and_page_through(live_backend):
    from backend.store.conversations import create_thread, resolve_whatsapp_contact

    ids = await seed_threads(live_backend.store, 3)

    def empty(tx):
        made = []
        for i in range(3):
            contact_id, _ = resolve_whatsapp_contact(
                tx, wa_id=f"3462000000{i}", user_id=None, profile_name=f"Quiet {i}"
            )
            thread_id, _ = create_thread(
                tx,
                contact_id=contact_id,
                phone_number_id="PNID1",
                business_number="+15550001111",
                subject="Started by us",
                owner_id=None,
            )
            made.append(thread_id)
        return made

    quiet = await live_backend.store.write(empty)
    seen = []
    cursor = None
    async with live_backend.client(live_backend.agent_token) as client:
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/v1/threads", params=params)).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
    assert seen == list(reversed(ids)) + list(reversed(quiet))


async def test_thread_shape_and_filters_by_parameters(live_backend):
    thread = await seed_thread(
        live_backend.store, name="Lucía Pérez", phone="+34612345678", text="Where is my order?"
    )
    assert thread.ticket.subject == "Where is my order?"
    assert thread.contact.phone == "+34612345678"
    assert thread.unread_count == 1
    async with live_backend.client(live_backend.agent_token) as client:
        got = (await client.get(f"/api/v1/threads/{thread.id}")).json()
        assert got["contact"]["name"] == "Lucía Pérez"
        assert got["ticket"]["original_channel_type"] == "WHATSAPP"
        assert got["session_expires_at"] is not None

        async def ids(**params):
            response = await client.get("/api/v1/threads", params=params)
            assert response.status_code == 200, response.text
            return [t["id"] for t in response.json()["items"]]

        assert await ids(status="new") == [thread.id]
        assert await ids(status="closed,waiting_on_us") == []
        assert await ids(channel_type="WHATSAPP") == [thread.id]
        assert await ids(unread="true") == [thread.id]
        assert await ids(unread="false") == []
        owner = got["ticket"]["owner_id"]
        assert await ids(owner=str(owner)) == [thread.id]
        assert await ids(owner="none") == []


async def test_ids_ask_whether_threads_are_in_a_view(live_backend):
    """``ids`` narrows the list to those threads: with a view, the ones of them it holds."""
    ids = await seed_threads(live_backend.store, 3)
    async with live_backend.client(live_backend.agent_token) as client:
        ticket_id = (await client.get(f"/api/v1/threads/{ids[0]}")).json()["ticket"]["id"]
        await client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "closed"})
        params = {"view": "builtin:all_open", "ids": f"{ids[0]},{ids[2]}"}
        page = (await client.get("/api/v1/threads", params=params)).json()
        assert [thread["id"] for thread in page["items"]] == [ids[2]]
        params = {"ids": [str(ids[0]), str(ids[1])], "with_total": "true"}
        page = (await client.get("/api/v1/threads", params=params)).json()
        assert sorted(thread["id"] for thread in page["items"]) == ids[:2]
        assert page["total"] == 2


async def test_bad_list_parameters_are_422_naming_the_parameter(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        for params, field in (
            ({"status": "sleeping"}, "status"),
            ({"limit": "0"}, "limit"),
            ({"limit": "many"}, "limit"),
            ({"cursor": "!!!"}, "cursor"),
            ({"owner": "someone"}, "owner"),
            ({"unread": "perhaps"}, "unread"),
            ({"colour": "red"}, "colour"),
            ({"ids": "1,two"}, "ids"),
            ({"ids": "0"}, "ids"),
            ({"ids": ",".join(str(n) for n in range(1, 202))}, "ids"),
        ):
            response = await client.get("/api/v1/threads", params=params)
            assert response.status_code == 422, params
            assert response.json()["error"]["field"] == field
        response = await client.get("/api/v1/threads", params={"view": "12345"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "view_not_found"


async def test_unknown_thread_is_404(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        for path in ("/api/v1/threads/999", "/api/v1/threads/999/messages"):
            response = await client.get(path)
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "thread_not_found"
        response = await client.post("/api/v1/threads/999/read")
        assert response.status_code == 404
        response = await client.get("/api/v1/threads/abc")
        assert response.status_code == 422


async def test_messages_newest_page_first_and_before(live_backend):
    store = live_backend.store
    first = await seed_thread(store, name="Ann", phone="+34611111111", text="m0", at=BASE_TIME)
    for i in range(1, 7):
        await seed_thread(
            store, name="Ann", phone="+34611111111", text=f"m{i}", at=BASE_TIME + timedelta(i)
        )
    async with live_backend.client(live_backend.agent_token) as client:
        url = f"/api/v1/threads/{first.id}/messages"
        page = (await client.get(url, params={"limit": 4})).json()
        assert [m["text"] for m in page["items"]] == ["m6", "m5", "m4", "m3"]
        older = (await client.get(url, params={"limit": 4, "before": page["next_cursor"]})).json()
        assert [m["text"] for m in older["items"]] == ["m2", "m1", "m0"]
        assert older["next_cursor"] is None
        again = (await client.get(url, params={"limit": 4, "cursor": page["next_cursor"]})).json()
        assert again["items"] == older["items"]
        response = await client.get(url, params={"before": "x"})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "before"


async def test_read_and_unread_push_thread_updated(live_backend):
    from tests.backend.wsclient import LiveClient

    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    async with LiveClient.connect(live_backend, live_backend.agent_token) as live:
        async with live_backend.client(live_backend.agent_token) as client:
            read = await client.post(f"/api/v1/threads/{thread.id}/read")
            assert read.status_code == 200
            assert read.json()["unread_count"] == 0
            event = await live.next_of("thread.updated")
            assert event["data"]["id"] == thread.id
            assert event["data"]["unread_count"] == 0
            unread = await client.post(f"/api/v1/threads/{thread.id}/unread")
            assert unread.json()["unread_count"] == 1
            event = await live.next_of("thread.updated")
            assert event["data"]["unread_count"] == 1
