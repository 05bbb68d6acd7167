"""An agent's e-mail with its own subject and addresses copied in (the send API's
``subject`` and ``cc``), as the relay receives it; a bad address is refused by field and
the draft kept; WhatsApp has no subject nor Cc."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from tests.backend.wsclient import LiveClient
from tests.email.test_inbound_wiring import mail, send, threads
from tests.email.test_outbound import CUSTOMER, desk_with_relay, relay_to, reply_json, settled

ACCOUNTS = "accounts@example.com"


async def test_a_reply_goes_with_the_agents_subject_and_cc(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER, ACCOUNTS)) as (desk, relay):
        await send(desk, mail("Where is my refund?", message_id="<r1@example.com>"))
        [thread] = await threads(desk)
        path = f"/api/v1/threads/{thread['id']}/messages"
        async with desk.client(desk.admin_token) as client:
            draft = {"text": "kept"}
            assert (
                await client.put(f"/api/v1/threads/{thread['id']}/draft", json=draft)
            ).status_code in (200, 204)
            refused = await client.post(
                path, json={"kind": "text", "text": "Refunded", "cc": ["accounts at example"]}
            )
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["field"] == "cc"
            kept = await client.get(f"/api/v1/threads/{thread['id']}/draft")
            assert kept.json()["text"] == "kept"
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply_json(
                desk,
                thread["id"],
                {"kind": "text", "text": "Refunded today.", "subject": "Your refund",
                 "cc": [f" {ACCOUNTS} ", CUSTOMER]},
            )  # fmt: skip
            assert (await settled(live, queued["id"]))["status"] == "sent"
        assert queued["email"]["cc"] == [ACCOUNTS]
        ((raw, _, recipients),) = relay.received
        sent = message_from_bytes(raw, policy=policy.default)
        assert sorted(recipients) == sorted([CUSTOMER, ACCOUNTS])
        assert str(sent["Cc"]) == ACCOUNTS
        assert str(sent["Subject"]) == f"Re: Your refund [#{thread['ticket']['id']}]"
        # the thread shows the subject the customer received, not the one typed
        assert queued["email"]["subject"] == str(sent["Subject"])


async def test_a_whatsapp_reply_with_a_subject_or_cc_is_refused(tmp_path: Path):
    from tests.backend.seed import seed_thread

    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, _relay):
        chat = await seed_thread(desk.store, name="Lucía", phone="+34611111111", text="Hola")
        path = f"/api/v1/threads/{chat.id}/messages"
        async with desk.client(desk.admin_token) as client:
            for extra in ({"subject": "Hi"}, {"cc": [ACCOUNTS]}):
                refused = await client.post(path, json={"kind": "text", "text": "Hola", **extra})
                assert refused.status_code == 422, refused.text
                assert refused.json()["error"]["field"] == next(iter(extra))
