"""The send path against the real simulator: every kind arrives, once, with our opaque data."""

from __future__ import annotations

from backend.simulator.config import TemplateConfig
from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER

wa = fx.wa  # the fixture


async def test_text_reply_is_sent_once_with_opaque_data(wa):
    thread = await wa.customer_writes("Where is my order?")
    response = await wa.send(thread["id"], {"kind": "text", "text": "Let me check *now*"})
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["status"] == "queued"
    assert message["direction"] == "out"
    sent = await wa.wait_message(message["id"], lambda m: m.wamid is not None)
    assert sent.status in ("sent", "delivered", "read")
    items = await wa.sent(CUSTOMER)
    assert len(items) == 1
    body = items[0]["body"]
    assert body["text"] == {"body": "Let me check *now*", "preview_url": True}
    assert body["to"] == CUSTOMER
    assert body["biz_opaque_callback_data"] == f"ttydesk:{message['id']}"
    assert items[0]["wamid"] == sent.wamid
    ticket = (await wa.agent.get(f"/api/v1/threads/{thread['id']}")).json()["ticket"]
    assert ticket["status"] == "waiting_on_contact"


async def upload(env, content: bytes, filename: str):
    response = await env.agent.post("/api/v1/media", files={"file": (filename, content)})
    assert response.status_code == 201, response.text
    return response.json()


async def test_media_is_uploaded_at_send_and_sent_by_id(wa):
    from backend.simulator.media_samples import sample_bytes

    thread = await wa.customer_writes()
    image = await upload(wa, sample_bytes("image/jpeg"), "photo.jpg")
    assert image["kind"] == "image" and image["mime_type"] == "image/jpeg"
    pdf = await upload(wa, sample_bytes("application/pdf"), "invoice.pdf")
    assert pdf["kind"] == "document"
    first = (
        await wa.send(thread["id"], {"kind": "media", "media_id": image["id"], "caption": "Here"})
    ).json()
    second = (await wa.send(thread["id"], {"kind": "media", "media_id": pdf["id"]})).json()
    assert first["kind"] == "image" and first["media"]["caption"] == "Here"
    for message in (first, second):
        await wa.wait_message(message["id"], lambda m: m.wamid is not None)
    items = await wa.sent(CUSTOMER)
    assert [item["type"] for item in items] == ["image", "document"]
    assert items[0]["body"]["image"]["caption"] == "Here"
    assert items[0]["body"]["image"]["id"] in wa.sim.state.media
    assert items[1]["body"]["document"]["filename"] == "invoice.pdf"


async def test_template_variables_from_agent_then_contact_mapping(wa):
    thread = await wa.customer_writes()
    templates = (await wa.agent.get("/api/v1/templates")).json()["items"]
    order = next(t for t in templates if t["name"] == "order_update" and t["language"] == "en_US")
    assert order["sendable"] and order["variables"] == ["header", "1", "2", "button.0"]
    pending = next(t for t in templates if t["name"] == "spring_sale")
    assert not pending["sendable"]
    response = await wa.agent.patch(
        f"/api/v1/templates/{order['id']}", json={"variable_mapping": {"1": "first_name"}}
    )
    assert response.status_code == 200, response.text
    body = {
        "kind": "template",
        "name": "order_update",
        "language": "en_US",
        "variables": {"header": "https://example.com/box.jpg", "button.0": "A123"},
    }
    refused = await wa.send(thread["id"], body)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "variables.2"
    body["variables"]["2"] = "A123"
    response = await wa.send(thread["id"], body)
    assert response.status_code == 202, response.text
    message = response.json()
    assert message["kind"] == "template" and message["template_name"] == "order_update"
    assert "your order A123 is on its way" in message["text"]
    await wa.wait_message(message["id"], lambda m: m.wamid is not None)
    sent = (await wa.sent(CUSTOMER))[-1]["body"]["template"]
    body_params = next(c for c in sent["components"] if c["type"] == "body")["parameters"]
    assert body_params[1] == {"type": "text", "text": "A123"}
    assert body_params[0]["text"]  # filled from the contact's first name
    not_approved = await wa.send(
        thread["id"], {"kind": "template", "name": "spring_sale", "language": "en_US"}
    )
    assert not_approved.status_code == 422


async def test_a_blank_value_typed_by_the_agent_falls_back_to_the_contacts_mapped_one(wa):
    thread = await wa.customer_writes()
    templates = (await wa.agent.get("/api/v1/templates")).json()["items"]
    order = next(t for t in templates if t["name"] == "order_update" and t["language"] == "en_US")
    response = await wa.agent.patch(
        f"/api/v1/templates/{order['id']}", json={"variable_mapping": {"1": "first_name"}}
    )
    assert response.status_code == 200, response.text
    first_name = await wa.backend.store.readers.value(
        "SELECT c.first_name FROM contacts c JOIN threads th ON th.contact_id = c.id "
        "WHERE th.id = ?",
        (thread["id"],),
    )
    assert first_name and first_name.strip()
    variables = {"header": "https://example.com/box.jpg", "1": "  ", "2": "A1", "button.0": "A1"}
    body = {"kind": "template", "name": "order_update", "language": "en_US"}
    response = await wa.send(thread["id"], body | {"variables": variables})
    assert response.status_code == 202, response.text
    message = response.json()
    assert first_name in message["text"]
    await wa.wait_message(message["id"], lambda m: m.wamid is not None)
    sent = (await wa.sent(CUSTOMER))[-1]["body"]["template"]
    body_params = next(c for c in sent["components"] if c["type"] == "body")["parameters"]
    assert body_params[0] == {"type": "text", "text": first_name}


async def test_named_template(wa):
    thread = await wa.customer_writes()
    response = await wa.send(
        thread["id"],
        {
            "kind": "template",
            "name": "appointment_reminder",
            "language": "en_US",
            "variables": {"first_name": "Maria", "date": "1 December"},
        },
    )
    assert response.status_code == 202, response.text
    message = await wa.wait_message(response.json()["id"], lambda m: m.wamid is not None)
    assert message.text == "Hi Maria, see you on 1 December."
    params = (await wa.sent(CUSTOMER))[-1]["body"]["template"]["components"][0]["parameters"]
    assert {p["parameter_name"] for p in params} == {"first_name", "date"}


async def test_note_is_never_sent_and_reply_quotes_and_reaction(wa):
    thread = await wa.customer_writes("My parcel is late")
    inbound = (await wa.agent.get(f"/api/v1/threads/{thread['id']}/messages")).json()["items"][0]
    note = await wa.send(thread["id"], {"kind": "note", "text": "VIP customer"})
    assert note.status_code == 202 and note.json()["kind"] == "note"
    assert await wa.backend.store.outbox_state(note.json()["id"]) is None
    reply = (
        await wa.send(thread["id"], {"kind": "text", "text": "Sorry!", "reply_to": inbound["id"]})
    ).json()
    reaction = await wa.send(
        thread["id"], {"kind": "reaction", "message_id": inbound["id"], "emoji": "👍"}
    )
    assert reaction.status_code == 202, reaction.text
    await wa.wait_message(reply["id"], lambda m: m.wamid is not None)
    await wa.wait_message(reaction.json()["id"], lambda m: m.wamid is not None)
    items = await wa.sent(CUSTOMER)
    assert [item["type"] for item in items] == ["text", "reaction"]
    assert items[0]["body"]["context"] == {"message_id": inbound["wamid"]}
    assert items[1]["body"]["reaction"] == {"message_id": inbound["wamid"], "emoji": "👍"}
    target = await wa.message(inbound["id"])
    assert [r.emoji for r in target.reactions] == ["👍"]
    # the reaction's event line ("Reacted 👍") is the help desk's words: not searchable
    search = "/api/v1/search"
    assert (await wa.agent.get(search, params={"q": "reacted"})).json()["items"] == []
    replies = (await wa.agent.get(search, params={"q": "sorry"})).json()["items"]
    assert [hit["message_id"] for hit in replies] == [reply["id"]]


async def test_client_id_makes_a_send_idempotent(wa):
    thread = await wa.customer_writes()
    body = {"kind": "text", "text": "once", "client_id": "draft-1"}
    first = await wa.send(thread["id"], body)
    second = await wa.send(thread["id"], body)
    assert first.json()["id"] == second.json()["id"]
    await wa.wait_message(first.json()["id"], lambda m: m.wamid is not None)
    assert len(await wa.sent(CUSTOMER)) == 1


async def test_free_form_outside_the_session_is_refused_and_nothing_stored(wa):
    thread = await wa.customer_writes()
    await wa.backend.store.write(
        lambda tx: tx.execute(
            "UPDATE threads SET session_expires_at = '2020-01-01T00:00:00.000000+00:00' WHERE id = ?",
            (thread["id"],),
        )
    )
    before = (await wa.agent.get(f"/api/v1/threads/{thread['id']}/messages")).json()["items"]
    response = await wa.send(thread["id"], {"kind": "text", "text": "hello?"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "session_expired"
    after = (await wa.agent.get(f"/api/v1/threads/{thread['id']}/messages")).json()["items"]
    assert len(after) == len(before)
    template = await wa.send(
        thread["id"], {"kind": "template", "name": "hello_world", "language": "en_US"}
    )
    assert template.status_code == 202, template.text


async def test_131047_from_meta_fails_the_message_and_retry_sends_again(wa):
    thread = await wa.customer_writes()
    await wa.control("POST", "/clock", json={"advance_seconds": 25 * 3600})  # Meta's window closed
    message = (await wa.send(thread["id"], {"kind": "text", "text": "late reply"})).json()
    failed = await wa.wait_message(message["id"], lambda m: m.status == "failed")
    assert failed.error_code == 131047
    assert "send a template" in failed.error_message
    await wa.customer_writes("still there?")  # reopens the window at Meta
    retried = await wa.agent.post(f"/api/v1/threads/{thread['id']}/messages/{message['id']}/retry")
    assert retried.status_code == 202, retried.text
    again = await wa.wait_message(
        message["id"], lambda m: m.status in ("sent", "delivered", "read")
    )
    assert again.wamid != failed.wamid
    assert len(await wa.sent(CUSTOMER)) == 2
    not_failed = await wa.agent.post(
        f"/api/v1/threads/{thread['id']}/messages/{message['id']}/retry"
    )
    assert not_failed.status_code == 409


async def test_start_conversation_from_a_contact_needs_a_template(wa):
    thread = await wa.customer_writes()
    contact_id = thread["contact"]["id"]
    await wa.backend.store.write(
        lambda tx: tx.execute(
            "UPDATE tickets SET status = 'closed' WHERE id = ?", (thread["ticket"]["id"],)
        )
    )
    await wa.backend.store.write(
        lambda tx: tx.execute(
            "UPDATE threads SET session_expires_at = NULL WHERE id = ?", (thread["id"],)
        )
    )
    refused = await wa.agent.post(
        f"/api/v1/contacts/{contact_id}/conversations", json={"text": "hi"}
    )
    assert refused.status_code == 409
    response = await wa.agent.post(
        f"/api/v1/contacts/{contact_id}/conversations",
        json={"template": {"name": "hello_world", "language": "en_US"}},
    )
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["thread"]["id"] != thread["id"]
    assert started["thread"]["ticket"]["status"] == "waiting_on_contact"
    await wa.wait_message(started["message"]["id"], lambda m: m.wamid is not None)


async def add_templates(env, *templates) -> dict[str, dict]:
    """Templates the WABA gains, synced into the help desk; returned by name."""
    state = env.sim.state
    state.wabas[fx.WABA_ID].templates.extend(state.template_from_config(t) for t in templates)
    synced = await env.agent.post("/api/v1/templates/sync")
    assert synced.status_code == 200, synced.text
    return {t["name"]: t for t in synced.json()["templates"]}


ORDER_NEWS = TemplateConfig(
    name="order_news",
    components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"},
        {"type": "BODY", "text": "Hi {{1}}, it ships {{2}}."},
        {
            "type": "BUTTONS",
            "buttons": [{"type": "URL", "text": "Track", "url": "https://e.com/t/{{1}}"}],
        },
    ],
)


async def test_header_and_body_variables_are_separate_components(wa):
    """A header's {{1}} is its own variable: the customer gets "Order A-7", not "Order Jorge"."""
    thread = await wa.customer_writes()
    template = (await add_templates(wa, ORDER_NEWS))["order_news"]
    assert template["variables"] == ["header.1", "1", "2", "button.0"]
    mapped = await wa.agent.patch(
        f"/api/v1/templates/{template['id']}",
        json={"variable_mapping": {"1": "first_name", "header.1": "order_id"}},
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["variable_mapping"] == {"1": "first_name", "header.1": "order_id"}
    # the old flat body: the body's {{1}} no longer fills the header
    flat = {"kind": "template", "name": "order_news", "language": "en_US"}
    refused = await wa.send(thread["id"], flat | {"variables": {"1": "Jorge", "2": "today"}})
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "variables.header.1"
    assert await wa.sent(fx.CUSTOMER) == []
    response = await wa.send(
        thread["id"],
        flat
        | {
            "components": {
                "header": {"1": "A-7"},
                "body": {"1": "  ", "2": "today"},  # blank: the contact's mapped first name
                "buttons": {"0": "A-7"},
            }
        },
    )
    assert response.status_code == 202, response.text
    await wa.wait_message(response.json()["id"], lambda m: m.wamid is not None)
    sent = (await wa.sent(fx.CUSTOMER))[-1]["body"]["template"]
    by_type = {c["type"]: c for c in sent["components"]}
    assert by_type["header"]["parameters"] == [{"type": "text", "text": "A-7"}]
    first_name = by_type["body"]["parameters"][0]["text"]
    assert first_name and first_name != "A-7"
    assert by_type["body"]["parameters"][1] == {"type": "text", "text": "today"}
    assert by_type["button"] == {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "A-7"}],
    }
    assert response.json()["text"] == f"Order A-7\n\nHi {first_name}, it ships today."


async def test_named_header_and_body_parameters_by_component(wa):
    thread = await wa.customer_writes()
    await add_templates(
        wa,
        TemplateConfig(
            name="named_news",
            parameter_format="NAMED",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Order {{order_id}}"},
                {"type": "BODY", "text": "Hi {{first_name}}, order {{order_id}} ships."},
            ],
        ),
    )
    response = await wa.send(
        thread["id"],
        {
            "kind": "template",
            "name": "named_news",
            "language": "en_US",
            "components": {
                "header": {"order_id": "H-1"},
                "body": {"first_name": "Maria", "order_id": "B-2"},
            },
        },
    )
    assert response.status_code == 202, response.text
    assert response.json()["text"] == "Order H-1\n\nHi Maria, order B-2 ships."
    await wa.wait_message(response.json()["id"], lambda m: m.wamid is not None)
    sent = (await wa.sent(fx.CUSTOMER))[-1]["body"]["template"]["components"]
    assert sent == [
        {
            "type": "header",
            "parameters": [{"type": "text", "text": "H-1", "parameter_name": "order_id"}],
        },
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Maria", "parameter_name": "first_name"},
                {"type": "text", "text": "B-2", "parameter_name": "order_id"},
            ],
        },
    ]
    unknown = await wa.send(
        thread["id"],
        {
            "kind": "template",
            "name": "named_news",
            "language": "en_US",
            "components": {"header": {"order_id": "H-1", "nope": "x"}, "body": {"first_name": "M"}},
        },
    )
    assert unknown.status_code == 422  # body.order_id unfilled: blocks the send


async def test_a_reply_against_a_stale_last_message_is_refused(wa):
    """Two agents answer the same message: the second is told, and nothing of theirs goes out."""
    thread = await wa.customer_writes("Is my order late?")
    path = f"/api/v1/threads/{thread['id']}/messages"
    (inbound,) = (await wa.agent.get(path)).json()["items"]
    first = await wa.admin.post(
        path, json={"kind": "text", "text": "Yes, sorry", "expected_last_message_id": inbound["id"]}
    )
    assert first.status_code == 202, first.text
    second = await wa.agent.post(
        path,
        json={"kind": "text", "text": "No, it's fine", "expected_last_message_id": inbound["id"]},
    )
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "thread_changed" and "draft is kept" in error["message"]
    texts = [m["text"] for m in (await wa.agent.get(path)).json()["items"]]
    assert "No, it's fine" not in texts
    await wa.wait_message(first.json()["id"], lambda m: m.wamid is not None)
    assert [item["body"]["text"]["body"] for item in await wa.sent(fx.CUSTOMER)] == ["Yes, sorry"]
    # a note in between is not a reply: written against the admin's answer, it goes out
    note = await wa.admin.post(path, json={"kind": "note", "text": "I took it"})
    assert note.status_code == 202
    latest = first.json()["id"]
    agreed = await wa.agent.post(
        path, json={"kind": "text", "text": "Anything else?", "expected_last_message_id": latest}
    )
    assert agreed.status_code == 202, agreed.text
    # a template written against a stale message is refused the same way (the admin has
    # not seen the agent's "Anything else?")
    stale = await wa.admin.post(
        path,
        json={
            "kind": "template",
            "name": "appointment_reminder",
            "language": "en_US",
            "variables": {"first_name": "Maria", "date": "1 December"},
            "expected_last_message_id": latest,
        },
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "thread_changed"


async def test_the_writers_own_sends_are_not_someone_writing_since(wa):
    """A reply written against a message is not refused for the writer's own template or
    reply sent since (they wrote it: nothing unseen); another agent's still refuses it."""
    thread = await wa.customer_writes("Is my order late?")
    path = f"/api/v1/threads/{thread['id']}/messages"
    (inbound,) = (await wa.agent.get(path)).json()["items"]
    template = await wa.agent.post(
        path,
        json={
            "kind": "template",
            "name": "appointment_reminder",
            "language": "en_US",
            "variables": {"first_name": "Maria", "date": "1 December"},
        },
    )
    assert template.status_code == 202, template.text
    reply = await wa.agent.post(
        path, json={"kind": "text", "text": "Also…", "expected_last_message_id": inbound["id"]}
    )
    assert reply.status_code == 202, reply.text
    again = await wa.agent.post(
        path, json={"kind": "text", "text": "And…", "expected_last_message_id": inbound["id"]}
    )
    assert again.status_code == 202, again.text
    stale = await wa.admin.post(
        path, json={"kind": "text", "text": "Me too", "expected_last_message_id": inbound["id"]}
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "thread_changed"


async def test_a_file_sent_from_another_number_is_uploaded_again_for_that_number(wa):
    """A media id is good only with the number it was uploaded for (Meta's rule): the same
    file sent next from a second number of the desk is uploaded again, for that number."""
    from backend.simulator.media_samples import sample_bytes

    [channel] = (await wa.admin.get("/api/v1/channels")).json()["items"]
    added = await wa.admin.post(
        f"/api/v1/channels/{channel['id']}/phone-numbers", json={"phone_number_id": fx.PHONE_ID_2}
    )
    assert added.status_code == 201, added.text
    first_thread = await wa.customer_writes()
    second_thread = await wa.customer_writes("Hello again", phone_number_id=fx.PHONE_ID_2)
    assert second_thread["id"] != first_thread["id"]
    image = await upload(wa, sample_bytes("image/jpeg"), "photo.jpg")
    for thread in (first_thread, second_thread):
        sent = (await wa.send(thread["id"], {"kind": "media", "media_id": image["id"]})).json()
        await wa.wait_message(sent["id"], lambda m: m.wamid is not None)
    ids = [item["body"]["image"]["id"] for item in await wa.sent(CUSTOMER)]
    assert len(set(ids)) == 2
    assert [wa.sim.state.media[i].phone_number_id for i in ids] == [fx.PHONE_ID, fx.PHONE_ID_2]
