"""Received mail in the store: a real SQLite file, mail read by the real parser
(``MailReceiver``), the events the hub would push."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from backend import schemas
from backend.domain.clock import FixedClock
from backend.email.receive import MailReceiver
from backend.store import CommittedEvent, Outcome, SqliteStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SUPPORT = "support@acme.test"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def mail(
    text: str = "My order 1234 has not arrived.",
    *,
    sender: str = "Lucía Pérez <Lucia@Example.com>",
    to: str = f"Acme Support <{SUPPORT}>",
    subject: str = "Where is my order?",
    message_id: str = "<m1@example.com>",
    in_reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Tue, 01 Dec 2026 08:30:00 +0000"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if attachment is not None:
        message.add_attachment(
            attachment[1], maintype="image", subtype="png", filename=attachment[0]
        )
    return message.as_bytes()


class Desk:
    def __init__(self, store: SqliteStore, receiver: MailReceiver) -> None:
        self.store = store
        self.receiver = receiver
        self.events: list[CommittedEvent] = []
        store.on_commit(self.events.extend)

    async def receive(self, raw: bytes, recipients: tuple[str, ...] = (SUPPORT,)):
        return await self.receiver.receive(raw, recipients)

    def event_types(self) -> list[str]:
        return [event.type for event in self.events]

    async def messages(self, thread_id: int) -> list[schemas.Message]:
        return list(reversed((await self.store.list_messages(thread_id)).items))

    def row(self, sql: str, params: tuple = ()) -> dict:
        import sqlite3

        with sqlite3.connect(self.store.path) as conn:
            conn.row_factory = sqlite3.Row
            found = conn.execute(sql, params).fetchone()
            return dict(found) if found is not None else {}


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    store = SqliteStore(tmp_path / "mail.db", clock=FixedClock(NOW))
    await store.open()
    await store.add_mailbox(SUPPORT, "Acme Support")
    try:
        yield Desk(store, MailReceiver(store, tmp_path / "media"))
    finally:
        await store.close()


async def test_a_new_mail_opens_an_email_thread_and_ticket_with_the_new_words_shown_and_pushed(
    desk: Desk,
):
    body = "My order 1234 has not arrived.\n\n-- \nLucía Pérez\nExample Ltd"
    result = await desk.receive(mail(body))
    assert result.outcome == Outcome.stored
    thread = await desk.store.get_thread(result.thread_id)
    assert thread.channel_type == schemas.ChannelType.email
    assert thread.business_number == SUPPORT
    assert thread.ticket.subject == "Where is my order?"
    assert thread.ticket.original_channel_type == schemas.ChannelType.email
    assert thread.ticket.status == schemas.TicketStatus.waiting_on_us
    contact = await desk.store.get_contact(thread.contact.id)
    assert (contact.email, contact.first_name, contact.last_name) == (
        "Lucia@example.com",
        "Lucía",
        "Pérez",
    )
    [message] = await desk.messages(thread.id)
    assert message.text == "My order 1234 has not arrived."  # the signature folded away
    assert message.from_number == "Lucia@example.com"
    stored = desk.row("SELECT * FROM email_messages WHERE message_id = ?", (message.id,))
    assert stored["header_id"] == "<m1@example.com>"
    assert "Example Ltd" in stored["full_text"]  # the whole text is kept
    assert {"message.created", "thread.updated"} <= set(desk.event_types())


async def test_a_new_mails_ticket_is_created_new_and_moved_to_waiting_on_us_in_its_timeline(
    desk: Desk,
):
    result = await desk.receive(mail())
    thread = await desk.store.get_thread(result.thread_id)
    timeline = (await desk.store.ticket_timeline(thread.ticket.id)).items
    assert [(e.action, e.old, e.new, e.actor_id, e.at) for e in timeline] == [
        ("created", None, "new", None, NOW),
        ("status_changed", "new", "waiting_on_us", None, NOW),
    ]
    ticket = desk.row("SELECT * FROM tickets WHERE id = ?", (thread.ticket.id,))
    assert (ticket["status"], ticket["updated_at"], ticket["created_at"]) == (
        "waiting_on_us",
        NOW.isoformat(timespec="microseconds"),
        NOW.isoformat(timespec="microseconds"),
    )
    assert (ticket["closed_at"], ticket["snoozed_until"], ticket["resolution_seconds"]) == (
        None,
        None,
        None,
    )
    assert desk.row("SELECT status FROM threads WHERE id = ?", (thread.id,)) == {
        "status": "waiting_on_us"
    }
    [pushed] = [json.loads(e.frame) for e in desk.events if e.type == "thread.updated"]
    assert pushed["data"]["ticket"]["status"] == "waiting_on_us"


async def test_the_same_mail_twice_is_stored_once(desk: Desk):
    first = await desk.receive(mail())
    again = await desk.receive(mail())
    assert (first.outcome, again.outcome) == (Outcome.stored, Outcome.duplicate)
    assert len(await desk.messages(first.thread_id)) == 1


async def test_two_different_mails_under_one_message_id_are_both_stored(desk: Desk):
    """Some mailers reuse one Message-ID for every mail (a web form's, a scanner's): a
    redelivery repeats sender and words, a different mail does not, and is not lost."""
    first = await desk.receive(mail("My order 1234 has not arrived."))
    other = await desk.receive(
        mail("Please cancel my subscription.", sender="Tom <tom@example.org>",
             subject="Cancel")
    )  # fmt: skip
    same_sender = await desk.receive(mail("And the invoice is wrong too."))
    assert [first.outcome, other.outcome, same_sender.outcome] == [Outcome.stored] * 3
    assert other.thread_id != first.thread_id
    # each is still stored once however often it comes
    again = [
        await desk.receive(raw)
        for raw in (
            mail("Please cancel my subscription.", sender="Tom <tom@example.org>",
                 subject="Cancel"),
            mail("And the invoice is wrong too."),
            mail("My order 1234 has not arrived."),
        )
    ]  # fmt: skip
    assert [result.outcome for result in again] == [Outcome.duplicate] * 3
    assert desk.row("SELECT COUNT(*) AS n FROM email_messages") == {"n": 3}
    # the first keeps its Message-ID as sent (a reply to it names that id)
    assert desk.row(
        "SELECT header_id FROM email_messages WHERE thread_id = ?", (first.thread_id,)
    ) == {"header_id": "<m1@example.com>"}


async def test_bytes_no_charset_can_read_are_stored_replaced_never_refused(desk: Desk):
    """Raw 8-bit bytes in headers, an unknown charset: the email package keeps what it
    cannot decode as lone surrogates, which the database cannot store. Such a mail was
    refused on every try (the SMTP listener's 451; the IMAP fetcher stopped at it, and so
    took no later mail either): now what cannot be read is replaced, the rest kept."""
    raw = (
        b'From: "Jos\xe9 P\xe9rez" <jose@example.com>\r\n'
        b"To: support@acme.test\r\n"
        b"Subject: =?x-no-such-charset?Q?caf=E9?= and \xff\r\n"
        b"Message-ID: <charset@example.com>\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        b"caf\xe9 \xff\xfe crema\r\n"
    )
    result = await desk.receive(raw)
    assert result.outcome == Outcome.stored
    thread = await desk.store.get_thread(result.thread_id)
    contact = await desk.store.get_contact(thread.contact.id)
    assert (contact.email, contact.first_name) == ("jose@example.com", "Jos\ufffd")
    assert "\ufffd" in thread.ticket.subject
    [message] = await desk.messages(thread.id)
    assert "crema" in message.text
    assert (await desk.receive(raw)).outcome == Outcome.duplicate  # a redelivery: once


async def test_a_reply_threads_by_its_headers_and_by_the_ticket_token_in_its_subject(desk: Desk):
    first = await desk.receive(mail())
    by_header = await desk.receive(
        mail("Any news?", message_id="<m2@example.com>", in_reply_to="<m1@example.com>",
             subject="Re: something else entirely")
    )  # fmt: skip
    thread = await desk.store.get_thread(first.thread_id)
    by_token = await desk.receive(
        mail("Hello again", message_id="<m3@example.com>",
             subject=f"Re: Where is my order? [#{thread.ticket.id}]")
    )  # fmt: skip
    assert by_header.thread_id == by_token.thread_id == first.thread_id
    assert [m.text for m in await desk.messages(first.thread_id)] == [
        "My order 1234 has not arrived.",
        "Any news?",
        "Hello again",
    ]


async def test_a_ticket_token_from_another_sender_opens_a_thread_of_their_own(desk: Desk):
    first = await desk.receive(mail())
    thread = await desk.store.get_thread(first.thread_id)
    stranger = await desk.receive(
        mail("Let me in", sender="mallory@evil.test", message_id="<x@evil.test>",
             subject=f"Re: [#{thread.ticket.id}]")
    )  # fmt: skip
    assert stranger.outcome == Outcome.stored
    assert stranger.thread_id != first.thread_id


async def test_a_mail_without_reply_headers_or_token_opens_a_new_ticket(desk: Desk):
    first = await desk.receive(mail())
    second = await desk.receive(mail("Another matter", message_id="<m9@example.com>"))
    assert second.thread_id != first.thread_id
    one = await desk.store.get_thread(first.thread_id)
    two = await desk.store.get_thread(second.thread_id)
    assert one.contact.id == two.contact.id


async def test_the_sender_finds_the_contact_in_any_case_and_plus_addressing_is_another_address(
    desk: Desk,
):
    contact = await desk.store.create_contact(
        schemas.ContactCreate(first_name="Ana", email="Ana.Garcia@Example.com", wa_id="34600111222")
    )
    shouted = await desk.receive(mail(sender="ANA.GARCIA@EXAMPLE.COM", message_id="<a1@x>"))
    plus = await desk.receive(mail(sender="ana.garcia+shop@example.com", message_id="<a2@x>"))
    assert (await desk.store.get_thread(shouted.thread_id)).contact.id == contact.id
    plus_contact = (await desk.store.get_thread(plus.thread_id)).contact.id
    assert plus_contact != contact.id
    assert (await desk.store.get_contact(plus_contact)).email == "ana.garcia+shop@example.com"


async def test_auto_replies_open_nothing(desk: Desk):
    for number, headers in enumerate(
        ({"Auto-Submitted": "auto-replied"}, {"Precedence": "bulk"}, {"X-Autoreply": "yes"})
    ):
        result = await desk.receive(mail("I am out of office", message_id=f"<ooo{number}@x>",
                                         headers=headers))  # fmt: skip
        assert result.outcome == Outcome.automatic
        assert result.thread_id is None
    assert desk.row("SELECT COUNT(*) AS n FROM threads")["n"] == 0
    assert desk.row("SELECT value FROM counters WHERE name = 'email.automatic'")["value"] == 3


async def test_mail_to_an_address_that_is_not_a_support_address_is_dropped_and_counted(
    desk: Desk,
):
    result = await desk.receive(mail(to="sales@acme.test"), recipients=("sales@acme.test",))
    assert result.outcome == Outcome.dropped_unknown_address
    assert desk.row("SELECT COUNT(*) AS n FROM threads")["n"] == 0


async def test_a_failed_dmarc_is_quarantined_and_the_verdicts_are_kept(desk: Desk):
    result = await desk.receive(
        mail("Please wire the money to this new account",
             headers={"Authentication-Results": "mx.acme.test; spf=pass smtp.mailfrom=example.com;"
                      " dkim=fail header.d=example.com; dmarc=fail header.from=example.com"})
    )  # fmt: skip
    [message] = await desk.messages(result.thread_id)
    assert message.kind == schemas.MessageKind.quarantined
    assert message.quarantine_rule == "dmarc_fail"
    assert message.text is None  # hidden until an admin reveals it
    stored = desk.row("SELECT auth FROM email_messages WHERE message_id = ?", (message.id,))
    assert json.loads(stored["auth"]) == {"spf": "pass", "dkim": "fail", "dmarc": "fail"}
    _, text = await desk.store.reveal_quarantined(message.id, actor_id=1)
    assert text == "Please wire the money to this new account"


async def test_an_attachment_is_stored_as_media_ready_to_serve(desk: Desk, tmp_path: Path):
    result = await desk.receive(mail("See the photo", attachment=("parcel.png", PNG)))
    [message] = await desk.messages(result.thread_id)
    assert message.media is not None
    assert (message.media.filename, message.media.mime_type, message.media.state) == (
        "parcel.png",
        "image/png",
        schemas.MediaState.ready,
    )
    served = await desk.store.media_file(message.media.id, admin=False)
    assert served is not None and served.path is not None
    assert (tmp_path / "media" / served.path).read_bytes() == PNG


async def test_a_bounce_opens_nothing_and_marks_our_mail_failed_with_the_reason_in_words(
    desk: Desk,
):
    first = await desk.receive(mail())

    def our_reply(tx) -> int:
        from backend.store import conversations as conv

        message_id = conv.insert_message(
            tx, thread_id=first.thread_id, direction="out", kind="text", text="It ships today",
            status="sent",
        )  # fmt: skip
        tx.insert("email_messages", {"message_id": message_id, "thread_id": first.thread_id,
                                     "header_id": "<ours-1@acme.test>", "created_at": tx.now_iso})  # fmt: skip
        return message_id

    ours = await desk.store.write(our_reply)
    bounce = (
        b"From: MAILER-DAEMON@example.com\r\nTo: support@acme.test\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nIt could not be delivered.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; lucia@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <ours-1@acme.test>\r\nSubject: Re: Where is my order?\r\n\r\n"
        b"--b--\r\n"
    )
    result = await desk.receive(bounce)
    assert (result.outcome, result.message_id) == (Outcome.bounce, ours)
    [_, failed] = await desk.messages(first.thread_id)
    assert failed.status == schemas.DeliveryStatus.failed
    assert failed.error_message == "Not delivered: the address does not exist"
    assert desk.row("SELECT COUNT(*) AS n FROM threads")["n"] == 1


async def test_the_pushed_json_of_an_email_message_equals_its_wire_model(desk: Desk):
    from backend.store import conversations as conv
    from tests.backend.test_sql_events import sql_message

    plain = await desk.receive(mail("Hello", message_id="<j1@x>"))
    quarantined = await desk.receive(
        mail("Pay here", message_id="<j2@x>", attachment=("a.png", PNG),
             headers={"Authentication-Results": "mx.acme.test; dmarc=fail header.from=x"})
    )  # fmt: skip
    whatsapp_shaped = await desk.store.write(
        lambda tx: conv.insert_message(
            tx, thread_id=plain.thread_id, direction="in", kind="text", text="no e-mail"
        )
    )
    for message_id in (plain.message_id, quarantined.message_id, whatsapp_shaped):

        def both(tx, message_id=message_id):
            model = conv.load_message(tx, message_id)
            return sql_message(tx, message_id), json.loads(model.model_dump_json()), model

        pushed, wire, model = await desk.store.write(both)
        assert pushed == wire
    [first, *_] = await desk.messages(plain.thread_id)
    assert first.channel_type == schemas.ChannelType.email
    assert first.email is not None
    assert (first.email.subject, first.email.sender, first.email.to) == (
        "Where is my order?",
        "Lucia@example.com",
        [SUPPORT],
    )
    assert model.channel_type == schemas.ChannelType.whatsapp and model.email is None
    [hidden] = await desk.messages(quarantined.thread_id)
    assert hidden.email is not None and hidden.email.subject is None
    assert hidden.email.auth is not None and hidden.email.auth.dmarc == "fail"
