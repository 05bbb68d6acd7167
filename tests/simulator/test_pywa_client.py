"""The simulator checked by a client nobody here wrote: `pywa`, a widely used Cloud API
library, sends through it as if it were Meta and parses every webhook it emits.

pywa is a test-only dependency; it is imported plainly, so a missing pywa fails this
module instead of skipping it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pywa import WhatsApp as ParsingClient
from pywa import errors as pywa_errors
from pywa import types as pt
from pywa.types.base_update import BaseUpdate, RawUpdate
from pywa_async import WhatsApp
from pywa_async import types as at
from pywa_async.types import templates as tt

from backend.simulator.media_samples import sample_bytes
from tests.simulator.conftest import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE_ID,
    WABA_ID,
    RunningSimulator,
    V,
    WebhookReceiver,
)
from tests.support import TEST_TLS

CUSTOMER = "34612345678"
USERNAME = "@maria"


@pytest.fixture
async def wa(running: RunningSimulator) -> AsyncIterator[WhatsApp]:
    """pywa's async client, its Graph API base URL pointed at the simulator."""
    session = httpx.AsyncClient(verify=TEST_TLS)  # plain HTTP: the run's one TLS context
    client = WhatsApp(phone_id=PHONE_ID, token=ACCESS_TOKEN, session=session, waba_id=WABA_ID)
    # pywa fixes graph.facebook.com as the session's base URL; the session is ours.
    session.base_url = str(running.server.make_url(V))
    yield client
    await session.aclose()


def parsing_client() -> ParsingClient:
    return ParsingClient(
        phone_id=PHONE_ID,
        token=ACCESS_TOKEN,
        waba_id=WABA_ID,
        app_secret=APP_SECRET,
        session=httpx.Client(verify=TEST_TLS),  # it makes no request: the run's TLS context
    )


def parse(client: ParsingClient, body: bytes) -> BaseUpdate:
    """pywa's own parsing of one webhook body, without its web server: the handler type
    its dispatcher picks, then that update type's `from_update`. Errors propagate."""
    raw = RawUpdate(body, hmac_header=None, update_hash=hashlib.sha256(body).hexdigest())
    handler = client._get_handler_type(raw)
    assert handler is not None, f"pywa found no handler for {raw.value}"
    return client._handlers_to_updates[handler].from_update(client=client, update=raw)


async def open_window(running: RunningSimulator) -> str:
    await running.control("POST", "/customers", json={"wa_id": CUSTOMER, "username": USERNAME})
    return (await running.customer_writes(CUSTOMER, {"type": "text", "text": "hola"}))["wamid"]


async def sent_items(running: RunningSimulator) -> dict[str, dict[str, Any]]:
    await running.sim.wait_idle()
    _, sent = await running.control("GET", f"/sent?to={CUSTOMER}")
    return {item["wamid"]: item for item in sent["items"]}


# ---- pywa sends through the simulator --------------------------------------------------------


async def test_pywa_sends_every_message_type_and_the_simulator_records_each(
    running: RunningSimulator, wa: WhatsApp
) -> None:
    inbound = await open_window(running)
    link = "https://cdn.example.com/files/"
    sends: list[tuple[str, Any, Any]] = [
        ("text", await wa.send_message(CUSTOMER, "Hello from pywa"), {"body": "Hello from pywa"}),
        (
            "location",
            await wa.send_location(CUSTOMER, 40.4168, -3.7038, name="Sol", address="Madrid"),
            {"latitude": 40.4168, "longitude": -3.7038, "name": "Sol", "address": "Madrid"},
        ),
        (
            "reaction",
            await wa.send_reaction(CUSTOMER, "👍", message_id=inbound),
            {"message_id": inbound, "emoji": "👍"},
        ),
    ]
    media = {
        "image": (wa.send_image, "image/jpeg"),
        "video": (wa.send_video, "video/mp4"),
        "audio": (wa.send_audio, "audio/ogg"),
        "document": (wa.send_document, "application/pdf"),
        "sticker": (wa.send_sticker, "image/webp"),
    }
    for kind, (send, mime_type) in media.items():
        # pywa sends its unset-filename sentinel unless a document is given a filename
        named = {"filename": "guide.pdf"} if kind == "document" else {}
        by_link = await send(CUSTOMER, f"{link}{kind}", **named)
        sends.append((kind, by_link, {"link": f"{link}{kind}"}))
        uploaded = await send(CUSTOMER, sample_bytes(mime_type), mime_type=mime_type, **named)
        media_id = uploaded.uploaded_media.id
        assert running.sim.state.media[media_id].mime_type == mime_type
        sends.append((kind, uploaded, {"id": media_id}))
    contact = at.Contact(
        name=at.Contact.Name(formatted_name="Ana Torres", first_name="Ana"),
        phones=[at.Contact.Phone(phone="+34 600 111 222", type="CELL")],
    )
    sends.append(("contacts", await wa.send_contact(CUSTOMER, contact), None))
    buttons = await wa.send_message(
        CUSTOMER, "Was this helpful?", buttons=[at.Button("Yes", "yes"), at.Button("No", "no")]
    )
    sends.append(("interactive", buttons, {"type": "button"}))
    choices = at.SectionList(
        "Choose", sections=[at.Section("Topics", rows=[at.SectionRow("Billing", "billing")])]
    )
    listed = await wa.send_message(CUSTOMER, "What is it about?", buttons=choices)
    sends.append(("interactive", listed, {"type": "list"}))

    recorded = await sent_items(running)
    assert len(recorded) == len(sends)
    for kind, result, expected in sends:
        item = recorded[result.id]
        assert item["type"] == kind
        assert item["statuses"][-1] in ("delivered", "read"), (kind, item["statuses"])
        assert "failed" not in item["statuses"]
        if expected is not None:
            assert expected.items() <= item["body"][kind].items(), (kind, item["body"])
    contacts_sent = recorded[sends[-3][1].id]["body"]["contacts"]
    assert contacts_sent[0]["name"]["formatted_name"] == "Ana Torres"


async def test_pywa_sends_templates_with_header_and_body_parameters(
    running: RunningSimulator, wa: WhatsApp
) -> None:
    """Fails on the old simulator: pywa sends component types as "HEADER"/"BODY" (as
    Meta's examples do), which the simulator refused with 132000."""
    positional = await wa.send_template(
        CUSTOMER,
        "order_update",
        tt.TemplateLanguage.ENGLISH_US,
        params=[
            tt.HeaderImage.params(image="https://cdn.example.com/parcel.jpg"),
            tt.BodyText.params("Maria", "A-123"),
        ],
    )
    named = await wa.send_template(
        CUSTOMER,
        "appointment_reminder",
        tt.TemplateLanguage.ENGLISH_US,
        params=[tt.BodyText.params(first_name="Maria", date="1 December")],
    )
    recorded = await sent_items(running)
    components = {
        c["type"].lower(): c for c in recorded[positional.id]["body"]["template"]["components"]
    }
    header = components["header"]["parameters"][0]
    assert header["image"]["link"] == "https://cdn.example.com/parcel.jpg"
    assert [p["text"] for p in components["body"]["parameters"]] == ["Maria", "A-123"]
    named_body = recorded[named.id]["body"]["template"]["components"][0]["parameters"]
    assert {p["parameter_name"]: p["text"] for p in named_body} == {
        "first_name": "Maria",
        "date": "1 December",
    }
    for wamid in (positional.id, named.id):
        assert recorded[wamid]["statuses"][-1] in ("delivered", "read")


@pytest.mark.parametrize("header, body", [("HEADER", "BODY"), ("Header", "body")])
async def test_template_component_types_match_in_any_case(
    running: RunningSimulator, header: str, body: str
) -> None:
    """Fails on the old simulator (132000: the parameters were not found)."""
    status, answer = await running.send(
        {
            "to": CUSTOMER,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": header,
                        "parameters": [{"type": "IMAGE", "image": {"link": "https://x.test/a"}}],
                    },
                    {
                        "type": body,
                        "parameters": [
                            {"type": "text", "text": "Maria"},
                            {"type": "text", "text": "A-1"},
                        ],
                    },
                ],
            },
        }
    )
    assert status == 200, answer
    assert answer["messages"][0]["message_status"] == "accepted"


async def test_a_template_missing_its_parameters_is_still_refused(
    running: RunningSimulator,
) -> None:
    status, answer = await running.send(
        {
            "to": CUSTOMER,
            "type": "template",
            "template": {
                "name": "order_update",
                "language": {"code": "en_US"},
                "components": [{"type": "BODY", "parameters": [{"type": "text", "text": "M"}]}],
            },
        }
    )
    assert status == 400
    assert answer["error"]["code"] == 132000


async def test_pywa_reads_the_template_list_with_its_summary_and_each_template_by_id(
    running: RunningSimulator, wa: WhatsApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Fails on the old simulator: no `summary` (pywa raised KeyError), templates without
    `example` (pywa could not parse their components), and `GET /{template_id}` unknown."""
    result = await wa.get_templates()
    seeded = running.sim.state.wabas[WABA_ID].templates
    assert result.total_count == len(seeded)
    assert result.message_template_count == len(seeded)
    assert result.message_template_limit == 6000  # the seeded business is verified
    assert result.are_translations_complete is False  # only order_update is in Spanish
    assert {(t.name, t.language.value) for t in result} == {(t.name, t.language) for t in seeded}
    for template in result:
        # pywa keeps a component it cannot parse as a raw dict (and logs why)
        raw = [c for c in template.components if isinstance(c, dict)]
        assert raw == [], (template.name, raw)
    assert "Failed to parse component" not in caplog.text

    approved = await wa.get_templates(statuses=[tt.TemplateStatus.APPROVED])
    assert approved.total_count == sum(t.status == "APPROVED" for t in seeded)
    assert approved.message_template_count == len(seeded)

    order_update = next(t for t in seeded if t.name == "order_update")
    details = await wa.get_template(order_update.id)
    assert (details.id, details.name, details.language.value) == (
        order_update.id,
        "order_update",
        order_update.language,
    )
    body = next(c for c in details.components if isinstance(c, tt.BodyText))
    assert body.text == "Hi {{1}}, your order {{2}} is on its way."


async def test_the_summary_holds_only_the_fields_asked_for(running: RunningSimulator) -> None:
    status, answer = await running.graph(
        "GET", f"/{WABA_ID}/message_templates?summary=total_count&status=REJECTED"
    )
    assert status == 200
    assert answer["summary"] == {"total_count": 1}
    _, plain = await running.graph("GET", f"/{WABA_ID}/message_templates")
    assert "summary" not in plain


async def test_a_template_created_without_examples_is_listed_with_made_up_ones(
    running: RunningSimulator,
) -> None:
    await running.control(
        "POST",
        "/templates",
        json={
            "name": "named_header",
            "parameter_format": "NAMED",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "For {{name}}"},
                {"type": "BODY", "text": "Hi {{name}}, order {{order}} ships today."},
            ],
        },
    )
    _, answer = await running.graph("GET", f"/{WABA_ID}/message_templates?name=named_header")
    header, body = answer["data"][0]["components"]
    assert [p["param_name"] for p in header["example"]["header_text_named_params"]] == ["name"]
    assert [p["param_name"] for p in body["example"]["body_text_named_params"]] == [
        "name",
        "order",
    ]


async def test_an_unknown_template_id_is_metas_unknown_object(running: RunningSimulator) -> None:
    status, answer = await running.graph("GET", "/999000111")
    assert status == 400
    assert answer["error"]["code"] == 100 and answer["error"]["error_subcode"] == 33


# ---- unknown paths ---------------------------------------------------------------------------


async def test_unknown_paths_answer_metas_json_error(
    running: RunningSimulator, wa: WhatsApp
) -> None:
    """Fails on the old simulator: a plain-text `404: Not Found`."""
    status, answer = await running.graph("GET", f"/{WABA_ID}/no_such_edge/deeper")
    assert status == 400
    assert answer["error"]["code"] == 2500
    assert answer["error"]["type"] == "OAuthException"
    assert answer["error"]["message"] == "Unknown path components: /no_such_edge/deeper"
    assert answer["error"]["fbtrace_id"]

    status, answer = await running.graph("PUT", f"/{PHONE_ID}/messages", json={})
    assert status == 400
    assert answer["error"]["code"] == 100 and answer["error"]["error_subcode"] == 33
    assert answer["error"]["message"].startswith("Unsupported put request.")

    async with running.client.get("/no/version/here") as response:
        assert response.status == 400
        assert (await response.json())["error"]["code"] == 2500

    status, answer = await running.graph("GET", f"/{WABA_ID}/no_such_edge", token="wrong")
    assert status == 401 and answer["error"]["code"] == 190  # the token is checked first

    with pytest.raises(pywa_errors.WhatsAppError) as raised:
        await wa.api._request(method="GET", endpoint=f"/{WABA_ID}/no_such_edge")
    assert raised.value.code == 2500


async def test_unknown_control_paths_answer_the_control_apis_json_error(
    running: RunningSimulator,
) -> None:
    status, answer = await running.control("GET", "/no_such_thing")
    assert status == 404 and answer["error"]["code"] == "not_found"
    status, answer = await running.control("DELETE", "/customers")
    assert status == 405 and answer["error"]["code"] == "method_not_allowed"


# ---- pywa parses what the simulator emits -----------------------------------------------------


INBOUND_SPECS: list[tuple[dict[str, Any], type[BaseUpdate]]] = [
    ({"type": "text", "text": "Hi there"}, pt.Message),
    ({"type": "image", "caption": "the parcel"}, pt.Message),
    ({"type": "video"}, pt.Message),
    ({"type": "audio", "voice": True}, pt.Message),
    ({"type": "document", "filename": "invoice.pdf"}, pt.Message),
    ({"type": "sticker", "animated": True}, pt.Message),
    ({"type": "location", "latitude": 41.39, "longitude": 2.17, "name": "Office"}, pt.Message),
    ({"type": "contacts", "name": "Ana Torres", "phone": "+34 600 111 222"}, pt.Message),
    ({"type": "order", "text": "these please"}, pt.Message),
    ({"type": "request_welcome"}, pt.Message),
    ({"type": "unsupported", "unsupported_type": "poll"}, pt.Message),
    ({"type": "revoke", "original_message_id": "wamid.gone"}, pt.DeletedMessage),
    (
        {"type": "interactive", "reply_type": "nfm_reply", "response_json": {"flow_token": "t"}},
        pt.FlowCompletion,
    ),
    (
        {"type": "interactive", "reply_type": "call_permission_reply", "response": "accept"},
        pt.CallPermissionUpdate,
    ),
]


def deliveries(running: RunningSimulator) -> list[tuple[bytes, str]]:
    return [(d.body, d.signature) for d in running.sim.webhooks.deliveries]


async def test_pywa_parses_every_inbound_message_the_simulator_emits(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.control("POST", "/customers", json={"wa_id": CUSTOMER, "username": USERNAME})
    wamids = [(await running.customer_writes(CUSTOMER, spec))["wamid"] for spec, _ in INBOUND_SPECS]
    first = wamids[0]
    wamids.append(
        (await running.customer_writes(CUSTOMER, {"type": "reaction", "message_id": first}))[
            "wamid"
        ]
    )
    await running.sim.wait_idle()
    client = parsing_client()
    by_wamid: dict[str, BaseUpdate] = {}
    for body, signature in deliveries(running):
        assert client.webhook_update_validator(body, signature) is None  # pywa checks the HMAC
        update = parse(client, body)
        by_wamid[update.id] = update

    for wamid, (spec, expected_type) in zip(wamids, INBOUND_SPECS, strict=False):
        update = by_wamid[wamid]
        assert isinstance(update, expected_type), (spec, update)
        assert update.from_user.wa_id == CUSTOMER
        assert update.from_user.username == USERNAME
    messages = {wamid: by_wamid[wamid] for wamid in wamids}
    text, image, video, audio, document, sticker, location, contacts, order = (
        messages[w] for w in wamids[:9]
    )
    assert text.text == "Hi there"
    assert image.image.caption == "the parcel"
    stored = running.sim.state.media[image.image.id]
    assert image.image.sha256 == stored.sha256 and image.image.mime_type == stored.mime_type
    assert video.video.mime_type == "video/mp4"
    assert audio.audio.voice is True
    assert document.document.filename == "invoice.pdf"
    assert sticker.sticker.animated is True
    assert (location.location.latitude, location.location.name) == (41.39, "Office")
    assert contacts.contacts[0].name.formatted_name == "Ana Torres"
    assert order.order.text == "these please"
    assert messages[wamids[10]].error.code == 131051
    permission = messages[wamids[13]]
    assert permission.response.value == "accept"
    assert permission.response_source.value == "user_action"
    assert permission.expiration_timestamp is not None
    reaction = messages[wamids[-1]]
    assert reaction.reaction.message_id == first


async def test_button_and_list_replies_carry_the_message_they_answer(
    running: RunningSimulator, wa: WhatsApp
) -> None:
    """Fails on the old simulator: no `context` (pywa raised KeyError on a list reply)."""
    await open_window(running)
    buttons = await wa.send_message(
        CUSTOMER, "Was this helpful?", buttons=[at.Button("Yes", "yes"), at.Button("No", "no")]
    )
    listed = await wa.send_message(
        CUSTOMER,
        "What is it about?",
        buttons=at.SectionList(
            "Choose", sections=[at.Section("Topics", rows=[at.SectionRow("Billing", "billing")])]
        ),
    )
    other_buttons = await wa.send_message(
        CUSTOMER, "Anything else?", buttons=[at.Button("Done", "done")]
    )
    template = await wa.send_template(
        CUSTOMER,
        "hello_world",
        tt.TemplateLanguage.ENGLISH_US,
    )
    await running.sim.wait_idle()
    replies = {
        "button": {"type": "interactive", "reply_type": "button_reply", "id": "no"},
        "list": {"type": "interactive", "reply_type": "list_reply", "id": "billing"},
        "quick": {"type": "button", "text": "Talk to us", "payload": "Talk to us"},
    }
    wamids = {k: (await running.customer_writes(CUSTOMER, v))["wamid"] for k, v in replies.items()}
    await running.sim.wait_idle()
    client = parsing_client()
    parsed = {u.id: u for u in (parse(client, body) for body, _ in deliveries(running))}

    button = parsed[wamids["button"]]
    assert isinstance(button, pt.CallbackButton) and button.data == "no"
    # the older of two button messages: the one that offered "no"
    assert button.reply_to_message.id == buttons.id != other_buttons.id
    assert button.reply_to_message.from_user_id == "15550001111"
    selection = parsed[wamids["list"]]
    assert isinstance(selection, pt.CallbackSelection) and selection.data == "billing"
    assert selection.reply_to_message.id == listed.id
    quick = parsed[wamids["quick"]]
    assert isinstance(quick, pt.CallbackButton)
    assert quick.reply_to_message.id == template.id


async def test_a_reply_to_nothing_the_simulator_sent_has_no_context(
    running: RunningSimulator,
) -> None:
    result = await running.customer_writes(
        CUSTOMER, {"type": "interactive", "reply_type": "button_reply", "id": "yes"}
    )
    assert "context" not in result["message"]


async def test_pywa_parses_statuses_of_every_kind(running: RunningSimulator, wa: WhatsApp) -> None:
    """Fails on the old simulator for `sent`: it carried the username, which Meta sends
    only once the message is delivered."""
    await open_window(running)
    voice = await wa.send_audio(CUSTOMER, "https://cdn.example.com/voice.ogg")
    await running.sim.wait_idle()
    await running.control("POST", f"/customers/{CUSTOMER}/play", json={"message_id": voice.id})
    await running.control(
        "POST", "/statuses", json={"message_id": voice.id, "status": "failed", "error_code": 131047}
    )
    await running.sim.wait_idle()
    client = parsing_client()
    statuses: dict[str, pt.MessageStatus] = {}
    failed: list[dict[str, Any]] = []
    for body, _ in deliveries(running):
        raw = RawUpdate(body, hmac_header=None, update_hash="")
        item = raw.value.get("statuses", [{}])[0]
        if item.get("status") == "failed":
            failed.append(raw.value)
            continue
        if item:
            update = parse(client, body)
            assert isinstance(update, pt.MessageStatus) and update.id == voice.id
            statuses[update.status.value] = update
    assert set(statuses) == {"sent", "delivered", "read", "played"}
    assert statuses["sent"].from_user.username is None
    assert statuses["played"].from_user.username is None
    assert statuses["delivered"].from_user.username == USERNAME
    assert statuses["read"].from_user.username == USERNAME
    assert statuses["sent"].from_user.wa_id == CUSTOMER
    assert statuses["sent"].pricing is not None

    # A failed status carries no contacts (WHATSAPP.md), which pywa 4.5's MessageStatus
    # requires; its error object is still read by pywa as Meta's error for that code.
    (value,) = failed
    assert "contacts" not in value
    error = pywa_errors.WhatsAppError.from_dict(value["statuses"][0]["errors"][0])
    assert isinstance(error, pywa_errors.ReEngagementMessage)


async def test_pywa_parses_template_status_and_account_updates(
    running: RunningSimulator,
) -> None:
    """Fails on the old simulator: no `entry[].time`, which pywa reads as the update's time."""
    before = int(running.sim.clock.now())
    await running.control(
        "POST",
        "/templates",
        json={
            "name": "follow_up",
            "status": "PAUSED",
            "category": "MARKETING",
            "notify": True,
            "reason": "NONE",
        },
    )
    await running.control(
        "POST",
        "/events",
        json={
            "field": "account_update",
            "value": {
                "phone_number": "15550001111",
                "event": "ACCOUNT_VIOLATION",
                "violation_info": {"violation_type": "SCAM"},
            },
        },
    )
    after = int(running.sim.clock.now())
    await running.sim.wait_idle()
    client = parsing_client()
    template_update, account_update = (parse(client, body) for body, _ in deliveries(running))
    assert isinstance(template_update, pt.TemplateStatusUpdate)
    template = next(t for t in running.sim.state.wabas[WABA_ID].templates if t.name == "follow_up")
    assert str(template_update.template_id) == template.id
    assert template_update.new_status.value == "PAUSED"
    assert before <= template_update.timestamp.timestamp() <= after
    assert isinstance(account_update, pt.AccountUpdate)
    assert account_update.event.value == "ACCOUNT_VIOLATION"
    assert account_update.violation_info.type == "SCAM"
    assert before <= account_update.timestamp.timestamp() <= after


async def test_messages_changes_carry_no_entry_time(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.customer_writes(CUSTOMER, {"type": "text", "text": "hi"})
    await running.sim.wait_idle()
    assert all("time" not in entry for p in receiver.payloads for entry in p["entry"])


# ---- webhook kinds beyond `messages`, for the backend's tests ----------------------------------


async def test_a_customers_call_arrives_as_a_calls_webhook_pywa_reads(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    await running.control("POST", "/customers", json={"wa_id": CUSTOMER, "username": USERNAME})
    connect = await running.customer_writes(CUSTOMER, {"type": "call", "event": "connect"})
    end = await running.customer_writes(
        CUSTOMER,
        {"type": "call", "event": "terminate", "call_id": connect["wamid"], "duration": 42},
    )
    await running.sim.wait_idle()
    client = parsing_client()
    ringing, ended = (parse(client, body) for body, _ in deliveries(running))
    assert isinstance(ringing, pt.CallConnect) and ringing.id == connect["wamid"]
    assert ringing.from_user.wa_id == CUSTOMER
    assert ringing.direction.value == "USER_INITIATED"
    assert isinstance(ended, pt.CallTerminate) and ended.id == end["wamid"] == connect["wamid"]
    assert (ended.status.value, ended.duration) == ("COMPLETED", 42)
    assert [c["field"] for p in receiver.payloads for e in p["entry"] for c in e["changes"]] == [
        "calls",
        "calls",
    ]
    assert end["message"]["to"] == "15550001111"


async def test_a_customers_call_reopens_the_service_window(running: RunningSimulator) -> None:
    await running.control("POST", "/customers", json={"wa_id": CUSTOMER, "last_inbound_at": 0})
    status, closed = await running.send({"to": CUSTOMER, "text": {"body": "hello?"}})
    await running.sim.wait_idle()
    assert running.sim.state.sent[closed["messages"][0]["id"]].statuses[-1]["status"] == "failed"
    await running.customer_writes(CUSTOMER, {"type": "call", "event": "connect"})
    status, answer = await running.send({"to": CUSTOMER, "text": {"body": "sorry I missed it"}})
    await running.sim.wait_idle()
    assert status == 200
    assert running.sim.state.sent[answer["messages"][0]["id"]].statuses[-1]["status"] != "failed"


async def test_a_message_sent_from_the_business_app_arrives_as_an_echo_pywa_reads(
    running: RunningSimulator, receiver: WebhookReceiver
) -> None:
    result = await running.customer_writes(CUSTOMER, {"type": "echo", "text": "On my way"})
    await running.sim.wait_idle()
    ((body, _),) = deliveries(running)
    echo = parse(parsing_client(), body)
    assert isinstance(echo, pt.OutgoingMessage)
    assert (echo.id, echo.text) == (result["wamid"], "On my way")
    (payload,) = receiver.payloads
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "smb_message_echoes"
    assert change["value"]["message_echoes"][0]["from"] == "15550001111"
    assert change["value"]["message_echoes"][0]["to"] == CUSTOMER
    _, received = await running.control("GET", "/received")
    assert received["items"] == []  # the business sent it, no customer did


async def test_the_legacy_identity_change_changes_no_identifier(
    running: RunningSimulator,
) -> None:
    before = (await running.control("POST", "/customers", json={"wa_id": CUSTOMER}))[1]
    result = await running.customer_writes(
        CUSTOMER, {"type": "system", "system_type": "customer_identity_changed"}
    )
    message = result["message"]
    assert message["system"]["type"] == "customer_identity_changed"
    assert message["system"]["customer"] == CUSTOMER
    assert set(message["identity"]) == {"acknowledged", "created_timestamp", "hash"}
    assert (result["customer"]["user_id"], result["customer"]["wa_id"]) == (
        before["user_id"],
        CUSTOMER,
    )
    await running.sim.wait_idle()
    assert (
        "contacts"
        not in running.sim.webhooks.deliveries[-1].payload["entry"][0]["changes"][0]["value"]
    )


async def test_an_unknown_call_event_is_refused(running: RunningSimulator) -> None:
    status, answer = await running.control(
        "POST", f"/customers/{CUSTOMER}/messages", json={"type": "call", "event": "hold"}
    )
    assert status == 422 and answer["error"]["code"] == "invalid_message"
