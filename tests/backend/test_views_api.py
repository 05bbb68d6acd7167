"""Views: every filter operator, built-ins, sharing rules, counts (asked for and pushed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend import schemas
from backend.store import conversations as conv
from tests.backend.seed import seed_thread
from tests.backend.wsclient import LiveClient


@pytest.fixture
async def three(live_backend):
    """Ann: new, Bob's, unread, session open. Cid: closed, unassigned, high, we wrote last.
    Dee: waiting on us, Ada's, other business number, old, session expired."""
    store = live_backend.store
    now = datetime.now(UTC)
    ann = await seed_thread(store, name="Ann Lee", phone="+34611111111", text="Refund my order")
    cid = await seed_thread(
        store, name="Cid Moe", phone="+34622222222", text="Thanks", at=now - timedelta(hours=30)
    )
    dee = await seed_thread(
        store,
        name="Dee Roe",
        phone="+34633333333",
        text="Invoice question",
        at=datetime(2026, 1, 10, tzinfo=UTC),
        phone_number_id="PNID2",
        business_number="+15550002222",
    )
    bob, ada = live_backend.agent.id, live_backend.admin.id

    def arrange(tx):
        conv.set_ticket_owner(tx, ann.ticket.id, bob, None)
        conv.set_ticket_owner(tx, cid.ticket.id, None, None)
        conv.set_ticket_owner(tx, dee.ticket.id, ada, None)
        conv.set_ticket_status(tx, cid.ticket.id, "closed", None)
        conv.set_ticket_status(tx, dee.ticket.id, "waiting_on_us", None)
        tx.execute("UPDATE tickets SET priority = 'high' WHERE id = ?", (cid.ticket.id,))
        conv.insert_message(
            tx, thread_id=cid.id, direction="out", kind="text", text="Bye", author_id=bob
        )
        tx.execute("UPDATE threads SET unread_count = 0 WHERE id = ?", (cid.id,))

    await store.write(arrange)
    return {"ann": ann.id, "cid": cid.id, "dee": dee.id}


CASES = [
    ("original_channel_type", "is_any_of", ["WHATSAPP"], {"ann", "cid", "dee"}),
    ("status", "is_any_of", ["new", "waiting_on_us"], {"ann", "dee"}),
    ("status", "is_none_of", ["closed"], {"ann", "dee"}),
    ("priority", "is_any_of", ["high"], {"cid"}),
    ("priority", "is_none_of", ["high"], {"ann", "dee"}),
    ("owner", "is_any_of", ["me"], {"ann"}),
    ("owner", "is_none_of", ["me"], {"cid", "dee"}),
    ("owner", "is_known", [], {"ann", "dee"}),
    ("owner", "is_unknown", [], {"cid"}),
    ("business_number", "contains", ["2222"], {"dee"}),
    ("business_number", "is_any_of", ["+15550001111"], {"ann", "cid"}),
    ("business_number", "is_known", [], {"ann", "cid", "dee"}),
    ("business_number", "is_unknown", [], set()),
    ("subject", "contains", ["REFUND"], {"ann"}),
    ("contact_name", "contains", ["dee"], {"dee"}),
    ("contact_name", "is_none_of", ["Ann Lee"], {"cid", "dee"}),
    ("session_state", "is_any_of", ["open"], {"ann"}),
    ("session_state", "is_any_of", ["expired"], {"cid", "dee"}),
    ("session_state", "is_none_of", ["open"], {"cid", "dee"}),
    ("unread", "is_any_of", ["true"], {"ann", "dee"}),
    ("unread", "is_none_of", ["true"], {"cid"}),
    ("last_message_at", "before", ["2026-06-01"], {"dee"}),
    ("last_message_at", "after", ["2026-06-01T00:00:00Z"], {"ann", "cid"}),
    ("last_message_at", "is_known", [], {"ann", "cid", "dee"}),
    ("last_message_at", "is_unknown", [], set()),
    ("last_message_direction", "is_any_of", ["out"], {"cid"}),
    ("last_message_direction", "is_none_of", ["out"], {"ann", "dee"}),
]


async def test_every_operator_filters_threads(live_backend, three):
    names = {thread_id: name for name, thread_id in three.items()}
    async with live_backend.client(live_backend.agent_token) as client:
        for prop, operator, values, expected in CASES:
            filters = [{"property": prop, "operator": operator, "values": values}]
            made = await client.post("/api/v1/views", json={"name": "v", "filters": filters})
            assert made.status_code == 201, made.text
            page = await client.get("/api/v1/threads", params={"view": made.json()["id"]})
            got = {names[t["id"]] for t in page.json()["items"]}
            assert got == expected, (prop, operator, values)


async def test_the_canonical_whatsapp_view_combines_with_parameters(live_backend, three):
    async with live_backend.client(live_backend.agent_token) as client:
        made = await client.post(
            "/api/v1/views",
            json={
                "name": "WhatsApp",
                "sharing": "everyone",
                "filters": [
                    {
                        "property": "original_channel_type",
                        "operator": "is_any_of",
                        "values": ["WHATSAPP"],
                    }
                ],
            },
        )
        view_id = made.json()["id"]
        page = await client.get("/api/v1/threads", params={"view": view_id, "status": "closed"})
        assert [t["id"] for t in page.json()["items"]] == [three["cid"]]


async def test_builtin_views_come_first_and_filter(live_backend, three):
    async with live_backend.client(live_backend.agent_token) as client:
        views = (await client.get("/api/v1/views")).json()["items"]
        assert [v["id"] for v in views[:5]] == [
            "builtin:all_open",
            "builtin:mine",
            "builtin:unassigned",
            "builtin:sent",
            "builtin:closed",
        ]
        assert views[1]["count"] == 1

        async def ids(view):
            page = await client.get("/api/v1/threads", params={"view": view})
            return {t["id"] for t in page.json()["items"]}

        assert await ids("builtin:all_open") == {three["ann"], three["dee"]}
        assert await ids("builtin:mine") == {three["ann"]}
        assert await ids("builtin:unassigned") == set()
        assert await ids("builtin:sent") == {three["cid"]}
        assert await ids("builtin:closed") == {three["cid"]}
        counts = (await client.get("/api/v1/views/counts")).json()
        assert counts["counts"]["builtin:all_open"] == 2
        assert counts["counts"]["builtin:mine"] == 1
        assert counts["mine"] == {str(live_backend.agent.id): 1, str(live_backend.admin.id): 1}
        response = await client.patch("/api/v1/views/builtin:mine", json={"name": "x"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "builtin_view"


async def test_bad_filters_are_422_naming_the_filter(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        for filters, field in (
            ([{"property": "colour", "operator": "is_any_of", "values": ["red"]}], "property"),
            ([{"property": "status", "operator": "contains", "values": ["x"]}], "operator"),
            ([{"property": "status", "operator": "is_any_of", "values": ["zzz"]}], "values"),
            ([{"property": "last_message_at", "operator": "before", "values": ["soon"]}], "values"),
            ([{"property": "status", "operator": "whatever", "values": []}], "operator"),
        ):
            response = await client.post("/api/v1/views", json={"name": "x", "filters": filters})
            assert response.status_code == 422, filters
            assert field in response.json()["error"]["field"]
        response = await client.post("/api/v1/views", json={"name": ""})
        assert response.json()["error"]["field"] == "name"


async def test_sharing_rules(live_backend):
    store = live_backend.store
    cy = await store.create_agent(schemas.AgentCreate(name="Cy", team="eu"))
    di = await store.create_agent(schemas.AgentCreate(name="Di", team="eu"))
    bob_token, ada_token = live_backend.agent_token, live_backend.admin_token

    async def create(token, sharing):
        async with live_backend.client(token) as client:
            response = await client.post(
                "/api/v1/views", json={"name": sharing, "sharing": sharing}
            )
            assert response.status_code == 201
            return response.json()["id"]

    async def visible(token):
        async with live_backend.client(token) as client:
            items = (await client.get("/api/v1/views")).json()["items"]
            return {v["id"] for v in items if not v["builtin"]}

    private = await create(cy.token, "private")
    team = await create(cy.token, "team")
    everyone = await create(cy.token, "everyone")
    assert await visible(cy.token) == {private, team, everyone}
    assert await visible(di.token) == {team, everyone}
    assert await visible(bob_token) == {everyone}
    async with live_backend.client(bob_token) as client:
        assert (await client.get(f"/api/v1/views/{private}")).status_code == 404
        assert (await client.get("/api/v1/threads", params={"view": private})).status_code == 404
        response = await client.patch(f"/api/v1/views/{everyone}", json={"name": "mine now"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_view_owner"
        assert (await client.delete(f"/api/v1/views/{private}")).status_code == 404
    async with live_backend.client(di.token) as client:
        assert (await client.patch(f"/api/v1/views/{team}", json={"name": "x"})).status_code == 403
    async with live_backend.client(ada_token) as client:
        response = await client.patch(
            f"/api/v1/views/{everyone}", json={"name": "Renamed", "sharing": "team"}
        )
        assert response.status_code == 200
        assert response.json()["name"] == "Renamed"
        assert (await client.delete(f"/api/v1/views/{private}")).status_code == 404
    async with live_backend.client(cy.token) as client:
        assert (await client.delete(f"/api/v1/views/{private}")).status_code == 204
        assert (await client.get(f"/api/v1/views/{private}")).status_code == 404


async def test_counts_are_pushed_after_changes(live_backend, three):
    async with LiveClient.connect(live_backend, live_backend.agent_token) as live:
        async with live_backend.client(live_backend.agent_token) as client:
            await client.post(
                "/api/v1/tickets/bulk",
                json={"ticket_ids": [1, 2, 3], "owner_id": live_backend.agent.id},
            )
        event = await live.next_of("view.counts", timeout=5)
        # the first pushed counts may predate the bulk change by up to a second
        while event["data"]["mine"].get(str(live_backend.agent.id)) != 2:
            event = await live.next_of("view.counts", timeout=5)
    assert event["seq"] > 0
    assert "builtin:mine" not in event["data"]["counts"]
    assert event["data"]["counts"]["builtin:all_open"] == 2


async def test_filter_properties_come_from_the_catalogue(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        page = (await client.get("/api/v1/views/properties")).json()
    names = {p["name"] for p in page["items"]}
    assert {"original_channel_type", "status", "owner", "session_state", "unread"} <= names


async def test_session_expiring_view_holds_only_sessions_ending_soon(live_backend):
    """The demo's "Session expiring" view: open sessions ending within its hours, not every
    open conversation."""
    import json
    from pathlib import Path

    store = live_backend.store
    now = datetime.now(UTC)
    soon = await seed_thread(
        store, name="Soon", phone="+34644444444", text="Hi", at=now - timedelta(hours=22)
    )
    await seed_thread(
        store, name="Later", phone="+34655555555", text="Hi", at=now - timedelta(hours=8)
    )
    await seed_thread(
        store, name="Gone", phone="+34666666666", text="Hi", at=now - timedelta(hours=30)
    )
    demo_views = json.loads((Path(__file__).parents[2] / "assets/demo/views.json").read_text())
    expiring = next(v for v in demo_views if v["name"] == "Session expiring")
    async with live_backend.client(live_backend.agent_token) as client:
        made = await client.post("/api/v1/views", json=expiring)
        assert made.status_code == 201, made.text
        page = await client.get("/api/v1/threads", params={"view": made.json()["id"]})
        assert [t["id"] for t in page.json()["items"]] == [soon.id]
        counts = (await client.get("/api/v1/views/counts")).json()["counts"]
        assert counts[made.json()["id"]] == 1
        within = [{"property": "session_expires", "operator": "within", "values": ["20"]}]
        made = await client.post("/api/v1/views", json={"name": "20 h", "filters": within})
        page = await client.get("/api/v1/threads", params={"view": made.json()["id"]})
        assert {t["contact"]["name"] for t in page.json()["items"]} == {"Soon", "Later"}
        properties = (await client.get("/api/v1/views/properties")).json()["items"]
        offered = next(p for p in properties if p["name"] == "session_expires")
        assert offered["operators"] == ["within"]
        bad = [{"property": "session_expires", "operator": "within", "values": ["48"]}]
        refused = await client.post("/api/v1/views", json={"name": "bad", "filters": bad})
        assert refused.status_code == 422
        assert refused.json()["error"]["field"] == "filters[0].values[0]"
