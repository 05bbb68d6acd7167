"""An e-mail thread in the inbox at 80x24: the messages marked as e-mail with their
subject and addresses, no WhatsApp session in the header, and the composer replying by
e-mail under the subject the customer will see (sent through a real test relay)."""

from __future__ import annotations

from pathlib import Path

from backend.email.smtp_listener import SupportMailbox
from backend.store import EmailRecord
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend
from tests.tui.backend_fixtures import inbox_ready, make_app, open_thread, screen_text, wait_for

SUPPORT = "support@acme.test"
CUSTOMER = "lucia@example.com"


async def test_an_email_thread_reads_as_email_and_the_composer_replies_by_email(tmp_path: Path):
    received: list[bytes] = []

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        received.append(raw)

    async with Relaying(SupportMailbox(keep, [CUSTOMER])) as relay_port:
        backend = LiveBackend(
            tmp_path,
            overrides={
                "email": {
                    "addresses": [SUPPORT],
                    "relay_host": "127.0.0.1",
                    "relay_port": relay_port,
                    "relay_starttls": False,
                }
            },
        )
        await backend.start()
        try:
            await backend.seed_agents()
            stored = await backend.store.ingest_email(
                EmailRecord(message_id="<t1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                            sender_name="Lucía Pérez", subject="Where is my order?",
                            text="It has not arrived.", to=(SUPPORT,))
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
                await pilot.press("r", *"On its way", "ctrl+s")
                await wait_for(lambda: len(received) == 1, timeout=10)
                await wait_for(
                    lambda: (
                        "Reply by e-mail · Subject: Re: Where is my order? [#1]" in screen_text(app)
                    )
                )
        finally:
            await backend.stop()
    assert b"On its way" in received[0]
