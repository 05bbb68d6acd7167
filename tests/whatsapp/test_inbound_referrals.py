"""Where a message came from: a click-to-WhatsApp ad, a product enquiry — in the API,
the pushed events and the "came from an ad" thread filter."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(minutes=5)

AD = {
    "source_url": "https://fb.me/3cr4Wqqkv",
    "source_id": 120212345678901234,  # Meta's ids may come as numbers
    "source_type": "ad",
    "headline": "Winter sale: 50% off boots",
    "body": "Tap to chat with us about sizes",
    "media_type": "image",
    "image_url": "https://scontent.example/ad.jpg",
    "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
}
OTHER_CUSTOMER = "34699111222"


async def deliver(meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def api_message(agent, backend, wamid):
    (row,) = await rows(backend, "SELECT id, thread_id FROM messages WHERE wamid = ?", (wamid,))
    page = (await agent.get(f"/api/v1/threads/{row['thread_id']}/messages")).json()
    (found,) = [m for m in page["items"] if m["id"] == row["id"]]
    return found


async def test_a_message_from_an_ad_shows_the_ad_and_its_thread_is_filterable(backend, meta, agent):
    before = (await rows(backend, "SELECT COALESCE(MAX(seq), 0) AS s FROM events"))[0]["s"]
    from_ad = p.text("Do you have size 38?", at=AT, referral=AD)
    await deliver(meta, from_ad)
    plain = p.text("hello", at=AT, from_=OTHER_CUSTOMER, user_id="ES.2")
    await deliver(meta, plain, contacts=[p.contact(wa_id=OTHER_CUSTOMER, user_id="ES.2")])
    message = await api_message(agent, backend, from_ad["id"])
    assert message["referral"] == {
        "source_type": "ad",
        "source_id": "120212345678901234",
        "source_url": "https://fb.me/3cr4Wqqkv",
        "headline": "Winter sale: 50% off boots",
        "body": "Tap to chat with us about sizes",
        "media_type": "image",
        "image_url": "https://scontent.example/ad.jpg",
        "video_url": None,
        "thumbnail_url": None,
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ",
    }
    assert (await api_message(agent, backend, plain["id"]))["referral"] is None
    # the pushed message.created says the same as the API
    frames = [json.loads(f) for _, f in await backend.store.events_after(before)]
    created = [f["data"] for f in frames if f["type"] == "message.created"]
    assert created[0]["referral"] == message["referral"]
    assert created[1]["referral"] is None

    (ad_thread,) = await rows(
        backend, "SELECT thread_id FROM messages WHERE wamid = ?", (from_ad["id"],)
    )
    listed = (await agent.get("/api/v1/threads", params={"from_ad": "true"})).json()
    assert [t["id"] for t in listed["items"]] == [ad_thread["thread_id"]]
    assert listed["items"][0]["from_ad"] is True
    others = (await agent.get("/api/v1/threads", params={"from_ad": "false"})).json()
    assert ad_thread["thread_id"] not in [t["id"] for t in others["items"]]
    assert len(others["items"]) == 1
    # a saved view: "came from an ad"
    created_view = await agent.post(
        "/api/v1/views",
        json={
            "name": "From ads",
            "filters": [{"property": "from_ad", "operator": "is_any_of", "values": ["true"]}],
        },
    )
    assert created_view.status_code in (200, 201), created_view.text
    view_id = created_view.json()["id"]
    in_view = (await agent.get("/api/v1/threads", params={"view": view_id})).json()
    assert [t["id"] for t in in_view["items"]] == [ad_thread["thread_id"]]
    properties = (await agent.get("/api/v1/views/properties")).json()["items"]
    (prop,) = [item for item in properties if item["name"] == "from_ad"]
    assert (prop["label"], prop["kind"]) == ("Came from an ad", "bool")


async def test_a_later_ad_message_in_an_open_conversation_marks_the_thread(backend, meta, agent):
    await deliver(meta, p.text("hi", at=AT))
    await deliver(meta, p.text("again", at=AT + timedelta(seconds=1)))
    assert (await agent.get("/api/v1/threads", params={"from_ad": "true"})).json()["items"] == []
    await deliver(meta, p.text("saw the ad", at=AT + timedelta(seconds=2), referral=AD))
    listed = (await agent.get("/api/v1/threads", params={"from_ad": "true"})).json()
    assert len(listed["items"]) == 1


async def test_a_bad_from_ad_parameter_is_a_clear_error(agent):
    response = await agent.get("/api/v1/threads", params={"from_ad": "perhaps"})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["field"] == "from_ad"


async def test_a_product_enquiry_shows_the_product(backend, meta, agent):
    enquiry = p.text(
        "is this in stock?",
        at=AT,
        context={
            "from": p.DISPLAY_NUMBER,
            "id": "wamid.catalog-message",
            "referred_product": {"catalog_id": 8812345, "product_retailer_id": "boot-38-black"},
        },
    )
    await deliver(meta, enquiry)
    message = await api_message(agent, backend, enquiry["id"])
    assert message["referred_product"] == {
        "catalog_id": "8812345",
        "product_retailer_id": "boot-38-black",
    }
    assert message["referral"] is None
