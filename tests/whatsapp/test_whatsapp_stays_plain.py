"""What belongs to e-mail stays off WhatsApp: an agent's signature is never added to a
WhatsApp message, and a caption over WhatsApp's 1,024 characters (an e-mail's text may be
longer) is refused by field, nothing sent."""

from __future__ import annotations

from tests.whatsapp import outbound_fixtures as fx
from tests.whatsapp.outbound_fixtures import CUSTOMER

wa = fx.wa  # the fixture


async def test_a_whatsapp_reply_carries_no_signature(wa):
    signed = await wa.agent.patch("/api/v1/me", json={"signature": "Bob\nAcme Support"})
    assert signed.status_code == 200, signed.text
    thread = await wa.customer_writes("Where is my order?")
    message = (await wa.send(thread["id"], {"kind": "text", "text": "On its way"})).json()
    await wa.wait_message(message["id"], lambda m: m.wamid is not None)
    (item,) = await wa.sent(CUSTOMER)
    assert item["body"]["text"]["body"] == "On its way"


async def test_a_caption_longer_than_whatsapp_takes_is_refused_by_field(wa):
    from backend.simulator.media_samples import sample_bytes

    thread = await wa.customer_writes()
    uploaded = await wa.agent.post(
        "/api/v1/media", files={"file": ("photo.jpg", sample_bytes("image/jpeg"))}
    )
    body = {"kind": "media", "media_id": uploaded.json()["id"], "caption": "x" * 1025}
    refused = await wa.send(thread["id"], body)
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["field"] == "caption"
    assert "at most 1,024 characters and this one has 1,025" in error["message"]
    body["caption"] = "x" * 1024
    accepted = await wa.send(thread["id"], body)
    assert accepted.status_code == 202, accepted.text
    await wa.wait_message(accepted.json()["id"], lambda m: m.wamid is not None)
    (item,) = await wa.sent(CUSTOMER)
    assert item["body"]["image"]["caption"] == "x" * 1024
