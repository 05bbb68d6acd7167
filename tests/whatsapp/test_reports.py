"""Reports for a lead (issue 17) and the ticket properties they read, on a small desk built
through the real backend (webhooks as Meta sends them, the API as agents use it, a fixed
clock); every expected figure is worked out by hand in the comments.

The desk, on +15550001111 unless said (UTC):
  24th 09:00 Ana writes (ticket A)        09:10 Bob replies  → A first response 600 s
  24th 10:00 Ben writes (ticket B)        10:30 Bob replies  → B first response 1,800 s
  24th 11:00 A closed                                        → A resolution 7,200 s
  25th 12:00 a template to Ben (his window closed 25th 10:00): an expiry ended in a template
  25th 12:30 a template to Dan, who never wrote (ticket D, on +15550002222): not an expiry
  25th 14:00 and 14:05 Cai writes (ticket C), 16:00 Ada replies → C first response 7,200 s
  26th 08:00 B closed                                        → B resolution 165,600 s
  26th 09:00 Ada sends C a marketing and a service message (billable), 09:30 a utility
       one Meta does not bill → C has 2 billable messages
Bob owns A and B, Ada owns C, nobody owns D.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from backend import cli
from backend.store import conversations as conv
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import signed_post

NUMBER = "+" + p.DISPLAY_NUMBER
OTHER_NUMBER = "+15550002222"
RATE_CARD = """
currency = "EUR"
[markets.ES]
marketing = 0.0625
service = 0.02
utility = 0.01
"""
TEMPLATE = {"kind": "template", "name": "hello", "language": "en_US"}
RANGE = {"from": "2026-11-24", "to": "2026-11-26"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-{text}").replace(tzinfo=UTC)


@pytest.fixture
def backend_overrides(tmp_path) -> dict[str, Any]:
    card = tmp_path / "rate-card.toml"
    card.write_text(RATE_CARD, encoding="utf-8")
    return {"rate_card": card, "free_service_messages_per_month": 1}


async def customer_writes(backend, meta, clock, wa_id: str, name: str, when: str) -> int:
    clock.set(at(when))
    message = p.text("help please", at=at(when), from_=wa_id, user_id=None)
    envelope = p.messages_envelope(
        message, contacts=[p.contact(wa_id=wa_id, user_id=None, name=name)]
    )
    response = await signed_post(meta, envelope)
    assert response.status_code == 200, response.text
    row = await backend.store.readers.one(
        "SELECT th.id FROM threads th JOIN contacts c ON c.id = th.contact_id WHERE c.wa_id = ?",
        (wa_id,),
    )
    return row["id"]


async def send(client, clock, thread_id: int, when: str, body: dict[str, Any]) -> None:
    clock.set(at(when))
    response = await client.post(f"/api/v1/threads/{thread_id}/messages", json=body)
    assert response.status_code == 202, response.text


async def priced(backend, meta, clock, thread_id: int, when: str, category: str, billable: bool):
    """Our message created at ``when``, then its `sent` status with its pricing."""
    clock.set(at(when))
    wamid = f"wamid.{when}.{category}"

    def insert(tx):
        return conv.insert_message(
            tx,
            thread_id=thread_id,
            direction="out",
            kind="text",
            text="offer",
            author_id=backend.admin.id,
            wamid=wamid,
            status="sending",
        )

    await backend.store.write(insert)
    status = p.status(wamid, "sent", at=at(when))
    status["pricing"] = {"pricing_model": "PMP", "category": category, "billable": billable}
    response = await signed_post(meta, p.statuses_envelope(status))
    assert response.status_code == 200, response.text


async def ticket_of(backend, thread_id: int) -> int:
    row = await backend.store.readers.one(
        "SELECT ticket_id FROM threads WHERE id = ?", (thread_id,)
    )
    return row[0]


async def patch_ticket(client, clock, ticket_id: int, when: str | None, **fields: Any) -> None:
    if when is not None:
        clock.set(at(when))
    response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=fields)
    assert response.status_code == 200, response.text


@pytest.fixture
async def desk(backend, meta, admin, agent, clock) -> dict[str, int]:
    bob, ada = backend.agent.id, backend.admin.id

    def templates_and_dan(tx):
        tx.insert(
            "templates",
            {
                "name": "hello",
                "language": "en_US",
                "status": "APPROVED",
                "category": "MARKETING",
                "components": '[{"type": "BODY", "text": "Hello!"}]',
                "updated_at": tx.now_iso,
            },
        )

    await backend.store.write(templates_and_dan)
    a = await customer_writes(backend, meta, clock, "34600000001", "Ana", "24T09:00:00")
    await patch_ticket(admin, clock, await ticket_of(backend, a), None, owner_id=bob)
    await send(agent, clock, a, "24T09:10:00", {"kind": "text", "text": "On it"})
    b = await customer_writes(backend, meta, clock, "34600000002", "Ben", "24T10:00:00")
    await patch_ticket(admin, clock, await ticket_of(backend, b), None, owner_id=bob)
    await send(agent, clock, b, "24T10:30:00", {"kind": "text", "text": "Hello Ben"})
    await patch_ticket(admin, clock, await ticket_of(backend, a), "24T11:00:00", status="closed")
    await send(agent, clock, b, "25T12:00:00", TEMPLATE)

    clock.set(at("25T12:30:00"))

    def dan(tx):
        contact = tx.insert(
            "contacts",
            {
                "first_name": "Dan",
                "wa_id": "34600000004",
                "created_at": tx.now_iso,
                "updated_at": tx.now_iso,
            },
        )
        thread_id, _ = conv.create_thread(
            tx,
            contact_id=contact,
            phone_number_id=p.PHONE_NUMBER_ID,
            business_number=OTHER_NUMBER,
            subject="Outreach",
            owner_id=None,
        )
        return thread_id

    d = await backend.store.write(dan)
    await send(agent, clock, d, "25T12:30:00", TEMPLATE)
    c = await customer_writes(backend, meta, clock, "34600000003", "Cai", "25T14:00:00")
    await customer_writes(backend, meta, clock, "34600000003", "Cai", "25T14:05:00")
    await patch_ticket(admin, clock, await ticket_of(backend, c), None, owner_id=ada)
    await send(admin, clock, c, "25T16:00:00", {"kind": "text", "text": "Hi Cai"})
    await patch_ticket(admin, clock, await ticket_of(backend, b), "26T08:00:00", status="closed")
    await backend.store.write(
        lambda tx: tx.execute("UPDATE contacts SET country = 'ES' WHERE wa_id = '34600000003'")
    )
    await priced(backend, meta, clock, c, "26T09:00:00", "marketing", True)
    await priced(backend, meta, clock, c, "26T09:00:01", "service", True)
    await priced(backend, meta, clock, c, "26T09:30:00", "utility", False)
    clock.set(at("26T10:00:00"))
    threads = {"a": a, "b": b, "c": c, "d": d}
    return {name: await ticket_of(backend, thread) for name, thread in threads.items()} | {
        f"thread_{name}": thread for name, thread in threads.items()
    }


# ------------------------------------------------------------------ ticket properties


async def test_tickets_carry_first_response_resolution_counts_and_billable_messages(
    admin, desk, clock
):
    async def ticket(name):
        response = await admin.get(f"/api/v1/tickets/{desk[name]}")
        assert response.status_code == 200, response.text
        body = response.json()
        return (
            body["first_response_seconds"],
            body["resolution_seconds"],
            body["inbound_count"],
            body["outbound_count"],
            body["billable_messages"],
        )

    assert await ticket("a") == (600, 7200, 1, 1, 0)
    assert await ticket("b") == (1800, 165600, 1, 2, 0)  # a reply and the template
    assert await ticket("c") == (7200, None, 2, 4, 2)  # marketing and service are billed
    assert await ticket("d") == (None, None, 0, 1, 0)
    # a reopen clears the resolution; closing again measures from the opening
    await patch_ticket(admin, clock, desk["b"], "26T10:00:00", status="waiting_on_us")
    assert (await ticket("b"))[1] is None
    await patch_ticket(admin, clock, desk["b"], "26T12:00:00", status="closed")
    assert (await ticket("b"))[1] == 180000  # 24th 10:00 to 26th 12:00
    thread = (await admin.get(f"/api/v1/threads/{desk['thread_c']}")).json()
    assert thread["ticket"]["billable_messages"] == 2


VIEW_CASES = [
    ("resolution_seconds", "at_least", ["86400"], {"b"}),
    ("resolution_seconds", "at_most", ["7200"], {"a"}),
    ("resolution_seconds", "is_unknown", [], {"c", "d"}),
    ("first_response_seconds", "at_most", ["1800"], {"a", "b"}),
    ("first_response_seconds", "at_least", ["1801"], {"c"}),
    ("first_response_seconds", "is_unknown", [], {"d"}),
    ("inbound_count", "at_least", ["2"], {"c"}),
    ("outbound_count", "at_least", ["2"], {"b", "c"}),
    ("outbound_count", "at_most", ["1"], {"a", "d"}),
    ("billable_messages", "at_least", ["1"], {"c"}),
    ("billable_messages", "at_most", ["0"], {"a", "b", "d"}),
]


async def test_views_filter_on_the_ticket_properties(agent, desk):
    names = {desk[f"thread_{name}"]: name for name in "abcd"}
    for prop, operator, values, expected in VIEW_CASES:
        filters = [{"property": prop, "operator": operator, "values": values}]
        made = await agent.post("/api/v1/views", json={"name": "v", "filters": filters})
        assert made.status_code == 201, made.text
        page = await agent.get("/api/v1/threads", params={"view": made.json()["id"]})
        assert {names[t["id"]] for t in page.json()["items"]} == expected, (prop, operator)
    for values, operator in ((["-1"], "at_least"), (["soon"], "at_most"), (["1", "2"], "at_least")):
        filters = [{"property": "inbound_count", "operator": operator, "values": values}]
        refused = await agent.post("/api/v1/views", json={"name": "v", "filters": filters})
        assert refused.status_code == 422, values
        assert refused.json()["error"]["field"].startswith("filters[0].values")
    properties = (await agent.get("/api/v1/views/properties")).json()["items"]
    offered = {item["name"]: item for item in properties}
    assert offered["resolution_seconds"]["operators"] == [
        "at_least",
        "at_most",
        "is_known",
        "is_unknown",
    ]
    assert offered["billable_messages"]["kind"] == "count"


# ------------------------------------------------------------------ reports


async def report(client, name: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/reports/{name}", params=RANGE | params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_conversations_and_messages_per_day_and_hour(backend, agent, desk):
    day = await report(agent, "messages_per_day")
    assert [c["name"] for c in day["columns"]] == [
        "day",
        "conversations",
        "messages_in",
        "messages_out",
    ]
    assert day["rows"] == [
        ["2026-11-24", 2, 2, 2],  # A and B opened; Ana, Ben in; two replies out
        ["2026-11-25", 2, 2, 3],  # C and D opened; Cai twice; two templates and a reply
        ["2026-11-26", 0, 0, 3],  # the three priced messages to Cai
    ]
    assert (day["date_from"], day["date_to"], day["time_zone"]) == (
        "2026-11-24",
        "2026-11-26",
        "UTC",
    )
    hour = await report(agent, "messages_per_hour")
    rows = {row[0]: row[1:] for row in hour["rows"]}
    assert len(hour["rows"]) == 24
    assert rows["09"] == [1, 1, 4]  # A opened, Ana; the 09:10 reply and Cai's three
    assert rows["10"] == [1, 1, 1]
    assert rows["12"] == [1, 0, 2]  # D opened; the two templates
    assert rows["14"] == [1, 2, 0]
    assert rows["16"] == [0, 0, 1]
    assert rows["00"] == [0, 0, 0]
    # narrowed: Ada's tickets (C), the other number (D), a view (the closed A and B)
    ada = await report(agent, "messages_per_day", agent=str(backend.admin.id))
    assert ada["rows"] == [
        ["2026-11-24", 0, 0, 0],
        ["2026-11-25", 1, 2, 1],
        ["2026-11-26", 0, 0, 3],
    ]
    other = await report(agent, "messages_per_day", number=OTHER_NUMBER)
    assert other["rows"][1] == ["2026-11-25", 1, 0, 1] and other["business_number"] == OTHER_NUMBER
    closed = await report(agent, "messages_per_day", view="builtin:closed")
    assert closed["rows"] == [
        ["2026-11-24", 2, 2, 2],
        ["2026-11-25", 0, 0, 1],
        ["2026-11-26", 0, 0, 0],
    ]


async def test_first_response_and_resolution_per_agent_view_and_number(agent, desk):
    by_agent = await report(agent, "response_by_agent")
    assert by_agent["rows"] == [
        # C: one answered, none resolved
        ["Ada Admin", 1, 1, 7200, 7200, 0, None, None],
        # A, B: median of 600 and 1,800 is 1,200; p90 600 + 0.9 × 1,200 = 1,680;
        # resolutions 7,200 and 165,600: median 86,400, p90 7,200 + 0.9 × 158,400 = 149,760
        ["Bob Agent", 2, 2, 1200, 1680, 2, 86400, 149760],
        ["Unassigned", 1, 0, None, None, 0, None, None],  # D: nobody wrote, nobody owns it
    ]
    by_number = await report(agent, "response_by_number")
    assert by_number["rows"] == [
        # A, B, C: median of 600, 1,800, 7,200 is 1,800; p90 1,800 + 0.8 × 5,400 = 6,120
        [NUMBER, 3, 3, 1800, 6120, 2, 86400, 149760],
        [OTHER_NUMBER, 1, 0, None, None, 0, None, None],
    ]
    by_view = await report(agent, "response_by_view")
    assert by_view["rows"] == [
        ["All open", 2, 1, 7200, 7200, 0, None, None],  # C, D
        ["Assigned to me", 0, 0, None, None, 0, None, None],  # Bob's A and B are closed
        ["Unassigned", 1, 0, None, None, 0, None, None],  # D
        ["Sent", 4, 3, 1800, 6120, 2, 86400, 149760],  # we wrote last everywhere
        ["All closed", 2, 2, 1200, 1680, 2, 86400, 149760],  # A, B
    ]
    # a range without the 24th leaves C and D only
    later = await report(agent, "response_by_number", **{"from": "2026-11-25"})
    assert later["rows"][0] == [NUMBER, 1, 1, 7200, 7200, 0, None, None]


async def test_tickets_opened_closed_and_expiries_that_ended_in_a_template(backend, agent, desk):
    tickets = await report(agent, "tickets_per_day")
    assert tickets["rows"] == [["2026-11-24", 2, 1], ["2026-11-25", 2, 0], ["2026-11-26", 0, 1]]
    expiries = await report(agent, "expiries_to_template")
    # Ben's template after his window closed; Dan's is outreach, not an expiry
    assert expiries["rows"] == [["2026-11-24", 0], ["2026-11-25", 1], ["2026-11-26", 0]]
    bobs = await report(agent, "expiries_to_template", agent="me")  # Bob: Ben's is his
    assert bobs["rows"][1] == ["2026-11-25", 1] and bobs["agent_id"] == backend.agent.id
    adas = await report(agent, "expiries_to_template", agent=str(backend.admin.id))
    assert adas["rows"][1] == ["2026-11-25", 0]


async def test_cost_per_day_adds_up_to_the_month_with_the_allowance(agent, admin, desk):
    cost = await report(agent, "cost_per_day")
    assert cost["currency"] == "EUR"
    # 26th: marketing 0.0625 charged; the billable service message is the month's one
    # free one (free_service_messages_per_month = 1); the utility one is not billable
    assert cost["rows"] == [
        ["2026-11-24", 0, 0, 0, "0"],
        ["2026-11-25", 0, 0, 0, "0"],
        ["2026-11-26", 3, 2, 1, "0.0625"],
    ]
    month = (await admin.get("/api/v1/usage/month", params={"month": "2026-11"})).json()
    assert month["total"]["estimate"] == "0.0625"
    narrowed = await report(agent, "cost_per_day", agent="me")
    assert narrowed["rows"] == cost["rows"] and "agent and view" in narrowed["notes"][0]
    none = await report(agent, "cost_per_day", number=OTHER_NUMBER)
    assert none["rows"][2] == ["2026-11-26", 0, 0, 0, "0"]


async def test_bad_filters_are_json_errors_naming_the_field(backend, agent, meta, desk):
    cases = [
        ({"from": "2026-13-01"}, 422, "from"),
        ({"to": "yesterday"}, 422, "to"),
        ({"from": "2026-11-26", "to": "2026-11-24"}, 422, "from"),
        ({"from": "2024-01-01", "to": "2026-11-26"}, 422, "from"),
        ({"agent": "bob"}, 422, "agent"),
        ({"agent": "99999"}, 422, "agent"),
        ({"number": " "}, 422, "number"),
        ({"view": "builtin:nope"}, 422, "view"),
        ({"view": "999"}, 422, "view"),
        ({"colour": "red"}, 422, "colour"),
    ]
    for params, status, field in cases:
        response = await agent.get("/api/v1/reports/messages_per_day", params=params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]["field"] == field, params
    missing = await agent.get("/api/v1/reports/happiness")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "report_not_found"
    anonymous = await meta.get("/api/v1/reports/messages_per_day")
    assert anonymous.status_code == 401 and "error" in anonymous.json()
    listed = (await agent.get("/api/v1/reports")).json()["items"]
    assert [item["name"] for item in listed][:2] == ["messages_per_day", "messages_per_hour"]
    # without a range: the 30 days up to today (the 26th, by the backend's clock)
    default = await agent.get("/api/v1/reports/tickets_per_day")
    assert (default.json()["date_from"], default.json()["date_to"]) == ("2026-10-28", "2026-11-26")


# ------------------------------------------------------------------ the CLI


async def test_admin_report_prints_csv_json_and_a_table(backend, desk, monkeypatch, capsys):
    monkeypatch.setenv("TTYDESK_DATABASE", str(backend.database or backend.settings.database_path))
    monkeypatch.setenv("TTYDESK_DATA_DIR", str(backend.settings.data_dir))
    monkeypatch.setenv("TTYDESK_RATE_CARD", str(backend.settings.rate_card))
    monkeypatch.setenv("TTYDESK_FREE_SERVICE_MESSAGES_PER_MONTH", "1")
    base = ["admin", "report", "tickets_per_day", "--from", "2026-11-24", "--to", "2026-11-26"]
    assert await asyncio.to_thread(cli.main, [*base, "--csv"]) == 0
    printed = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert printed == [
        ["Day", "Opened", "Closed"],
        ["2026-11-24", "2", "1"],
        ["2026-11-25", "2", "0"],
        ["2026-11-26", "0", "1"],
    ]
    assert await asyncio.to_thread(cli.main, [*base, "--json", "--number", OTHER_NUMBER]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["rows"] == [["2026-11-24", 0, 0], ["2026-11-25", 1, 0], ["2026-11-26", 0, 0]]
    cost = ["admin", "report", "cost_per_day", "--from", "2026-11-26", "--to", "2026-11-26"]
    assert await asyncio.to_thread(cli.main, cost) == 0
    table = capsys.readouterr().out
    assert "0.0625" in table and "EUR" in table
    assert await asyncio.to_thread(cli.main, [*base, "--agent", "nobody"]) != 0
    assert "agent" in capsys.readouterr().err
    assert await asyncio.to_thread(cli.main, ["admin", "report", "list"]) == 0
    assert "cost_per_day  What WhatsApp bills per day" in capsys.readouterr().out
