"""`ttydesk serve` with e-mail configured: mail sent to the real SMTP listener, or put in a
real IMAP mailbox (dovecot), becomes a thread and ticket seen over the API and pushed on
the WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from backend.email.channel import FETCHERS, LISTENER
from backend.keys import SERVICES
from tests.backend.wsclient import LiveClient
from tests.email.dovecot import PASSWORD, USER, Dovecot
from tests.email.test_imap_fetch import deliver
from tests.support import LiveBackend

SUPPORT = "support@acme.test"


def mail(
    text: str,
    *,
    message_id: str,
    subject: str = "My parcel",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    to: str = SUPPORT,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Lucía Pérez <lucia@example.com>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    return message


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[LiveBackend]:
    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": [SUPPORT], "listen_port": 0}})
    await backend.start()
    await backend.seed_agents()
    try:
        yield backend
    finally:
        await backend.stop()


def smtp_port(backend: LiveBackend) -> int:
    assert backend.app is not None
    return backend.app[SERVICES][LISTENER].sockets[0].getsockname()[1]


async def send(backend: LiveBackend, message: EmailMessage) -> None:
    """Returns once the listener answered 250: the mail is stored by then."""
    await aiosmtplib.send(message, hostname="127.0.0.1", port=smtp_port(backend))


async def threads(backend: LiveBackend) -> list[dict]:
    async with backend.client(backend.admin_token) as client:
        response = await client.get("/api/v1/threads")
        assert response.status_code == 200
        return response.json()["items"]


async def counter(backend: LiveBackend, name: str) -> int:
    row = await backend.store.readers.one("SELECT value FROM counters WHERE name = ?", (name,))
    return 0 if row is None else row[0]


async def messages(backend: LiveBackend, thread_id: int) -> list[dict]:
    async with backend.client(backend.admin_token) as client:
        response = await client.get(f"/api/v1/threads/{thread_id}/messages")
        assert response.status_code == 200
        return response.json()["items"]


async def test_a_forwarded_mail_becomes_a_ticket_seen_live_and_a_reply_threads_into_it(
    desk: LiveBackend,
):
    async with LiveClient.connect(desk, desk.admin_token) as live:
        await send(desk, mail("Where is my parcel?", message_id="<p1@example.com>"))
        created = await live.next_of("message.created")
        updated = await live.next_of("thread.updated")
    assert created["data"]["text"] == "Where is my parcel?"
    assert updated["data"]["channel_type"] == "EMAIL"
    [thread] = await threads(desk)
    assert (thread["channel_type"], thread["ticket"]["subject"]) == ("EMAIL", "My parcel")
    assert thread["contact"]["name"] == "Lucía Pérez"
    await send(
        desk,
        mail("Any news?", message_id="<p2@example.com>", subject="Re: My parcel",
             in_reply_to="<p1@example.com>"),
    )  # fmt: skip
    assert [t["id"] for t in await threads(desk)] == [thread["id"]]
    texts = [m["text"] for m in await messages(desk, thread["id"])]
    assert sorted(texts) == ["Any news?", "Where is my parcel?"]


async def test_the_same_mail_forwarded_twice_is_stored_once(desk: LiveBackend):
    await send(desk, mail("Where is my parcel?", message_id="<twice@example.com>"))
    await send(desk, mail("Where is my parcel?", message_id="<twice@example.com>"))
    [thread] = await threads(desk)
    assert len(await messages(desk, thread["id"])) == 1


async def test_an_auto_reply_opens_nothing(desk: LiveBackend):
    await send(
        desk,
        mail("I am away until Monday", message_id="<away@example.com>",
             headers={"Auto-Submitted": "auto-replied"}),
    )  # fmt: skip
    assert await threads(desk) == []


async def test_a_mail_with_no_from_is_kept_from_its_envelope_sender(desk: LiveBackend):
    """A mailer that writes no From header still has a customer behind it: the envelope's
    MAIL FROM names them (Sender and Reply-To first, when the mail has them)."""
    message = mail("My parcel never came", message_id="<nofrom@example.com>")
    del message["From"]
    await aiosmtplib.send(
        message, sender="Lucia@Example.com", recipients=[SUPPORT],
        hostname="127.0.0.1", port=smtp_port(desk),
    )  # fmt: skip
    [thread] = await threads(desk)
    async with desk.client(desk.admin_token) as client:
        contact = (await client.get(f"/api/v1/contacts/{thread['contact']['id']}")).json()
    assert contact["email"] == "Lucia@example.com"  # as the envelope wrote it
    [stored] = await messages(desk, thread["id"])
    assert stored["text"] == "My parcel never came"
    assert await counter(desk, "email.dropped_unknown_address") == 0


async def test_a_mail_from_no_one_at_all_is_dropped_counted_and_logged(desk: LiveBackend, caplog):
    message = mail("who am I?", message_id="<noone@example.com>")
    del message["From"]
    await aiosmtplib.send(
        message, sender="", recipients=[SUPPORT], hostname="127.0.0.1", port=smtp_port(desk)
    )
    assert await threads(desk) == []
    assert await counter(desk, "email.dropped_no_sender") == 1
    assert await counter(desk, "email.dropped_unknown_address") == 0
    assert "<noone@example.com>" in caplog.text and "no sender" in caplog.text


async def test_mail_for_another_address_is_refused_by_the_listener(desk: LiveBackend):
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(desk, mail("hello", message_id="<o@example.com>", to="sales@acme.test"))
    assert await threads(desk) == []


async def test_mail_in_an_imap_mailbox_becomes_a_ticket_once_across_a_restart(
    tmp_path: Path, dovecot: Dovecot
):
    backend = LiveBackend(
        tmp_path,
        overrides={
            "email": {
                "addresses": [SUPPORT],
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_tls": False,
                "imap_user": USER,
                "imap_password": PASSWORD,
            }
        },
    )
    await backend.start()
    await backend.seed_agents()
    try:
        async with LiveClient.connect(backend, backend.admin_token) as live:
            await deliver(
                dovecot, mail("From the mailbox", message_id="<i1@example.com>").as_bytes()
            )
            created = await live.next_of("message.created", timeout=30)
        assert created["data"]["text"] == "From the mailbox"
        await backend.restart()
        async with LiveClient.connect(backend, backend.admin_token) as live:
            await deliver(dovecot, mail("Second one", message_id="<i2@example.com>").as_bytes())
            second = await live.next_of("message.created", timeout=30)
        assert second["data"]["text"] == "Second one"
        assert backend.app is not None
        assert backend.app[SERVICES][FETCHERS].first.connections >= 1
        [thread_one, thread_two] = await threads(backend)
        counts = [len(await messages(backend, t["id"])) for t in (thread_one, thread_two)]
        assert counts == [1, 1]  # the first mail was not fetched again after the restart
    finally:
        await backend.stop()


async def test_a_card_number_in_a_mail_is_quarantined_by_the_content_policy(desk: LiveBackend):
    await send(desk, mail("my card is 4111 1111 1111 1111 exp 12/29", message_id="<c1@x>"))
    [thread] = await threads(desk)
    [message] = await messages(desk, thread["id"])
    assert (message["kind"], message["quarantine_rule"], message["text"]) == (
        "quarantined",
        "payment_card",
        None,
    )
    async with desk.client(desk.admin_token) as client:
        found = await client.get("/api/v1/search", params={"q": "4111"})
    assert found.json()["items"] == []  # quarantined text is never indexed


async def test_the_whole_text_of_a_mail_is_one_request_away_and_a_quarantined_one_once_revealed(
    desk: LiveBackend,
):
    body = "Thanks, it arrived.\n\nOn Mon, Ana wrote:\n> Your parcel ships today.\n"
    await send(desk, mail(body, message_id="<w1@example.com>"))
    await send(desk, mail("card 4111 1111 1111 1111", message_id="<w2@example.com>"))
    first, second = sorted(t["id"] for t in await threads(desk))
    [shown] = await messages(desk, first)
    [hidden] = await messages(desk, second)
    assert shown["text"] == "Thanks, it arrived."
    async with desk.client(desk.agent_token) as client:
        whole = await client.get(f"/api/v1/messages/{shown['id']}/email")
        assert whole.status_code == 200
        assert "> Your parcel ships today." in whole.json()["full_text"]
        assert whole.json()["header_id"] == "<w1@example.com>"
        refused = await client.get(f"/api/v1/messages/{hidden['id']}/email")
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "quarantined")
        missing = await client.get("/api/v1/messages/999999/email")
        assert missing.status_code == 404
    async with desk.client(desk.admin_token) as admin:
        assert (await admin.post(f"/api/v1/messages/{hidden['id']}/reveal")).status_code == 200
        revealed = await admin.get(f"/api/v1/messages/{hidden['id']}/email")
    assert "4111" in revealed.json()["full_text"]


async def test_a_dropped_imap_connection_loses_nothing_and_fetches_nothing_twice(
    tmp_path: Path, dovecot: Dovecot
):
    backend = LiveBackend(
        tmp_path,
        overrides={
            "email": {
                "addresses": [SUPPORT],
                "imap_host": "127.0.0.1",
                "imap_port": dovecot.port,
                "imap_tls": False,
                "imap_user": USER,
                "imap_password": PASSWORD,
            }
        },
    )
    await backend.start()
    await backend.seed_agents()
    try:
        assert backend.app is not None
        fetcher = backend.app[SERVICES][FETCHERS].first
        async with LiveClient.connect(backend, backend.admin_token) as live:
            await deliver(dovecot, mail("Before", message_id="<d1@example.com>").as_bytes())
            await live.next_of("message.created", timeout=30)
            dovecot.crash()  # mid-session: the fetcher is watching the folder (IDLE)
            dovecot.start_on_same_port()
            await deliver(
                dovecot,
                mail("After, one", message_id="<d2@example.com>", subject="Two").as_bytes(),
                mail("After, two", message_id="<d3@example.com>", subject="Three").as_bytes(),
            )
            later = [await live.next_of("message.created", timeout=30) for _ in range(2)]
        assert sorted(event["data"]["text"] for event in later) == ["After, one", "After, two"]
        assert fetcher.connections >= 2  # it did connect again
        texts = [
            [m["text"] for m in await messages(backend, t["id"])] for t in await threads(backend)
        ]
        assert sorted(texts) == [["After, one"], ["After, two"], ["Before"]]
        fetched_again = await backend.store.readers.value(
            "SELECT value FROM counters WHERE name = 'email.duplicate'"
        )
        assert fetched_again is None  # not even offered to the store a second time
    finally:
        await backend.stop()
