"""Every file of an e-mail is on its message (``Message.attachments``), in order, each
openable by its media id: a received mail's (through the real SMTP listener) and one of
ours with several files; the list and the live event agree; a quarantined mail lists
none."""

from __future__ import annotations

from pathlib import Path

from tests.backend.wsclient import LiveClient
from tests.email.test_attachments_out import PDF, PNG, upload
from tests.email.test_inbound_wiring import desk, mail, messages, send, threads  # noqa: F401
from tests.email.test_outbound import CUSTOMER, desk_with_relay, relay_to, settled
from tests.support import LiveBackend

NOTES = "Größe: 42\n".encode()


def listed(message: dict) -> list[tuple[str, str, int]]:
    return [(f["filename"], f["mime_type"], f["size"]) for f in message["attachments"]]


async def test_a_received_mail_lists_its_three_files_each_downloadable(desk: LiveBackend):  # noqa: F811
    letter = mail("The papers you asked for.", message_id="<three@example.com>")
    letter.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    letter.add_attachment(PNG, maintype="image", subtype="png", filename="photo.png")
    letter.add_attachment(NOTES, maintype="text", subtype="plain", filename="notes.txt")
    async with LiveClient.connect(desk, desk.admin_token) as live:
        await send(desk, letter)
        created = (await live.next_of("message.created", timeout=10))["data"]
    [thread] = await threads(desk)
    [message] = await messages(desk, thread["id"])
    assert listed(message) == [
        ("invoice.pdf", "application/pdf", len(PDF)),
        ("photo.png", "image/png", len(PNG)),
        ("notes.txt", "text/plain", len(NOTES)),
    ]
    assert created["attachments"] == message["attachments"]  # the live event's the same
    assert message["email"]["attachments"] == 3
    async with desk.client(desk.admin_token) as client:
        third = await client.get(f"/api/v1/media/{message['attachments'][2]['id']}")
        assert third.status_code == 200 and third.content == NOTES


async def test_a_quarantined_mail_lists_no_file(desk: LiveBackend):  # noqa: F811
    letter = mail(
        "Pay here",
        message_id="<q@example.com>",
        headers={"Authentication-Results": "mx.acme.test; dmarc=fail header.from=example.com"},
    )
    letter.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    await send(desk, letter)
    [thread] = await threads(desk)
    [message] = await messages(desk, thread["id"])
    assert message["kind"] == "quarantined" and message["attachments"] == []


async def test_an_email_of_ours_lists_its_three_files(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (ours_desk, _relay):
        await send(ours_desk, mail("Send me the papers", message_id="<a1@example.com>"))
        [thread] = await threads(ours_desk)
        async with ours_desk.client(ours_desk.admin_token) as client:
            photo = await upload(client, "photo.png", PNG)
            invoice = await upload(client, "invoice.pdf", PDF)
            notes = await upload(client, "notes.txt", NOTES)
            async with LiveClient.connect(ours_desk, ours_desk.admin_token) as live:
                response = await client.post(
                    f"/api/v1/threads/{thread['id']}/messages",
                    json={"kind": "media", "media_id": photo, "caption": "The papers.",
                          "more_media_ids": [invoice, notes]},
                )  # fmt: skip
                assert response.status_code == 202, response.text
                queued = response.json()
                settled_message = await settled(live, queued["id"])
        shown = [(photo, "photo.png"), (invoice, "invoice.pdf"), (notes, "notes.txt")]
        assert [(f["id"], f["filename"]) for f in queued["attachments"]] == shown
        assert settled_message["attachments"] == queued["attachments"]
        [ours, _] = await messages(ours_desk, thread["id"])  # newest first
        assert listed(ours) == [
            ("photo.png", "image/png", len(PNG)),
            ("invoice.pdf", "application/pdf", len(PDF)),
            ("notes.txt", "text/plain", len(NOTES)),
        ]
