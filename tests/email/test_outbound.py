"""An agent's reply on an e-mail thread: queued in the e-mail outbox, sent once through
the relay (a real aiosmtpd server the test starts), with the headers a mail client
threads by; a relay's refusal, a hang-up and a retry, as the agent sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from backend.email.channel import OUTBOX
from backend.email.smtp_listener import SupportMailbox
from backend.keys import SERVICES
from tests.backend.wsclient import LiveClient
from tests.email.test_inbound_wiring import mail, messages, send, smtp_port, threads
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend

SUPPORT = "support@acme.test"
CUSTOMER = "lucia@example.com"


@asynccontextmanager
async def desk_with_relay(
    tmp_path: Path, relay: Relaying
) -> AsyncIterator[tuple[LiveBackend, Relaying]]:
    async with relay as relay_port:
        backend = LiveBackend(
            tmp_path,
            overrides={
                "email": {
                    "addresses": [SUPPORT],
                    "display_name": "Acme Support",
                    "listen_port": 0,
                    "relay_host": "127.0.0.1",
                    "relay_port": relay_port,
                    "relay_starttls": False,  # a relay on this machine
                }
            },
        )
        await backend.start()
        await backend.seed_agents()
        assert backend.app is not None
        backend.app[SERVICES][OUTBOX].retry_delays = (0.05, 0.05)
        try:
            yield backend, relay
        finally:
            await backend.stop()


async def reply(backend: LiveBackend, thread_id: int, text: str) -> dict:
    async with backend.client(backend.admin_token) as client:
        response = await client.post(
            f"/api/v1/threads/{thread_id}/messages", json={"kind": "text", "text": text}
        )
        assert response.status_code == 202, response.text
        return response.json()


async def settled(live: LiveClient, message_id: int) -> dict:
    """The message's update that settles it (sent or failed)."""
    while True:
        frame = await live.next_of("message.updated", timeout=15)
        data = frame["data"]
        if data["id"] == message_id and data["status"] in ("sent", "failed"):
            return data


def relay_to(*addresses: str) -> Relaying:
    """A relay that takes mail for these addresses and keeps it in ``received``."""
    relay = Relaying()

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        relay.received.append((raw, sender, recipients))

    relay.mailbox = SupportMailbox(keep, addresses)
    return relay


async def test_a_reply_is_sent_once_with_the_headers_a_mail_client_threads_by(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        await send(desk, mail("Where is my parcel?", message_id="<p1@example.com>"))
        [thread] = await threads(desk)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "It ships today: https://acme.test/t/1")
            assert queued["status"] == "queued"
            done = await settled(live, queued["id"])
        assert done["status"] == "sent"
        ((raw, sender, recipients),) = relay.received  # exactly once
        assert (sender, recipients) == (SUPPORT, [CUSTOMER])
        sent = message_from_bytes(raw, policy=policy.default)
        ticket = thread["ticket"]["id"]
        assert str(sent["From"]) == f"Acme Support <{SUPPORT}>"
        assert str(sent["To"]) == CUSTOMER
        assert str(sent["Subject"]) == f"Re: My parcel [#{ticket}]"
        assert str(sent["In-Reply-To"]) == "<p1@example.com>"
        assert "<p1@example.com>" in str(sent["References"])
        assert str(sent["Message-ID"]).endswith("@acme.test>")
        plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = sent.get_body(("html",)).get_content()
        assert "It ships today" in plain and "-- \nAda Admin\nAcme Support" in plain
        assert '<a href="https://acme.test/t/1">' in html

        # the customer's answer to our mail threads by its Message-ID
        await send(
            desk,
            mail("Thanks!", message_id="<p2@example.com>", subject="Re: whatever",
                 in_reply_to=str(sent["Message-ID"])),
        )  # fmt: skip
        assert [t["id"] for t in await threads(desk)] == [thread["id"]]
        texts = [m["text"] for m in await messages(desk, thread["id"])]
        assert "Thanks!" in texts


async def test_a_relay_that_refuses_for_good_fails_the_reply_with_its_words(tmp_path: Path):
    async def refuse(raw: bytes, sender: str, recipients: list[str]) -> None:
        raise AssertionError("never reached: the recipient is refused")

    relay = Relaying(SupportMailbox(refuse, ["someone-else@example.com"]))
    async with desk_with_relay(tmp_path, relay) as (desk, relay):
        await send(desk, mail("Hello", message_id="<r1@example.com>"))
        [thread] = await threads(desk)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "Hi Lucía")
            done = await settled(live, queued["id"])
        assert done["status"] == "failed"
        assert done["error_message"].startswith("The relay refused it: 550")


async def test_a_refusal_for_now_is_tried_again_and_sent_once(tmp_path: Path):
    attempts: list[int] = []
    kept: list[bytes] = []

    async def busy_once(raw: bytes, sender: str, recipients: list[str]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("busy")  # answered 451
        kept.append(raw)

    relay = Relaying(SupportMailbox(busy_once, [CUSTOMER]))
    async with desk_with_relay(tmp_path, relay) as (desk, relay):
        await send(desk, mail("Hello", message_id="<b1@example.com>"))
        [thread] = await threads(desk)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "On its way")
            done = await settled(live, queued["id"])
        assert done["status"] == "sent"
        assert (len(attempts), len(kept)) == (2, 1)


async def test_a_relay_that_hangs_up_after_taking_the_mail_is_flagged_never_resent(
    tmp_path: Path,
):
    taken: list[int] = []

    class HangsUp:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            taken.append(1)
            server.transport.close()  # took the message, never answered
            return "250 OK"

    async with desk_with_relay(tmp_path, Relaying(HangsUp())) as (desk, relay):
        await send(desk, mail("Hello", message_id="<h1@example.com>"))
        [thread] = await threads(desk)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "On its way")
            done = await settled(live, queued["id"])
        assert done["status"] == "failed"
        assert done["error_message"].startswith("Not known whether it was sent")
        assert desk.app is not None
        assert await desk.app[SERVICES][OUTBOX].run_once() == 0  # nothing left to send
        assert len(taken) == 1


async def test_a_template_on_an_email_thread_is_refused_and_the_draft_kept(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        await send(desk, mail("Hello", message_id="<t1@example.com>"))
        [thread] = await threads(desk)
        async with desk.client(desk.admin_token) as client:
            await client.put(f"/api/v1/threads/{thread['id']}/draft", json={"text": "draft"})
            response = await client.post(
                f"/api/v1/threads/{thread['id']}/messages",
                json={"kind": "template", "name": "order_update", "language": "en"},
            )
            assert response.status_code == 422
            assert response.json()["error"]["field"] == "kind"
            draft = await client.get(f"/api/v1/threads/{thread['id']}/draft")
        assert draft.json()["text"] == "draft"
        assert relay.received == []


async def test_a_failed_reply_retried_by_the_agent_goes_out_once_under_its_message_id(
    tmp_path: Path,
):
    kept: list[bytes] = []

    class RefusesFirst:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            if not kept and not getattr(self, "refused", False):
                self.refused = True
                return "554 5.7.1 Message refused by policy"
            kept.append(envelope.original_content)
            return "250 OK"

    async with desk_with_relay(tmp_path, Relaying(RefusesFirst())) as (desk, relay):
        await send(desk, mail("Hello", message_id="<f1@example.com>"))
        [thread] = await threads(desk)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "On its way")
            failed = await settled(live, queued["id"])
            assert failed["error_message"].startswith("The relay refused it: 554")
            async with desk.client(desk.admin_token) as client:
                retried = await client.post(
                    f"/api/v1/threads/{thread['id']}/messages/{queued['id']}/retry"
                )
                assert retried.status_code in (200, 202), retried.text
                assert retried.json()["status"] == "queued"
            done = await settled(live, queued["id"])
        assert done["status"] == "sent"
        [raw] = kept
        sent = message_from_bytes(raw, policy=policy.default)
        stored = desk.store.readers  # the Message-ID it was queued under
        header = await stored.value(
            "SELECT header_id FROM email_messages WHERE message_id = ?", (queued["id"],)
        )
        assert str(sent["Message-ID"]) == header


async def test_a_bounce_of_our_reply_marks_it_failed_with_the_reason_in_words(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        await send(desk, mail("Hello", message_id="<d1@example.com>"))
        [thread] = await threads(desk)
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply(desk, thread["id"], "On its way")
            await settled(live, queued["id"])
            ((raw, _, _),) = relay.received
            ours = str(message_from_bytes(raw, policy=policy.default)["Message-ID"])
            bounce = message_from_bytes(
                (
                    "From: MAILER-DAEMON@example.com\r\nTo: support@acme.test\r\n"
                    "Subject: Undelivered Mail Returned to Sender\r\n"
                    "Message-ID: <dsn-1@example.com>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/report; report-type=delivery-status; "
                    'boundary="b"\r\n\r\n'
                    "--b\r\nContent-Type: text/plain\r\n\r\nIt could not be delivered.\r\n"
                    "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
                    "Reporting-MTA: dns; mx.example.com\r\n\r\n"
                    "Final-Recipient: rfc822; lucia@example.com\r\nAction: failed\r\n"
                    "Status: 5.1.1\r\n\r\n"
                    f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ours}\r\n\r\n"
                    "--b--\r\n"
                ).encode(),
                policy=policy.default,
            )
            await send(desk, bounce)
            failed = await settled(live, queued["id"])
        assert failed["error_message"] == "Not delivered: the address does not exist"
        assert [t["id"] for t in await threads(desk)] == [thread["id"]]  # no ticket opened


async def test_the_channel_switch_writes_by_email_from_a_whatsapp_thread(tmp_path: Path):
    from tests.backend.seed import seed_thread

    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        chat = await seed_thread(desk.store, name="Lucía", phone="+34611111111", text="Hola")
        path = f"/api/v1/threads/{chat.id}/messages"
        by_email = {"kind": "text", "text": "The invoice, by e-mail", "channel": "EMAIL"}
        async with desk.client(desk.admin_token) as client:
            no_address = await client.post(path, json=by_email)
            assert no_address.status_code == 422
            assert no_address.json()["error"]["field"] == "channel"
            patched = await client.patch(
                f"/api/v1/contacts/{chat.contact.id}", json={"email": CUSTOMER}
            )
            assert patched.status_code == 200, patched.text
        async with LiveClient.connect(desk, desk.admin_token) as live:
            queued = await reply_json(desk, chat.id, by_email)
            assert (queued["channel_type"], queued["thread_id"]) == ("EMAIL", chat.id)
            assert (await settled(live, queued["id"]))["status"] == "sent"
        ((raw, _, recipients),) = relay.received
        sent = message_from_bytes(raw, policy=policy.default)
        assert recipients == [CUSTOMER]
        assert str(sent["Subject"]) == f"Hola [#{chat.ticket.id}]"  # a new mail, not a Re:
        assert sent["In-Reply-To"] is None
        # the customer answers by e-mail: it comes back into the same thread and ticket
        await send(
            desk,
            mail("Got it", message_id="<sw1@example.com>", subject=f"Re: Hola [#{chat.ticket.id}]",
                 in_reply_to=str(sent["Message-ID"])),
        )  # fmt: skip
        listed = await messages(desk, chat.id)
        assert [(m["text"], m["channel_type"]) for m in reversed(listed)][-2:] == [
            ("The invoice, by e-mail", "EMAIL"),
            ("Got it", "EMAIL"),
        ]
        assert [t["id"] for t in await threads(desk)] == [chat.id]
        # our own mail delivered back to us by a list or forwarder that added a footer (a
        # loop): its Message-ID is ours, so it is ours, never a ticket
        looped = EmailMessage()
        for name in ("From", "To", "Subject", "Message-ID"):
            looped[name] = str(sent[name])
        looped.set_content("The invoice, by e-mail\n\n-- \nSent through the team list")
        await aiosmtplib.send(
            looped, hostname="127.0.0.1", port=smtp_port(desk), recipients=[SUPPORT]
        )
        assert len(await messages(desk, chat.id)) == len(listed)
        assert [t["id"] for t in await threads(desk)] == [chat.id]


async def reply_json(backend: LiveBackend, thread_id: int, body: dict) -> dict:
    async with backend.client(backend.admin_token) as client:
        response = await client.post(f"/api/v1/threads/{thread_id}/messages", json=body)
        assert response.status_code == 202, response.text
        return response.json()
