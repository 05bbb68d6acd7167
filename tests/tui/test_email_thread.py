"""An e-mail thread in the inbox at 80x24: the messages marked as e-mail with their
subject and addresses, no WhatsApp session in the header, and the composer replying by
e-mail under the subject the customer will see (sent through a real test relay)."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Static

from backend.email.smtp_listener import SupportMailbox
from backend.schemas import DeliveryStatus
from backend.store import EmailRecord
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend
from tests.tui.backend_fixtures import inbox_ready, make_app, open_thread, screen_text, wait_for
from tui.dialogs.simple import MessageDetailsDialog

SUPPORT = "support@acme.test"
CUSTOMER = "lucia@example.com"


def mail_backend(tmp_path: Path, relay_port: int) -> LiveBackend:
    """The real backend, receiving at SUPPORT and replying through the test relay."""
    email = {
        "addresses": [SUPPORT],
        "relay_host": "127.0.0.1",
        "relay_port": relay_port,
        "relay_starttls": False,
    }
    return LiveBackend(tmp_path, overrides={"email": email})


async def terminal_alt_key(pilot, letter: str) -> None:  # noqa: ANN001 - a Textual Pilot
    """alt+<letter> as a terminal sends it (ESC, then the letter): the key comes with its
    letter as its character, which a text area types unless a binding takes it first
    (``pilot.press("alt+e")`` sends no character, so it never showed)."""
    pilot.app.post_message(events.Key(f"alt+{letter}", letter))
    await pilot.pause()


async def test_an_email_thread_reads_as_email_and_the_composer_replies_by_email(tmp_path: Path):
    received: list[bytes] = []

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        received.append(raw)

    async with Relaying(SupportMailbox(keep, [CUSTOMER])) as relay_port:
        backend = mail_backend(tmp_path, relay_port)
        await backend.start()
        try:
            await backend.seed_agents()
            stored = await backend.store.ingest_email(
                EmailRecord(message_id="<t1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                            sender_name="Lucía Pérez", subject="Where is my order?",
                            text="It has not arrived.", to=(SUPPORT,),
                            full_text="It has not arrived.\n\nOn Mon, Ana wrote:\n"
                                      "> Where is it, please?\n")
            )  # fmt: skip
            assert stored.thread_id is not None
            app = make_app(backend.url, backend.agent_token)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await inbox_ready(app)
                await open_thread(pilot, screen, stored.thread_id)
                await wait_for(lambda: "Subject: Where is my order?" in screen_text(app))
                text = screen_text(app)
                assert "by e-mail" in text and "From: lucia@example.com" in text
                assert "session expired" not in text
                assert "Ana wrote" not in text  # the quoted history is folded away
                screen.log_widget.focus()
                await pilot.press("m")  # the details: the whole mail, one key away
                await wait_for(lambda: isinstance(app.screen, MessageDetailsDialog))
                shown = "\n".join(
                    str(getattr(static.content, "plain", static.content))
                    for static in app.screen.query(Static)
                )
                assert "On Mon, Ana wrote:\n> Where is it, please?" in shown
                assert "<t1@example.com>" in shown
                await pilot.press("escape")
                await wait_for(lambda: app.screen is screen)
                await pilot.press("r", *"On its way", "ctrl+s")
                await wait_for(lambda: len(received) == 1, timeout=10)
                await wait_for(
                    lambda: (
                        "Reply by e-mail · Subject: Re: Where is my order? [#1]" in screen_text(app)
                    )
                )
                # the relay took it: the open thread says so (its status event may reach
                # the inbox before the send's own answer, which must not undo it)
                await wait_for(
                    lambda: (
                        [m.status for m in screen.log_widget.messages if m.direction == "out"]
                        == [DeliveryStatus.sent]
                    ),
                    timeout=10,
                )
        finally:
            await backend.stop()
    assert b"On its way" in received[0]


async def test_the_channel_switch_replies_by_email_from_a_whatsapp_thread(tmp_path: Path):
    from tests.backend.seed import seed_thread

    received: list[bytes] = []

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        received.append(raw)

    async with Relaying(SupportMailbox(keep, [CUSTOMER])) as relay_port:
        backend = mail_backend(tmp_path, relay_port)
        await backend.start()
        try:
            await backend.seed_agents()
            chat = await seed_thread(backend.store, name="Lucía", phone="+34611111111", text="Hola")
            app = make_app(backend.url, backend.agent_token)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await inbox_ready(app)
                await open_thread(pilot, screen, chat.id)
                await pilot.press("r")
                assert not screen.composer.check_action("switch_channel", ())  # no address yet
                async with backend.client(backend.admin_token) as client:
                    await client.patch(f"/api/v1/contacts/{chat.contact.id}",
                                       json={"email": CUSTOMER})  # fmt: skip
                await pilot.press("escape", "q")
                await wait_for(lambda: not screen.thread_open)
                await open_thread(pilot, screen, chat.id)
                await pilot.press("r")
                await wait_for(lambda: screen.composer.email_address == CUSTOMER)
                # at 80 columns the footer has no room for it: the key works, and is in ? help
                assert screen.composer.check_action("switch_channel", ())
                await terminal_alt_key(pilot, "e")
                await wait_for(lambda: f"Reply by e-mail to {CUSTOMER}" in screen_text(app))
                assert screen.composer.area.text == ""  # the key switched; it typed nothing
                await wait_for(lambda: screen.composer.check_action("switch_channel", ()))
                await pilot.press(*"Invoice attached", "ctrl+s")
                await wait_for(lambda: len(received) == 1, timeout=10)
                await wait_for(
                    lambda: any(
                        m.text == "Invoice attached" and m.channel_type == "EMAIL"
                        for m in screen.log_widget.messages
                    )
                )
        finally:
            await backend.stop()
    assert b"Invoice attached" in received[0]


async def test_the_composer_sets_an_emails_subject_and_cc_at_80x24(tmp_path: Path):
    from email import message_from_bytes, policy

    accounts = "accounts@example.com"
    received: list[tuple[bytes, list[str]]] = []

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        received.append((raw, recipients))

    async with Relaying(SupportMailbox(keep, [CUSTOMER, accounts])) as relay_port:
        backend = mail_backend(tmp_path, relay_port)
        await backend.start()
        try:
            await backend.seed_agents()
            stored = await backend.store.ingest_email(
                EmailRecord(message_id="<c1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                            sender_name="Lucía Pérez", subject="Where is my order?",
                            text="It has not arrived.", to=(SUPPORT,))
            )  # fmt: skip
            assert stored.thread_id is not None
            app = make_app(backend.url, backend.agent_token)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await inbox_ready(app)
                await open_thread(pilot, screen, stored.thread_id)
                await pilot.press("r")
                await wait_for(lambda: screen.composer.check_action("subject_cc", ()) is True)
                await pilot.press("ctrl+n")  # a note has no subject: the key is not offered
                assert not screen.composer.check_action("subject_cc", ())
                await pilot.press("ctrl+n")
                await terminal_alt_key(pilot, "s")
                await wait_for(lambda: "Subject of this e-mail" in screen_text(app))
                await pilot.press(*"Your refund", "enter")
                await wait_for(lambda: "Cc: addresses copied in" in screen_text(app))
                await pilot.press(*accounts, "enter")
                await wait_for(lambda: f"Cc: {accounts}" in screen_text(app))
                assert "Subject: Your refund" in screen_text(app)
                await pilot.press(*"Refunded today", "ctrl+s")
                await wait_for(lambda: len(received) == 1, timeout=10)
                # the next e-mail starts with the ticket's subject and no Cc
                await wait_for(
                    lambda: (screen.composer.chosen_subject, screen.composer.cc) == (None, ())
                )
        finally:
            await backend.stop()
    raw, recipients = received[0]
    sent = message_from_bytes(raw, policy=policy.default)
    assert str(sent["Subject"]) == "Re: Your refund [#1]"
    assert str(sent["Cc"]) == accounts
    assert sorted(recipients) == sorted([CUSTOMER, accounts])


async def test_an_email_threads_row_says_email_and_shows_no_whatsapp_session(tmp_path: Path):
    """The list row of an e-mail thread is marked E, not W, and has no 24-hour window: an
    e-mail thread never "expires" as a WhatsApp session does."""
    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": [SUPPORT]}})
    await backend.start()
    try:
        await backend.seed_agents()
        stored = await backend.store.ingest_email(
            EmailRecord(message_id="<row1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                        sender_name="Lucía Pérez", subject="Where is my order?",
                        text="It has not arrived.", to=(SUPPORT,))
        )  # fmt: skip
        app = make_app(backend.url, backend.agent_token)
        async with app.run_test(size=(80, 24)):
            screen = await inbox_ready(app)
            await wait_for(lambda: screen.threads.find(stored.thread_id) is not None)
            await wait_for(lambda: "Lucía Pérez" in screen_text(app))
            (row,) = [line for line in screen_text(app).splitlines() if "Lucía Pérez" in line]
            assert " E Lucía Pérez" in row and " W " not in row
            assert "exp" not in row and "⏱" not in row
    finally:
        await backend.stop()


async def test_the_channel_switch_no_longer_offers_e_mail_once_its_mailbox_is_removed(
    tmp_path: Path,
):
    from tests.backend.seed import seed_thread

    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": []}})
    await backend.start()
    try:
        await backend.seed_agents()
        mailbox = await backend.store.connect_mailbox(SUPPORT, "Acme Support", {})
        chat = await seed_thread(backend.store, name="Lucía", phone="+34611111111", text="Hola")
        async with backend.client(backend.admin_token) as client:
            await client.patch(f"/api/v1/contacts/{chat.contact.id}", json={"email": CUSTOMER})
        app = make_app(backend.url, backend.agent_token)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, chat.id)
            await pilot.press("r")
            await wait_for(lambda: screen.composer.email_address == CUSTOMER)
            async with backend.client(backend.admin_token) as client:
                removed = await client.delete(f"/api/v1/mailboxes/{mailbox.id}")
                assert removed.status_code == 204
            await pilot.press("escape", "q")
            await wait_for(lambda: not screen.thread_open)
            await open_thread(pilot, screen, chat.id)
            await pilot.press("r")
            await wait_for(
                lambda: (
                    screen.composer.send_prices is not None
                    and not any(w.group == "send-price" and w.is_running for w in app.workers)
                )
            )
            assert screen.composer.email_address is None
            assert not screen.composer.check_action("switch_channel", ())
            # asked anyway (an older inbox), the server refuses and keeps the draft
            async with backend.client(backend.agent_token) as client:
                path = f"/api/v1/threads/{chat.id}"
                await client.put(f"{path}/draft", json={"text": "by mail"})
                sent = await client.post(
                    f"{path}/messages", json={"kind": "text", "text": "x", "channel": "EMAIL"}
                )
                draft = await client.get(f"{path}/draft")
        assert sent.status_code == 422 and sent.json()["error"]["field"] == "channel"
        assert draft.json()["text"] == "by mail"
    finally:
        await backend.stop()


async def test_a_thread_of_a_removed_mailbox_says_so_and_reconnecting_clears_it_live(
    tmp_path: Path,
):
    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": []}})
    await backend.start()
    try:
        await backend.seed_agents()
        mailbox = await backend.store.connect_mailbox(SUPPORT, "Acme Support", {})
        stored = await backend.store.ingest_email(
            EmailRecord(message_id="<gone@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                        subject="Where is my order?", text="It has not arrived.", to=(SUPPORT,))
        )  # fmt: skip
        assert stored.thread_id is not None
        app = make_app(backend.url, backend.agent_token)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, stored.thread_id)
            await wait_for(lambda: "Reply by e-mail · Subject:" in screen_text(app))
            assert "disconnected" not in screen_text(app)
            async with backend.client(backend.admin_token) as client:
                removed = await client.delete(f"/api/v1/mailboxes/{mailbox.id}")
                assert removed.status_code == 204
            # before the agent types a word: the header and the composer say why
            await wait_for(lambda: "by e-mail (mailbox disconnected)" in screen_text(app))
            await wait_for(
                lambda: (
                    "Cannot reply: the mailbox support@acme.test was disconnected"
                    in screen_text(app)
                )
            )
            assert "Reply by e-mail" not in screen_text(app)
            await backend.store.connect_mailbox(SUPPORT, "Acme Support", {})  # connected again
            await wait_for(lambda: "Reply by e-mail · Subject:" in screen_text(app))
            assert "disconnected" not in screen_text(app)
    finally:
        await backend.stop()


async def test_an_emails_details_show_its_envelope_and_no_whatsapp_rows(tmp_path: Path):
    """``m`` on an e-mail: its Message-ID, addresses, subject and the receiving server's
    verdicts; none of the WhatsApp rows (WhatsApp id, phone numbers, delivered and read
    times) that can only be empty for a mail."""
    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": [SUPPORT]}})
    await backend.start()
    try:
        await backend.seed_agents()
        stored = await backend.store.ingest_email(
            EmailRecord(message_id="<d1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                        sender_name="Lucía Pérez", subject="Where is my order?",
                        text="It has not arrived.", to=(SUPPORT,), cc=("pablo@example.com",),
                        in_reply_to="<d0@acme.test>",
                        auth={"spf": "pass", "dkim": "fail", "dmarc": None})
        )  # fmt: skip
        app = make_app(backend.url, backend.agent_token)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, stored.thread_id)
            screen.log_widget.focus()
            await pilot.press("m")
            await wait_for(lambda: isinstance(app.screen, MessageDetailsDialog))
            await wait_for(lambda: "Message-ID" in details_text(app))
            rows = dict(
                (line[:13].strip(), line[13:].strip())
                for line in details_text(app).split("\n\n")[0].splitlines()[1:]
            )
            assert rows["Message-ID"] == "<d1@example.com>"
            assert rows["In-Reply-To"] == "<d0@acme.test>"
            assert rows["subject"] == "Where is my order?"
            assert rows["from"] == f"Lucía Pérez <{CUSTOMER}>" or rows["from"] == CUSTOMER
            assert rows["to"] == SUPPORT and rows["cc"] == "pablo@example.com"
            assert rows["checks"] == "SPF pass · DKIM fail"
            for whatsapp_only in ("WhatsApp id", "delivered", "read"):
                assert whatsapp_only not in rows, rows
            assert "—" not in rows.values(), rows
    finally:
        await backend.stop()


def details_text(app) -> str:  # noqa: ANN001 - a TtydeskApp
    return "\n".join(
        str(getattr(static.content, "plain", static.content)) for static in app.screen.query(Static)
    )


async def test_the_palette_offers_the_channel_switch_as_the_footer_names_it(tmp_path: Path):
    """Replying by e-mail, alt+e goes back to WhatsApp: the footer says "By WhatsApp", and
    the palette finds it under that name too (and Subject/Cc beside it)."""
    from textual.command import CommandPalette

    from tests.backend.seed import seed_thread

    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": [SUPPORT]}})
    await backend.start()
    try:
        await backend.seed_agents()
        chat = await seed_thread(backend.store, name="Lucía", phone="+34611111111", text="Hola")
        async with backend.client(backend.admin_token) as client:
            await client.patch(f"/api/v1/contacts/{chat.contact.id}", json={"email": CUSTOMER})
        app = make_app(backend.url, backend.agent_token)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, chat.id)
            await pilot.press("r")
            await wait_for(lambda: screen.composer.email_address == CUSTOMER)

            async def palette_finds(typed: str) -> str:
                await pilot.press("ctrl+p")
                await wait_for(lambda: isinstance(app.screen, CommandPalette))
                await pilot.press(*typed)
                await wait_for(
                    lambda: "No matches" in screen_text(app) or "(alt+" in screen_text(app)
                )
                # the palette's lines: above its bottom edge (the footer says its own)
                lines = screen_text(app).splitlines()
                shown = "\n".join(lines[: next(i for i, ln in enumerate(lines) if "▁▁▁" in ln)])
                await pilot.press("escape")
                await wait_for(lambda: app.screen is screen)
                return shown

            shown = await palette_finds("by e")
            assert "By e-mail" in shown and "(alt+e)" in shown, shown
            await terminal_alt_key(pilot, "e")
            await wait_for(lambda: f"Reply by e-mail to {CUSTOMER}" in screen_text(app))
            shown = await palette_finds("by wh")
            assert "By WhatsApp" in shown and "(alt+e)" in shown, shown
            shown = await palette_finds("subject")
            assert "Subject/Cc" in shown and "(alt+s)" in shown, shown
    finally:
        await backend.stop()


async def test_a_reply_copies_in_everyone_else_the_newest_mail_was_for(tmp_path: Path):
    """Lucía wrote to support and her boss, copying accounts and another of our own
    addresses: the reply goes to her with the boss and accounts copied in (reply all),
    shown in the composer's bar, never our own addresses. Her colleague then writes into
    the thread: the next reply copies him in too. A Cc the agent sets (alt+s) is kept."""
    from email import message_from_bytes, policy

    boss, accounts, colleague = "boss@example.com", "accounts@example.com", "ops@example.com"
    received: list[tuple[bytes, list[str]]] = []

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        received.append((raw, recipients))

    everyone = [CUSTOMER, boss, accounts, colleague]
    async with Relaying(SupportMailbox(keep, everyone)) as relay_port:
        backend = mail_backend(tmp_path, relay_port)
        await backend.start()
        try:
            await backend.seed_agents()
            stored = await backend.store.ingest_email(
                EmailRecord(message_id="<a1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                            sender_name="Lucía Pérez", subject="Where is my order?",
                            text="It has not arrived.", to=(SUPPORT, boss),
                            cc=(accounts, "Billing@Acme.test"))
            )  # fmt: skip
            assert stored.thread_id is not None
            app = make_app(backend.url, backend.agent_token)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await inbox_ready(app)
                await open_thread(pilot, screen, stored.thread_id)
                await pilot.press("r")
                await wait_for(lambda: screen.composer.cc == (boss, accounts))
                await wait_for(lambda: f"Cc: {boss}, {accounts}" in screen_text(app))
                await pilot.press(*"On its way", "ctrl+s")
                await wait_for(lambda: len(received) == 1, timeout=10)
                await wait_for(lambda: not screen.composer.sending)
                assert screen.composer.cc == (boss, accounts)  # the thread's, still

                answered = await backend.store.ingest_email(
                    EmailRecord(message_id="<a2@example.com>", mailbox=SUPPORT,
                                sender=colleague, subject="Re: Where is my order?",
                                text="Please send it to our warehouse.",
                                thread_keys=("<a1@example.com>",), to=(SUPPORT,),
                                cc=(CUSTOMER,))
                )  # fmt: skip
                assert answered.thread_id == stored.thread_id
                await wait_for(lambda: screen.composer.cc == (colleague,))
                await pilot.press(*"Sent to the warehouse", "ctrl+s")
                await wait_for(lambda: len(received) == 2, timeout=10)
                await wait_for(lambda: not screen.composer.sending)

                await terminal_alt_key(pilot, "s")
                await wait_for(lambda: "Subject of this e-mail" in screen_text(app))
                await pilot.press("enter")
                await wait_for(lambda: "Cc: addresses copied in" in screen_text(app))
                await pilot.press("ctrl+u", "enter")  # nobody copied in, on purpose
                await wait_for(lambda: screen.composer.cc_chosen)
                assert screen.composer.cc == ()
                await backend.store.ingest_email(
                    EmailRecord(message_id="<a3@example.com>", mailbox=SUPPORT, sender=boss,
                                subject="Re: Where is my order?", text="Thanks all.",
                                thread_keys=("<a2@example.com>",), to=(SUPPORT,),
                                cc=(CUSTOMER, accounts))
                )  # fmt: skip
                await wait_for(
                    lambda: any(m.text == "Thanks all." for m in screen.log_widget.messages)
                )
                assert screen.composer.cc == ()  # the agent's choice stands
        finally:
            await backend.stop()
    first = message_from_bytes(received[0][0], policy=policy.default)
    assert str(first["To"]) == CUSTOMER
    assert str(first["Cc"]) == f"{boss}, {accounts}"
    assert sorted(received[0][1]) == sorted([CUSTOMER, boss, accounts])
    second = message_from_bytes(received[1][0], policy=policy.default)
    assert str(second["Cc"]) == colleague
    assert sorted(received[1][1]) == sorted([CUSTOMER, colleague])
