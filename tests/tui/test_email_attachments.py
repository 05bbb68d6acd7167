"""Several files in one e-mail from the composer at 80×24: attaching again adds one, the
list is shown, ctrl+x drops the one picked, and the relay receives the rest in one mail,
signed with the agent's signature previewed under the draft; on WhatsApp, one file a
message, and the composer says so."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from textual.events import Paste
from textual.widgets import Static

from backend.email.smtp_listener import SupportMailbox
from backend.store import EmailRecord
from tests.email.test_smtp_send import Relaying
from tests.support import LiveBackend
from tests.tui.backend_fixtures import inbox_ready, make_app, open_thread, screen_text, wait_for
from tests.tui.test_email_thread import mail_backend
from tui.dialogs.picker import FuzzyPicker
from tui.dialogs.simple import PromptDialog

SUPPORT = "support@acme.test"
CUSTOMER = "lucia@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def files(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    made = {"invoice.pdf": PDF, "photo.png": PNG, "notes.txt": b"Size 42\n"}
    for name, content in made.items():
        (folder / name).write_bytes(content)
    return {name: folder / name for name in made}


async def test_an_agent_attaches_three_files_drops_one_and_the_mail_carries_two(tmp_path: Path):
    attached = files(tmp_path / "files")
    received: list[bytes] = []

    async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
        received.append(raw)

    async with Relaying(SupportMailbox(keep, [CUSTOMER])) as relay_port:
        backend = mail_backend(tmp_path, relay_port)
        await backend.start()
        try:
            await backend.seed_agents()
            stored = await backend.store.ingest_email(
                EmailRecord(message_id="<f1@example.com>", mailbox=SUPPORT, sender=CUSTOMER,
                            sender_name="Lucía Pérez", subject="The papers",
                            text="Send me the papers.", to=(SUPPORT,))
            )  # fmt: skip
            assert stored.thread_id is not None
            async with backend.client(backend.agent_token) as client:
                signed = {"signature": "{agent}\nAcme Support"}
                assert (await client.patch("/api/v1/me", json=signed)).status_code == 200
            app = make_app(backend.url, backend.agent_token)
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await inbox_ready(app)
                await open_thread(pilot, screen, stored.thread_id)
                await pilot.press("r")
                composer = screen.composer
                await wait_for(lambda: composer.writes_email)
                # the signature the server will add, previewed under the draft
                await wait_for(lambda: "-- Bob Agent · Acme Support" in screen_text(app))
                await composer.area._on_paste(Paste(str(attached["invoice.pdf"])))
                await wait_for(lambda: len(composer.attachments) == 1)
                await composer.area._on_paste(Paste(str(attached["photo.png"])))
                await wait_for(lambda: len(composer.attachments) == 2)
                await pilot.press("ctrl+f")  # attach again: by its path
                await wait_for(lambda: isinstance(app.screen, PromptDialog))
                await pilot.press(*str(attached["notes.txt"]), "enter")
                await wait_for(lambda: len(composer.attachments) == 3)
                await wait_for(lambda: "3 files: invoice.pdf" in screen_text(app))
                assert "photo.png" in screen_text(app) and "notes.txt" in screen_text(app)

                await pilot.press("ctrl+x")  # several: which one?
                await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
                await pilot.press(*"photo", "enter")
                await wait_for(lambda: app.screen is screen)
                await wait_for(
                    lambda: composer.attachments == (attached["invoice.pdf"], attached["notes.txt"])
                )
                await wait_for(lambda: "Dropped photo.png" in screen_text(app))
                await pilot.press(*"Here they are", "ctrl+s")
                await wait_for(lambda: len(received) == 1, timeout=10)
                await wait_for(lambda: composer.attachments == ())
        finally:
            await backend.stop()
    sent = message_from_bytes(received[0], policy=policy.default)
    plain = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain == "Here they are\n\n-- \nBob Agent\nAcme Support\n"
    assert [(part.get_filename(), part.get_content_type()) for part in sent.iter_attachments()] == [
        ("invoice.pdf", "application/pdf"),
        ("notes.txt", "text/plain"),
    ]


async def test_on_whatsapp_a_second_file_replaces_the_first_and_the_composer_says_so(
    desk, tmp_path: Path
):
    attached = files(tmp_path / "files")
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        composer = screen.composer
        await composer.area._on_paste(Paste(str(attached["invoice.pdf"])))
        await wait_for(lambda: composer.attachments == (attached["invoice.pdf"],))
        await composer.area._on_paste(Paste(str(attached["photo.png"])))
        await wait_for(lambda: composer.attachments == (attached["photo.png"],))
        status = composer.query_one("#composer-status", Static)
        await wait_for(lambda: "WhatsApp takes one file a message" in str(status.content))
        # several picked for an e-mail, then sent on WhatsApp: refused, nothing lost
        composer.attachments = (attached["invoice.pdf"], attached["photo.png"])
        await pilot.press(*"see attached", "ctrl+s")
        await wait_for(lambda: "drop all but one (ctrl+x)" in str(status.content))
        assert composer.text == "see attached" and len(composer.attachments) == 2
        # ctrl+x drops the one file, not the line of text (the text box's cut)
        composer.attachments = (attached["photo.png"],)
        await pilot.press("ctrl+x")
        await wait_for(lambda: composer.attachments == ())
        assert composer.text == "see attached"


async def test_a_reply_longer_than_a_message_may_be_is_refused_and_kept(desk):
    app = desk.make_app(desk.admin_token)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await inbox_ready(app)
        await open_thread(pilot, screen, desk.ids["ana"])
        await pilot.press("r")
        composer = screen.composer
        composer.area.load_text("x" * 4097)
        await pilot.press("ctrl+s")
        status = composer.query_one("#composer-status", Static)
        await wait_for(lambda: "Not sent" in str(status.content))
        assert "4096" in str(status.content) and not composer.sending
        assert composer.text == "x" * 4097


async def test_every_file_of_a_received_mail_is_shown_and_the_third_opens(
    tmp_path: Path, monkeypatch
):
    from tests.email.test_inbound_wiring import mail, send

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("DISPLAY", raising=False)  # no viewer: opening saves it and says where
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    backend = LiveBackend(tmp_path, overrides={"email": {"addresses": [SUPPORT], "listen_port": 0}})
    await backend.start()
    try:
        await backend.seed_agents()
        letter = mail("The papers you asked for.", message_id="<three@example.com>")
        letter.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
        letter.add_attachment(PNG, maintype="image", subtype="png", filename="photo.png")
        letter.add_attachment(b"Size 42\n", maintype="text", subtype="plain", filename="notes.txt")
        await send(backend, letter)
        [thread] = (await backend.store.list_threads()).items
        app = make_app(backend.url, backend.agent_token)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await inbox_ready(app)
            await open_thread(pilot, screen, thread.id)
            await wait_for(lambda: "notes.txt" in screen_text(app))
            text = screen_text(app)
            assert "1. invoice.pdf · application/pdf · 48 B" in text
            assert "2. photo.png · image/png · 72 B" in text
            assert "3. notes.txt · text/plain · 8 B" in text
            assert "attachments" not in text  # each file is listed, not counted
            screen.log_widget.focus()
            await pilot.press("x")  # several: which one?
            await wait_for(lambda: isinstance(app.screen, FuzzyPicker))
            await pilot.press(*"notes", "enter")
            await wait_for(lambda: app.screen is screen)
            cache = tmp_path / "cache" / "ttydesk" / "media"
            await wait_for(lambda: any(cache.glob("*-notes.txt")))
            [opened] = cache.glob("*-notes.txt")
            assert opened.read_bytes() == b"Size 42\n"
            said = f"No viewer here (SSH?). Saved to {opened}"
            await wait_for(lambda: any(n.message == said for n in app._notifications))
    finally:
        await backend.stop()
