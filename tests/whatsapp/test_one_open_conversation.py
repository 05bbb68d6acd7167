"""A customer has one open conversation per business number, whatever agents do: a
closed ticket whose customer has since written again (a new ticket took the new message)
cannot be reopened beside it — the undo of a close racing the customer's next message
would otherwise leave two open threads for one customer, the agent answering in one
while the customer's replies land in the other."""

from __future__ import annotations

from datetime import timedelta

from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(minutes=30)


async def deliver(meta, *messages) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages))
    assert response.status_code == 200, response.text


async def open_tickets(backend) -> list[dict]:
    return await rows(
        backend,
        "SELECT t.id, t.subject FROM tickets t WHERE t.status != 'closed' ORDER BY t.id",
    )


async def closed_then_written_again(backend, meta, agent) -> tuple[int, int]:
    """The first ticket closed by an agent, then a new message from the customer."""
    await deliver(meta, p.text("my order is late", at=AT))
    (first,) = await open_tickets(backend)
    closed = await agent.patch(f"/api/v1/tickets/{first['id']}", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    await deliver(meta, p.text("any news?", at=AT + timedelta(minutes=1)))
    (second,) = await open_tickets(backend)
    assert second["id"] != first["id"]
    return first["id"], second["id"]


async def test_a_close_undone_after_the_customer_wrote_again_is_refused(backend, meta, agent):
    first, second = await closed_then_written_again(backend, meta, agent)
    # what the inbox's ``u`` sends to undo the close
    undo = await agent.patch(f"/api/v1/tickets/{first}", json={"status": "waiting_on_us"})
    assert undo.status_code == 409, undo.text
    error = undo.json()["error"]
    assert error["code"] == "conversation_continues"
    assert f"#{second}" in error["message"]
    # a snooze would reopen it too (pending: waiting on the contact)
    snooze = await agent.patch(
        f"/api/v1/tickets/{first}", json={"snoozed_until": (NOW + timedelta(hours=2)).isoformat()}
    )
    assert snooze.status_code == 409, snooze.text
    assert [t["id"] for t in await open_tickets(backend)] == [second]
    # the customer's next message still joins the one open conversation
    await deliver(meta, p.text("hello?", at=AT + timedelta(minutes=2)))
    texts = await rows(
        backend,
        "SELECT m.text FROM messages m JOIN threads th ON th.id = m.thread_id "
        "WHERE th.ticket_id = ? ORDER BY m.id",
        (second,),
    )
    assert [row["text"] for row in texts] == ["any news?", "hello?"]


async def test_a_bulk_reopen_of_two_closed_tickets_of_one_customer_changes_nothing(
    backend, meta, agent
):
    first, second = await closed_then_written_again(backend, meta, agent)
    closed = await agent.patch(f"/api/v1/tickets/{second}", json={"status": "closed"})
    assert closed.status_code == 200, closed.text
    bulk = await agent.post(
        "/api/v1/tickets/bulk", json={"ticket_ids": [first, second], "status": "waiting_on_us"}
    )
    assert bulk.status_code == 409, bulk.text
    assert bulk.json()["error"]["code"] == "conversation_continues"
    assert await open_tickets(backend) == []  # all or nothing


async def test_a_closed_ticket_is_reopened_while_the_customer_has_no_other(backend, meta, agent):
    await deliver(meta, p.text("my order is late", at=AT))
    (first,) = await open_tickets(backend)
    for status in ("closed", "waiting_on_us"):
        changed = await agent.patch(f"/api/v1/tickets/{first['id']}", json={"status": status})
        assert changed.status_code == 200, changed.text
    assert await open_tickets(backend) == [first]
    # reopened, it is where the customer's next message goes
    await deliver(meta, p.text("thanks", at=AT + timedelta(minutes=1)))
    assert await open_tickets(backend) == [first]
