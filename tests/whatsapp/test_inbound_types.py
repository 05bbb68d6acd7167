"""Every inbound message type of WHATSAPP.md, stored as the right kind with its details."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backend import schemas
from backend.store.conversations import load_message, load_thread
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, rows, signed_post

AT = NOW - timedelta(minutes=5)


async def deliver(backend, meta, *messages, **kw) -> None:
    response = await signed_post(meta, p.messages_envelope(*messages, **kw))
    assert response.status_code == 200, response.text


async def stored(backend, wamid: str) -> schemas.Message:
    (row,) = await rows(backend, "SELECT id FROM messages WHERE wamid = ?", (wamid,))
    return await backend.store.write(lambda tx: load_message(tx, row["id"]))


@pytest.mark.parametrize("name", sorted(p.EXPECTED_KINDS))
async def test_each_type_is_stored_as_its_kind(backend, meta, name):
    message = p.every_type(AT)[name]
    await deliver(backend, meta, message)
    got = await stored(backend, message["id"])
    assert got.kind == p.EXPECTED_KINDS[name]
    assert got.direction == "in"
    assert got.created_at == AT.replace(microsecond=0)
    assert got.from_number == p.CUSTOMER_WA_ID
    assert got.to_number == "+" + p.DISPLAY_NUMBER


async def test_all_types_in_one_post_make_one_thread(backend, meta):
    every = p.every_type(AT)
    await deliver(backend, meta, *every.values())
    (thread,) = await rows(backend, "SELECT id, ticket_id FROM threads")
    (ticket,) = await rows(
        backend,
        "SELECT th.inbound_count, t.status, t.subject FROM tickets t JOIN threads th ON th.id = t.thread_id",
    )
    assert ticket["inbound_count"] == len(every)
    assert ticket["status"] == "waiting_on_us"
    total = await rows(
        backend, "SELECT COUNT(*) AS n FROM messages WHERE thread_id = ?", (thread["id"],)
    )
    assert total[0]["n"] == len(every)


async def test_text(backend, meta):
    msg = p.text("Hola, *my order* has not arrived\nsecond line", at=AT)
    await deliver(backend, meta, msg)
    got = await stored(backend, msg["id"])
    assert got.text == "Hola, *my order* has not arrived\nsecond line"
    (ticket,) = await rows(backend, "SELECT subject, status FROM tickets")
    assert ticket["subject"] == "Hola, *my order* has not arrived"
    hits = await rows(backend, "SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'arrived'")
    assert [h["rowid"] for h in hits] == [got.id]


async def test_media_kinds_keep_caption_mime_and_a_pending_media_row(backend, meta):
    every = p.every_type(AT)
    await deliver(
        backend,
        meta,
        every["image"],
        every["document"],
        every["voice"],
        every["sticker"],
        every["gif_as_mp4"],
    )
    image = await stored(backend, every["image"]["id"])
    assert image.media is not None
    assert image.media.caption == "the broken box"
    assert image.media.mime_type == "image/jpeg"
    assert image.media.state == "pending"
    document = await stored(backend, every["document"]["id"])
    assert document.media.filename == "invoice-123.pdf"
    assert document.media.caption == "invoice"
    voice = await stored(backend, every["voice"]["id"])
    assert voice.kind == "voice"
    assert voice.media.mime_type == "audio/ogg; codecs=opus"
    sticker = await stored(backend, every["sticker"]["id"])
    assert sticker.media.animated is True
    media_rows = await rows(
        backend, "SELECT external_id, state, direction, phone_number_id FROM media"
    )
    assert len(media_rows) == 5
    assert {r["state"] for r in media_rows} == {"pending"}
    assert {r["phone_number_id"] for r in media_rows} == {p.PHONE_NUMBER_ID}
    assert "2754859441498128" in {r["external_id"] for r in media_rows}


async def test_an_attachment_of_an_unsupported_mime_type_is_a_placeholder(backend, meta):
    zipped = p.every_type(AT)["zip_document"]
    await deliver(backend, meta, zipped)
    got = await stored(backend, zipped["id"])
    assert got.kind == "unsupported"
    assert got.unsupported_reason == "unsupported attachment type application/zip"
    assert got.media is None
    assert (await rows(backend, "SELECT COUNT(*) AS n FROM media"))[0]["n"] == 0


async def test_location_contacts_order_and_replies(backend, meta):
    every = p.every_type(AT)
    await deliver(
        backend,
        meta,
        every["location"],
        every["contacts"],
        every["order"],
        every["button"],
        every["list_reply"],
        every["nfm_reply"],
        every["call_permission_reply"],
    )
    location = await stored(backend, every["location"]["id"])
    assert location.location == schemas.Location(
        latitude=40.4168,
        longitude=-3.7038,
        name="Puerta del Sol",
        address="Plaza de la Puerta del Sol, Madrid",
        url="https://maps.example/sol",
    )
    shared = await stored(backend, every["contacts"]["id"])
    assert shared.contacts == [
        schemas.SharedContact(
            name="Juan Perez", phones=["+34 600 111 222"], emails=["juan@example.com"], org="Acme"
        )
    ]
    order = await stored(backend, every["order"]["id"])
    assert order.text == "for my sister"
    assert order.order == [
        schemas.OrderItem(product_retailer_id="sku-1", quantity=2, item_price=9.99, currency="EUR")
    ]
    assert (await stored(backend, every["button"]["id"])).text == "Track my order"
    assert (await stored(backend, every["list_reply"]["id"])).text == "Shipping"
    assert (await stored(backend, every["nfm_reply"]["id"])).text == "rating: 5"
    call = await stored(backend, every["call_permission_reply"]["id"])
    assert call.text == "Call permission accepted"
    (raw,) = await rows(
        backend, "SELECT content FROM messages WHERE wamid = ?", (every["nfm_reply"]["id"],)
    )
    assert json.loads(raw["content"])["reply"]["response"] == {"flow_token": "abc", "rating": "5"}


async def test_unsupported_messages_keep_the_reason_and_raw_payload(backend, meta):
    every = p.every_type(AT)
    names = ["unsupported_poll", "unavailable", "future_type", "legacy_unknown", "unreadable_edit"]
    await deliver(backend, meta, *(every[n] for n in names))
    reasons = {}
    for name in names:
        got = await stored(backend, every[name]["id"])
        assert got.kind == "unsupported"
        reasons[name] = got.unsupported_reason
    assert reasons == {
        "unsupported_poll": "poll_creation",
        "unavailable": "message unavailable",
        "future_type": "hologram",
        "legacy_unknown": "unknown message type",
        "unreadable_edit": "edited message",
    }
    (raw,) = await rows(
        backend, "SELECT raw FROM messages WHERE wamid = ?", (every["unsupported_poll"]["id"],)
    )
    assert json.loads(raw["raw"])["errors"][0]["code"] == 131051
    (thread,) = await rows(backend, "SELECT last_message_preview FROM threads")
    assert thread["last_message_preview"] == "Unsupported message"


async def test_a_gif_meta_did_not_convert_is_a_placeholder_named_gif(backend, meta):
    gif = p.message(
        "unsupported", {"type": "gif"}, at=AT, errors=[p.error(131051, "Message type unknown")]
    )
    await deliver(backend, meta, gif)
    got = await stored(backend, gif["id"])
    assert (got.kind, got.unsupported_reason) == ("unsupported", "gif")


async def test_reply_context_and_forwarded_flags(backend, meta):
    first = p.text("my order is A123", at=AT)
    reply = p.text(
        "any news?",
        at=AT + timedelta(seconds=5),
        context={"from": p.CUSTOMER_WA_ID, "id": first["id"]},
    )
    unknown_reply = p.text(
        "re: something old",
        at=AT + timedelta(seconds=6),
        context={"from": p.CUSTOMER_WA_ID, "id": "wamid.never-seen"},
    )
    forwarded = p.text("look at this", at=AT + timedelta(seconds=7), context={"forwarded": True})
    frequently = p.text(
        "chain letter", at=AT + timedelta(seconds=8), context={"frequently_forwarded": True}
    )
    product = p.text(
        "is this in stock?",
        at=AT + timedelta(seconds=9),
        context={
            "from": p.CUSTOMER_WA_ID,
            "id": "wamid.catalog",
            "referred_product": {"catalog_id": "cat-1", "product_retailer_id": "sku-9"},
        },
    )
    await deliver(backend, meta, first, reply, unknown_reply, forwarded, frequently, product)
    original = await stored(backend, first["id"])
    got = await stored(backend, reply["id"])
    assert got.reply_to is not None
    assert got.reply_to.id == original.id
    assert got.reply_to.preview == "my order is A123"
    dangling = await stored(backend, unknown_reply["id"])
    assert dangling.reply_to.id is None
    assert dangling.reply_to.wamid == "wamid.never-seen"
    assert (await stored(backend, forwarded["id"])).forwarded is True
    assert (await stored(backend, frequently["id"])).forwarded is True
    (row,) = await rows(backend, "SELECT content FROM messages WHERE wamid = ?", (product["id"],))
    assert json.loads(row["content"])["referred_product"]["product_retailer_id"] == "sku-9"


async def test_referral_from_an_ad_is_kept(backend, meta):
    msg = p.text(
        "I saw your ad",
        at=AT,
        referral={
            "source_url": "https://fb.me/ad",
            "source_id": "ad-1",
            "source_type": "ad",
            "headline": "Sale",
            "body": "50% off",
            "media_type": "image",
            "image_url": "https://example.com/ad.jpg",
            "ctwa_clid": "clid-1",
        },
    )
    await deliver(backend, meta, msg)
    (row,) = await rows(backend, "SELECT content FROM messages WHERE wamid = ?", (msg["id"],))
    assert json.loads(row["content"])["referral"]["ctwa_clid"] == "clid-1"


async def test_events_are_pushed_for_a_new_message(backend, meta):
    before = (await rows(backend, "SELECT COALESCE(MAX(seq), 0) AS s FROM events"))[0]["s"]
    await deliver(backend, meta, p.text("hello", at=AT))
    frames = [json.loads(frame) for _, frame in await backend.store.events_after(before)]
    types = [f["type"] for f in frames]
    assert types[:2] == ["message.created", "thread.updated"]
    # the thread carries its ticket (a separate ticket.updated is optional on this path)
    thread = frames[1]["data"]
    assert thread["ticket"]["status"] == "waiting_on_us"
    assert thread["ticket"]["inbound_count"] == 1
    assert set(types[2:]) <= {"ticket.updated", "view.counts"}


async def test_session_opens_24h_from_the_message_and_is_never_shortened(backend, meta):
    late = p.text("later", at=AT)
    early = p.text("earlier, delivered late", at=AT - timedelta(hours=2))
    await deliver(backend, meta, late)
    await deliver(backend, meta, early)
    (thread,) = await rows(backend, "SELECT id FROM threads")
    got = await backend.store.write(lambda tx: load_thread(tx, thread["id"]))
    assert got.session_expires_at == AT.replace(microsecond=0) + timedelta(hours=24)
    assert got.ticket.session_expires_at == got.session_expires_at


async def test_a_later_customer_message_extends_the_session(backend, meta):
    await deliver(backend, meta, p.text("first", at=AT - timedelta(hours=3)))
    (thread,) = await rows(backend, "SELECT id FROM threads")
    first = await backend.store.write(lambda tx: load_thread(tx, thread["id"]))
    await deliver(backend, meta, p.text("three hours on", at=AT))
    got = await backend.store.write(lambda tx: load_thread(tx, thread["id"]))
    assert first.session_expires_at == AT.replace(microsecond=0) + timedelta(hours=21)
    assert got.session_expires_at == AT.replace(microsecond=0) + timedelta(hours=24)
    assert got.ticket.session_expires_at == got.session_expires_at


async def test_a_closed_ticket_is_not_reopened_a_new_one_starts(backend, meta):
    from backend.store.conversations import set_ticket_status

    await deliver(backend, meta, p.text("first problem", at=AT))
    (ticket,) = await rows(backend, "SELECT id FROM tickets")
    await backend.store.write(lambda tx: set_ticket_status(tx, ticket["id"], "closed", None))
    await deliver(backend, meta, p.text("a new problem", at=AT + timedelta(minutes=1)))
    tickets = await rows(backend, "SELECT subject, status FROM tickets ORDER BY id")
    assert tickets == [
        {"subject": "first problem", "status": "closed"},
        {"subject": "a new problem", "status": "waiting_on_us"},
    ]


async def test_a_username_user_without_a_phone_number(backend, meta):
    msg = p.text("hi from a username", at=AT, from_=None, user_id="US.13491208655302741918")
    contacts = [
        p.contact(wa_id=None, user_id="US.13491208655302741918", name=None, username="@sam")
    ]
    await deliver(backend, meta, msg, contacts=contacts)
    (contact,) = await rows(
        backend, "SELECT phone, wa_id, wa_user_id, wa_username, country FROM contacts"
    )
    assert contact == {
        "phone": None,
        "wa_id": None,
        "wa_user_id": "US.13491208655302741918",
        "wa_username": "@sam",
        "country": "US",
    }
    got = await stored(backend, msg["id"])
    assert got.from_number == "US.13491208655302741918"


async def test_a_new_ticket_is_routed_to_an_agent_with_the_skill(backend, meta):
    # the seeded agent Bob holds lang:es; a Spanish number routes to him by country
    await deliver(backend, meta, p.text("hola", at=AT))
    (ticket,) = await rows(backend, "SELECT owner_id FROM tickets")
    assert ticket["owner_id"] in (backend.admin.id, backend.agent.id)
