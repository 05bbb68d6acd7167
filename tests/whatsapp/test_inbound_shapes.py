"""Shapes a third-party client (pywa) sends that ttydesk misread: a Flow answer, the
legacy security-code change, a malformed sender id."""

from __future__ import annotations

from datetime import timedelta

from backend.store.conversations import load_message
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=5)


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def message_of(backend, wamid):
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


def flow_answer(response_json, *, at=AT):
    return p.message(
        "interactive",
        {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": response_json},
        },
        at=at,
    )


async def test_a_flow_answer_shows_the_submitted_fields(backend, meta, agent):
    answer = flow_answer(
        '{"flow_token": "tok-1", "order_number": "A123", "rating": 4,'
        ' "topics": ["delivery", "refund"], "subscribe": true}'
    )
    await deliver(meta, answer)
    got = await message_of(backend, answer["id"])
    assert [(f.name, f.value) for f in got.form] == [
        ("order_number", "A123"),
        ("rating", "4"),
        ("topics", "delivery, refund"),
        ("subscribe", "yes"),
    ]
    assert got.text == "order_number: A123\nrating: 4\ntopics: delivery, refund\nsubscribe: yes"
    (ticket,) = await rows(backend, "SELECT subject FROM tickets")
    assert ticket["subject"] == "order_number: A123"
    # the API and the pushed frame say the same
    page = (await agent.get(f"/api/v1/threads/{got.thread_id}/messages")).json()
    assert page["items"][0]["form"][0] == {"name": "order_number", "value": "A123"}


async def test_a_flow_answer_with_bad_json_shows_its_body(backend, meta):
    broken = flow_answer('{"order_number": "A1', at=AT)
    not_an_object = flow_answer("[1, 2]", at=AT + timedelta(seconds=1))
    await deliver(meta, broken, not_an_object)
    for message in (broken, not_an_object):
        got = await message_of(backend, message["id"])
        assert (got.text, got.form) == ("Sent", [])


async def test_the_legacy_identity_change_is_a_security_code_change_not_a_new_id(backend, meta):
    await deliver(meta, p.text("hello", at=AT))
    (before,) = await rows(backend, "SELECT wa_id, wa_user_id, updated_at FROM contacts")
    changed = p.message(
        "system",
        {
            "body": "Maria's security code changed",
            "type": "customer_identity_changed",
            "customer": p.CUSTOMER_WA_ID,
            "wa_id": p.CUSTOMER_WA_ID,
            "identity": "Tc3ceTQ5mu0=",
        },
        at=AT + timedelta(seconds=1),
    )
    await deliver(meta, changed, contacts=[])
    line = await message_of(backend, changed["id"])
    assert (line.kind, line.event) == ("event", "identity_key_changed")
    assert await rows(backend, "SELECT wa_id, wa_user_id, updated_at FROM contacts") == [before]


async def test_a_malformed_from_is_not_taken_as_a_whatsapp_id(backend, meta):
    odd = p.text("hi", at=AT, from_="+34 612-ABC", user_id="ES.777")
    await deliver(
        meta, odd, contacts=[p.contact(wa_id="+34 612-ABC", user_id="ES.777", name="Odd")]
    )
    got = await message_of(backend, odd["id"])
    assert got.from_number == "ES.777"
    (contact,) = await rows(backend, "SELECT wa_id, wa_user_id, phone FROM contacts")
    assert contact == {"wa_id": None, "wa_user_id": "ES.777", "phone": None}
    assert await counter(backend, "webhook.invalid_wa_id") == 1
    # the same customer writing again is the same contact and thread
    await deliver(
        meta,
        p.text("again", at=AT + timedelta(seconds=1), from_="+34 612-ABC", user_id="ES.777"),
        contacts=[p.contact(wa_id="+34 612-ABC", user_id="ES.777", name="Odd")],
    )
    assert len(await rows(backend, "SELECT id FROM contacts")) == 1
    assert len(await rows(backend, "SELECT id FROM threads")) == 1
