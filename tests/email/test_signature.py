"""An agent's own e-mail signature: set through PATCH /api/v1/me (an admin may set
another's), refused with a clear error when it is not a few lines of plain text, and put
under the "-- " line of the agent's e-mails as the relay receives them — escaped in the
HTML part; an agent without one keeps the old sign-off."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from tests.backend.wsclient import LiveClient
from tests.email.test_inbound_wiring import mail, send, threads
from tests.email.test_outbound import CUSTOMER, desk_with_relay, relay_to, reply, settled
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend

SIGNATURE = "{agent} <ada@acme.test> & friends\n{mailbox} · Mon–Fri 9–17\nhttps://acme.test/help"


async def sent_reply(desk: LiveBackend, relay: Relaying, text: str) -> EmailMessage:
    """The customer writes, the admin answers, and the mail as the relay received it."""
    await send(desk, mail("Where is my parcel?", message_id=f"<{len(text)}@example.com>"))
    [thread, *_] = await threads(desk)
    async with LiveClient.connect(desk, desk.admin_token) as live:
        queued = await reply(desk, thread["id"], text)
        assert (await settled(live, queued["id"]))["status"] == "sent"
    raw, _, _ = relay.received[-1]
    return message_from_bytes(raw, policy=policy.default)


def parts(sent: EmailMessage) -> tuple[str, str]:
    plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = sent.get_body(("html",)).get_content().replace("\r\n", "\n")
    return plain, html


async def test_the_agents_signature_is_under_both_parts_of_their_mail(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        async with desk.client(desk.admin_token) as client:
            changed = await client.patch("/api/v1/me", json={"signature": SIGNATURE + "  \r\n\n"})
            assert changed.status_code == 200, changed.text
            assert changed.json()["signature"] == SIGNATURE  # trailing blanks trimmed
            assert (await client.get("/api/v1/me")).json()["signature"] == SIGNATURE
        plain, html = parts(await sent_reply(desk, relay, "It ships today."))
        assert plain.endswith(
            "It ships today.\n\n-- \nAda Admin <ada@acme.test> & friends\n"
            "Acme Support · Mon–Fri 9–17\nhttps://acme.test/help\n"
        )
        assert "Ada Admin\nAcme Support\n" not in plain  # the old sign-off is replaced
        # data, never markup: escaped in the HTML part, its link a link
        assert "Ada Admin &lt;ada@acme.test&gt; &amp; friends<br>" in html
        assert "<ada@acme.test>" not in html
        assert '<a href="https://acme.test/help">' in html


async def test_without_a_signature_a_mail_keeps_the_name_and_mailbox_sign_off(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        async with desk.client(desk.admin_token) as client:
            assert (await client.get("/api/v1/me")).json()["signature"] is None
            await client.patch("/api/v1/me", json={"signature": "Ada"})
            cleared = await client.patch("/api/v1/me", json={"signature": " \n "})
            assert cleared.json()["signature"] is None
        plain, html = parts(await sent_reply(desk, relay, "On its way."))
        assert plain.endswith("On its way.\n\n-- \nAda Admin\nAcme Support\n")
        assert "Ada Admin<br>\nAcme Support" in html


async def test_a_signature_that_is_not_a_few_lines_of_plain_text_is_refused_and_the_old_kept(
    tmp_path: Path,
):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, _relay):
        async with desk.client(desk.agent_token) as client:
            assert (await client.patch("/api/v1/me", json={"signature": "Bob"})).status_code == 200
            for bad, words in (
                ("x" * 501, "501 characters long: at most 500"),
                ("\n".join("line" for _ in range(9)), "9 lines: at most 8"),
                ("Bob\n\x1b[31mred", "control character (U+001B) on line 2"),
                ("Bob\tAgent", "control character (U+0009) on line 1"),
                ("Bob\u2028Agent", "control character (U+2028)"),
            ):
                refused = await client.patch("/api/v1/me", json={"signature": bad})
                assert refused.status_code == 422, refused.text
                error = refused.json()["error"]
                assert error["field"] == "signature"
                assert words in error["message"]
            assert (await client.get("/api/v1/me")).json()["signature"] == "Bob"


async def test_only_an_admin_sets_another_agents_signature(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, _relay):
        assert desk.admin is not None and desk.agent is not None
        async with desk.client() as anonymous:
            unsigned = await anonymous.patch("/api/v1/me", json={"signature": "Anyone"})
            assert unsigned.status_code == 401
        async with desk.client(desk.agent_token) as bob:
            refused = await bob.patch(
                f"/api/v1/agents/{desk.admin.id}", json={"signature": "Bob was here"}
            )
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "admin_only"
            # /me names no one else: an id in the body is refused
            named = await bob.patch("/api/v1/me", json={"id": desk.admin.id, "signature": "x"})
            assert named.status_code == 422
        async with desk.client(desk.admin_token) as ada:
            assert (await ada.get("/api/v1/me")).json()["signature"] is None
            changed = await ada.patch(
                f"/api/v1/agents/{desk.agent.id}", json={"signature": "Bob\nAcme Support"}
            )
            assert changed.status_code == 200, changed.text
            assert changed.json()["id"] == desk.agent.id
            missing = await ada.patch("/api/v1/agents/999999", json={"signature": "x"})
            assert missing.status_code == 404
        async with desk.client(desk.agent_token) as bob:
            assert (await bob.get("/api/v1/me")).json()["signature"] == "Bob\nAcme Support"


async def test_an_agent_reads_only_their_own_signature_and_an_admin_every_one(live_backend):
    """A signature can hold a direct line or a mobile number: GET /agents gives an agent
    their own only (an admin every one), and the agent.updated event every client is
    pushed carries none."""
    desk = live_backend
    assert desk.admin is not None and desk.agent is not None
    async with desk.client(desk.admin_token) as ada:
        async with LiveClient.connect(desk, desk.agent_token) as bobs_inbox:
            own = await ada.patch("/api/v1/me", json={"signature": "Ada · +34 600 111 222"})
            assert own.status_code == 200, own.text
            pushed = await bobs_inbox.next_of("agent.updated")
        assert pushed["data"]["id"] == desk.admin.id and pushed["data"]["name"]
        assert "signature" not in pushed["data"]
        bobs = await ada.patch(f"/api/v1/agents/{desk.agent.id}", json={"signature": "Bob"})
        assert bobs.status_code == 200, bobs.text
        as_admin = {a["id"]: a for a in (await ada.get("/api/v1/agents")).json()["items"]}
    assert as_admin[desk.admin.id]["signature"] == "Ada · +34 600 111 222"
    assert as_admin[desk.agent.id]["signature"] == "Bob"
    async with desk.client(desk.agent_token) as bob:
        as_agent = {a["id"]: a for a in (await bob.get("/api/v1/agents")).json()["items"]}
        assert (await bob.get("/api/v1/me")).json()["signature"] == "Bob"
    assert as_agent[desk.agent.id]["signature"] == "Bob"
    assert as_agent[desk.admin.id]["signature"] is None
    assert as_agent[desk.admin.id]["name"] == as_admin[desk.admin.id]["name"]
