"""Tickets: owner/status/priority changes, bulk, timeline with actors, events, the list."""

from __future__ import annotations

from tests.backend.seed import seed_thread, seed_threads
from tests.backend.wsclient import LiveClient


async def test_patch_records_each_change_with_its_actor_and_pushes_events(live_backend):
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    ticket_id = thread.ticket.id
    bob = live_backend.agent
    async with LiveClient.connect(live_backend, live_backend.agent_token) as live:
        async with live_backend.client(live_backend.agent_token) as client:
            response = await client.patch(
                f"/api/v1/tickets/{ticket_id}",
                json={"owner_id": bob.id, "status": "waiting_on_contact", "priority": "urgent"},
            )
            assert response.status_code == 200, response.text
            ticket = response.json()
            assert (ticket["owner_id"], ticket["status"], ticket["priority"]) == (
                bob.id,
                "waiting_on_contact",
                "urgent",
            )
            updated = await live.next_of("ticket.updated")
            assert updated["data"]["priority"] == "urgent"
            thread_event = await live.next_of("thread.updated")
            assert thread_event["data"]["ticket"]["owner_id"] == bob.id

            response = await client.patch(f"/api/v1/tickets/{ticket_id}", json={"unassign": True})
            assert response.json()["owner_id"] is None
            timeline = (await client.get(f"/api/v1/tickets/{ticket_id}/timeline")).json()
    mine = [e for e in timeline["items"] if e["actor_id"] == bob.id]
    assert [(e["action"], e["new"]) for e in mine] == [
        ("owner_changed", str(bob.id)),
        ("status_changed", "waiting_on_contact"),
        ("priority_changed", "urgent"),
        ("owner_changed", None),
    ]
    assert all(e["actor_name"] == "Bob Agent" for e in mine)
    assert timeline["items"][0]["action"] == "created"


async def test_patch_refuses_bad_values_and_unknown_things(live_backend):
    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    url = f"/api/v1/tickets/{thread.ticket.id}"
    async with live_backend.client(live_backend.agent_token) as client:
        for body, field in (
            ({"status": "sleeping"}, "status"),
            ({"priority": "whenever"}, "priority"),
            ({"owner_id": 9999}, "owner_id"),
            ({"owner_id": 1, "unassign": True}, "unassign"),
            ({"actor_id": 1}, "actor_id"),
        ):
            response = await client.patch(url, json=body)
            assert response.status_code == 422, body
            assert response.json()["error"]["field"] == field
        response = await client.patch(url, content=b"{not json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed_json"
        response = await client.patch("/api/v1/tickets/999", json={"status": "closed"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "ticket_not_found"
        response = await client.get("/api/v1/tickets/999/timeline")
        assert response.status_code == 404
    async with live_backend.client() as anonymous:
        response = await anonymous.patch(url, json={"status": "closed"})
        assert response.status_code == 401


async def test_bulk_changes_many_in_one_go_and_is_all_or_nothing(live_backend):
    await seed_threads(live_backend.store, 5)
    async with live_backend.client(live_backend.admin_token) as client:
        tickets = (await client.get("/api/v1/tickets", params={"limit": 10})).json()["items"]
        ids = [t["id"] for t in tickets]
        response = await client.post(
            "/api/v1/tickets/bulk", json={"ticket_ids": [*ids, 999], "status": "closed"}
        )
        assert response.status_code == 404
        assert (await client.get("/api/v1/tickets", params={"status": "closed"})).json()[
            "items"
        ] == []
        response = await client.post(
            "/api/v1/tickets/bulk",
            json={"ticket_ids": ids, "owner_id": live_backend.agent.id, "status": "closed"},
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert {t["status"] for t in items} == {"closed"}
        assert {t["owner_id"] for t in items} == {live_backend.agent.id}
        assert all(t["closed_at"] for t in items)
        timeline = (await client.get(f"/api/v1/tickets/{ids[0]}/timeline")).json()["items"]
        assert timeline[-1]["actor_id"] == live_backend.admin.id
        response = await client.post(
            "/api/v1/tickets/bulk", json={"ticket_ids": list(range(1, 502)), "status": "closed"}
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "ticket_ids"
        response = await client.post("/api/v1/tickets/bulk", json={"ticket_ids": []})
        assert response.status_code == 422


async def test_bulk_emits_ticket_and_thread_events_per_changed_ticket(live_backend):
    await seed_threads(live_backend.store, 3)
    async with live_backend.client(live_backend.agent_token) as client:
        ids = [t["id"] for t in (await client.get("/api/v1/tickets")).json()["items"]]
        async with LiveClient.connect(live_backend, live_backend.agent_token) as live:
            response = await client.post(
                "/api/v1/tickets/bulk", json={"ticket_ids": ids, "priority": "high"}
            )
            assert response.status_code == 200
            seen = []
            while len(seen) < 6:
                frame = await live.recv()
                if frame["type"] in ("ticket.updated", "thread.updated"):
                    seen.append(frame)
    assert {f["data"]["id"] for f in seen if f["type"] == "ticket.updated"} == set(ids)
    assert sum(f["type"] == "thread.updated" for f in seen) == 3


async def test_ticket_list_searches_subjects(live_backend):
    await seed_thread(live_backend.store, name="A", phone="+34611111111", text="Refund please")
    await seed_thread(live_backend.store, name="B", phone="+34622222222", text="Shipping delay")
    async with live_backend.client(live_backend.agent_token) as client:
        page = (await client.get("/api/v1/tickets", params={"q": "refu"})).json()
        assert [t["subject"] for t in page["items"]] == ["Refund please"]
        page = (await client.get("/api/v1/tickets", params={"limit": 1})).json()
        assert page["items"][0]["subject"] == "Shipping delay"
        page = (
            await client.get("/api/v1/tickets", params={"limit": 1, "cursor": page["next_cursor"]})
        ).json()
        assert page["items"][0]["subject"] == "Refund please"
        assert page["next_cursor"] is None
        one = await client.get(f"/api/v1/tickets/{page['items'][0]['id']}")
        assert one.json()["subject"] == "Refund please"


# each agent's routing load as kept on their row, and as counted afresh from the tickets
_LOADS = (
    "SELECT a.id, a.open_tickets, (SELECT COUNT(*) FROM tickets t "
    "WHERE t.owner_id = a.id AND t.status != 'closed') FROM agents a ORDER BY a.id"
)


async def _kept_and_counted(store) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    rows = await store.write(lambda tx: [tuple(row) for row in tx.all(_LOADS)])
    return [(row[0], row[1]) for row in rows], [(row[0], row[2]) for row in rows]


async def test_each_agents_open_ticket_count_follows_every_owner_and_status_change(live_backend):
    store, admin, bob = live_backend.store, live_backend.admin, live_backend.agent
    threads = [
        await seed_thread(store, name=f"C{n}", phone=f"+3461000000{n}", text="Where is my order?")
        for n in range(5)
    ]
    ids = [thread.ticket.id for thread in threads]
    kept, counted = await _kept_and_counted(store)
    assert kept == counted
    assert sum(load for _, load in kept) == 5  # every new ticket was routed to someone
    changes = [
        (ids[0], {"status": "closed"}),
        (ids[0], {"status": "waiting_on_us"}),  # reopened
        (ids[1], {"owner_id": bob.id}),
        (ids[1], {"owner_id": admin.id}),
        (ids[2], {"unassign": True}),
        (ids[2], {"owner_id": bob.id, "status": "closed"}),
        (ids[3], {"status": "closed"}),
        (ids[3], {"owner_id": admin.id}),  # a closed ticket changing hands
        (ids[3], {"status": "waiting_on_contact"}),
        (ids[4], {"status": "waiting_on_contact"}),
    ]
    async with live_backend.client(live_backend.admin_token) as client:
        for ticket_id, change in changes:
            response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=change)
            assert response.status_code == 200, response.text
            kept, counted = await _kept_and_counted(store)
            assert kept == counted, (ticket_id, change)
        for change in ({"owner_id": bob.id}, {"status": "closed"}, {"status": "waiting_on_us"}):
            response = await client.post("/api/v1/tickets/bulk", json={"ticket_ids": ids, **change})
            assert response.status_code == 200, response.text
            kept, counted = await _kept_and_counted(store)
            assert kept == counted, change
    assert dict(kept)[bob.id] == 5
    # the customer of a closed ticket writes again: a new routed ticket
    async with live_backend.client(live_backend.admin_token) as client:
        response = await client.patch(f"/api/v1/tickets/{ids[0]}", json={"status": "closed"})
        assert response.status_code == 200
    await seed_thread(store, name="C0", phone="+34610000000", text="Me again")
    kept, counted = await _kept_and_counted(store)
    assert kept == counted
    async with live_backend.client(live_backend.admin_token) as client:  # what agents are shown
        listed = (await client.get("/api/v1/agents")).json()["items"]
    shown = {agent["id"]: agent["open_tickets"] for agent in listed}
    assert shown == {agent_id: load for agent_id, load in counted if agent_id in shown}
    assert len(shown) >= 2
    assert sum(load for _, load in kept) == 5
