"""Contacts, companies, deals; auto-association of inbound messages by phone; the audit log;
inserts."""

from __future__ import annotations

from backend import schemas
from tests.backend.seed import seed_thread


async def test_create_contact_normalises_phones_and_shows_associations(live_backend):
    store = live_backend.store
    company_id = await store.create_company("Acme", domain="acme.test")
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.post(
            "/api/v1/contacts",
            json={
                "first_name": "Lucía",
                "last_name": "Pérez",
                "email": "lucia@example.com",
                "phone": "612 34 56 78",
                "mobile_phone": "+34 (622) 22-22-22",
                "country": "es",
                "company_id": company_id,
                "properties": {"tier": "gold"},
            },
        )
        assert response.status_code == 201, response.text
        contact = response.json()
        assert contact["phone"] == "+34612345678"
        assert contact["mobile_phone"] == "+34622222222"
        assert contact["country"] == "ES"
        assert contact["name"] == "Lucía Pérez"
        assert [c["name"] for c in contact["companies"]] == ["Acme"]

        deal_id = await store.create_deal("Renewal", stage="won", amount=1200.0, currency="EUR")
        await store.associate(contact["id"], "deal", deal_id)
        thread = await seed_thread(store, name="Whoever", phone="+34612345678", text="Hola")
        assert thread.contact.id == contact["id"]
        detail = (await client.get(f"/api/v1/contacts/{contact['id']}")).json()
        assert [d["name"] for d in detail["deals"]] == ["Renewal"]
        assert [t["id"] for t in detail["tickets"]] == [thread.ticket.id]

        companies = (await client.get("/api/v1/companies", params={"q": "acm"})).json()
        assert companies["items"][0]["contacts"][0]["id"] == contact["id"]
        deals = (await client.get("/api/v1/deals", params={"q": "renew"})).json()
        assert deals["items"][0]["contacts"][0]["name"] == "Lucía Pérez"
        assert (await client.get("/api/v1/deals", params={"q": "nothing"})).json()["items"] == []

        found = (await client.get("/api/v1/contacts", params={"q": "luc"})).json()["items"]
        assert [c["id"] for c in found] == [contact["id"]]
        found = (await client.get("/api/v1/contacts", params={"q": "+34 622"})).json()["items"]
        assert [c["id"] for c in found] == [contact["id"]]


async def test_contact_errors_name_the_field(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        for body, field in (
            ({"first_name": "A", "phone": "12"}, "phone"),
            ({"first_name": "A", "mobile_phone": "call me"}, "mobile_phone"),
            ({"first_name": "A", "email": "not-an-email"}, "email"),
            ({"first_name": "A", "country": "Spain"}, "country"),
            ({"first_name": "A", "owner_id": 999}, "owner_id"),
            ({"first_name": "A", "company_id": 999}, "company_id"),
            ({"first_name": "A", "shoe_size": 44}, "shoe_size"),
        ):
            response = await client.post("/api/v1/contacts", json=body)
            assert response.status_code == 422, body
            assert response.json()["error"]["field"] == field
        assert (await client.get("/api/v1/contacts/999")).status_code == 404
        response = await client.patch("/api/v1/contacts/999", json={"first_name": "X"})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "contact_not_found"


async def test_a_number_in_a_range_the_phone_library_does_not_know_is_saved_unchecked(
    live_backend,
):
    """WhatsApp ids are the authority (issue 14): a customer's number in a range newer than
    the phone library's metadata is still their number. A number that can be one, written
    with its country code, is kept in E.164 and marked as not checked; only what cannot be a
    phone number is refused."""
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.post(
            "/api/v1/contacts", json={"first_name": "Tom", "phone": "+44 7700 900555"}
        )
        assert response.status_code == 201, response.text
        contact = response.json()
        assert (contact["phone"], contact["unchecked_phones"]) == ("+447700900555", ["phone"])
        response = await client.patch(
            f"/api/v1/contacts/{contact['id']}",
            json={"phone": "+34 612 34 56 78", "mobile_phone": "0044 7700 900556"},
        )
        assert response.status_code == 200, response.text
        contact = response.json()
        assert (contact["phone"], contact["mobile_phone"]) == ("+34612345678", "+447700900556")
        assert contact["unchecked_phones"] == ["mobile_phone"]
        for impossible in ("+44 12", "+1 555", "12"):
            response = await client.patch(
                f"/api/v1/contacts/{contact['id']}", json={"phone": impossible}
            )
            assert response.status_code == 422, impossible
            error = response.json()["error"]
            assert error["field"] == "phone"
            assert "cannot be a phone number" in error["message"]
        # a customer writing from that number finds the contact the agent saved
        thread = await seed_thread(
            live_backend.store, name="Whoever", phone="+447700900556", text="hi"
        )
        assert thread.contact.id == contact["id"]


async def test_patch_contact_changes_only_given_fields_and_pushes(live_backend):
    from tests.backend.wsclient import LiveClient

    thread = await seed_thread(live_backend.store, name="Ann", phone="+34611111111", text="hi")
    contact_id = thread.contact.id
    async with LiveClient.connect(live_backend, live_backend.agent_token) as live:
        async with live_backend.client(live_backend.agent_token) as client:
            response = await client.patch(
                f"/api/v1/contacts/{contact_id}",
                json={"last_name": "Smith", "mobile_phone": "622 000 111", "country": "ES"},
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["first_name"] == "Ann"
            assert body["mobile_phone"] == "+34622000111"
            assert body["phone"] == "+34611111111"
            response = await client.patch(f"/api/v1/contacts/{contact_id}", json={"phone": "x1"})
            assert response.status_code == 422
            assert response.json()["error"]["field"] == "phone"
        event = await live.next_of("contact.updated")
        assert event["data"]["last_name"] == "Smith"
        thread_event = await live.next_of("thread.updated")
        assert thread_event["data"]["contact"]["name"] == "Ann Smith"


async def test_inbound_auto_association_by_phone_and_mobile(live_backend):
    store = live_backend.store
    async with live_backend.client(live_backend.agent_token) as client:
        one = (
            await client.post(
                "/api/v1/contacts", json={"first_name": "Mo", "mobile_phone": "+34655555555"}
            )
        ).json()
        thread = await seed_thread(store, name="Profile Name", phone="+34655555555", text="hey")
        assert thread.contact.id == one["id"]
        assert thread.ticket.needs_review is False

        for name in ("Twin A", "Twin B"):
            await client.post(
                "/api/v1/contacts", json={"first_name": name, "phone": "+34677777777"}
            )
        twins = await seed_thread(store, name="Twin", phone="+34677777777", text="who am I")
        assert twins.ticket.needs_review is True
        assert twins.contact.name == "Twin B"  # the most recently updated match wins

        stranger = await seed_thread(store, name="New Person", phone="+34688888888", text="hi")
        assert stranger.contact.name == "New Person"
        assert stranger.contact.phone == "+34688888888"


async def test_routing_by_skills_availability_load_and_round_robin(live_backend):
    from backend.domain.routing import RoutingRule

    store = live_backend.store
    ada, bob = live_backend.admin, live_backend.agent
    carl = (
        await store.create_agent(schemas.AgentCreate(name="Carl", skills=["lang:es", "billing"]))
    ).agent
    rules = (RoutingRule(required_skills=frozenset({"lang:es"}), countries=frozenset({"ES"})),)

    async def route(i, text="hi", phone=None):
        thread = await seed_thread(
            store, name=f"C{i}", phone=phone or f"+3469000000{i}", text=text, rules=rules
        )
        return thread.ticket.owner_id

    # Spanish contacts need lang:es: Bob and Carl hold it, round-robin between equals
    first, second = await route(1), await route(2)
    assert {first, second} == {bob.id, carl.id}
    # Carl away: only Bob qualifies
    await store.update_agent(carl.id, schemas.MeUpdate(availability="away"))
    assert await route(3) == bob.id
    # nobody available with the skill → unassigned
    await store.update_agent(bob.id, schemas.MeUpdate(availability="away"))
    assert await route(4) is None
    # a US contact needs no skill: Ada is the only one available
    assert await route(5, phone="+12025550123") == ada.id
    # least loaded first: Carl back with fewer open tickets than Bob
    await store.update_agent(bob.id, schemas.MeUpdate(availability="available"))
    await store.update_agent(carl.id, schemas.MeUpdate(availability="available"))
    assert await route(6) == carl.id


async def test_audit_log_is_for_admins_only(live_backend):
    await live_backend.store.record_audit(live_backend.admin.id, "agent.created", "agent:2")
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.get("/api/v1/audit")
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "admin_only"
    async with live_backend.client(live_backend.admin_token) as client:
        page = (await client.get("/api/v1/audit")).json()
        assert page["items"][0]["action"] == "agent.created"
        filtered = (await client.get("/api/v1/audit", params={"action": "nothing"})).json()
        assert filtered["items"] == []


async def test_inserts_by_kind_and_text(live_backend):
    store = live_backend.store
    await store.create_insert(
        schemas.InsertKind.snippet, "Greeting", "Hi {{contact.first_name}}!", tags=["hello"]
    )
    await store.create_insert(schemas.InsertKind.kb_article, "Refunds", "How refunds work")
    await store.create_insert(
        schemas.InsertKind.meeting_link, "Book a call", "", url="https://cal.example/x"
    )
    async with live_backend.client(live_backend.agent_token) as client:
        everything = (await client.get("/api/v1/inserts")).json()["items"]
        assert len(everything) == 3
        snippets = (await client.get("/api/v1/inserts", params={"kind": "snippet"})).json()
        assert [i["title"] for i in snippets["items"]] == ["Greeting"]
        found = (await client.get("/api/v1/inserts", params={"q": "refund"})).json()["items"]
        assert [i["kind"] for i in found] == ["kb_article"]
        page = (await client.get("/api/v1/inserts", params={"limit": 2})).json()
        rest = (
            await client.get("/api/v1/inserts", params={"limit": 2, "cursor": page["next_cursor"]})
        ).json()
        assert len(page["items"]) + len(rest["items"]) == 3
        assert (await client.get("/api/v1/inserts", params={"kind": "poem"})).status_code == 422
