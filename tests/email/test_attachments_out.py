"""Several files in one e-mail of ours (``SendMedia.more_media_ids``): the relay receives
them all, each under the type sniffed from its content; too many or too large (one, or
all together) is refused by field with the draft kept; WhatsApp takes one a message. The
text beside them is an e-mail's, longer than a WhatsApp caption may be."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import httpx

from tests.backend.wsclient import LiveClient
from tests.email.test_inbound_wiring import mail, send, threads
from tests.email.test_outbound import CUSTOMER, desk_with_relay, relay_to, settled

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
MB = 1024 * 1024


async def upload(client: httpx.AsyncClient, filename: str, content: bytes) -> int:
    response = await client.post("/api/v1/media", files={"file": (filename, content)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_an_email_carries_every_file_attached_each_as_sniffed(tmp_path: Path):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, relay):
        await send(desk, mail("Send me the papers", message_id="<a1@example.com>"))
        [thread] = await threads(desk)
        async with desk.client(desk.admin_token) as client:
            # the names say otherwise: the content decides the type
            photo = await upload(client, "photo.pdf", PNG)
            invoice = await upload(client, "invoice.txt", PDF)
            notes = await upload(client, "notes.txt", "Größe: 42\n".encode())
            async with LiveClient.connect(desk, desk.admin_token) as live:
                response = await client.post(
                    f"/api/v1/threads/{thread['id']}/messages",
                    json={"kind": "media", "media_id": photo, "caption": "The papers.",
                          "more_media_ids": [invoice, notes, invoice]},
                )  # fmt: skip
                assert response.status_code == 202, response.text
                queued = response.json()
                assert queued["email"]["attachments"] == 3
                assert (await settled(live, queued["id"]))["status"] == "sent"
        ((raw, _, _),) = relay.received
        sent = message_from_bytes(raw, policy=policy.default)
        plain = sent.get_body(("plain",)).get_content()
        assert plain.startswith("The papers.")
        attached = [
            (part.get_filename(), part.get_content_type(), part.get_content())
            for part in sent.iter_attachments()
        ]
        assert [(name, kind) for name, kind, _ in attached] == [
            ("photo.pdf", "image/png"),
            ("invoice.txt", "application/pdf"),
            ("notes.txt", "text/plain"),
        ]
        assert attached[0][2] == PNG and attached[1][2] == PDF
        assert attached[2][2] == "Größe: 42\n"


async def test_files_an_email_cannot_carry_are_refused_by_field_and_the_draft_kept(
    tmp_path: Path,
):
    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, _relay):
        await send(desk, mail("Send me the papers", message_id="<a2@example.com>"))
        [thread] = await threads(desk)
        path = f"/api/v1/threads/{thread['id']}/messages"
        async with desk.client(desk.admin_token) as client:
            await client.put(f"/api/v1/threads/{thread['id']}/draft", json={"text": "kept"})
            large = await upload(client, "large.txt", b"a" * (10 * MB + 1))
            nine = [await upload(client, f"part{n}.txt", b"b" * (9 * MB)) for n in range(2)]
            small = [await upload(client, f"s{n}.txt", f"file {n}\n".encode()) for n in range(11)]
            for body, field, words in (
                ({"media_id": large}, "media_id", "large.txt is 10.0 MB: an e-mail takes files"),
                ({"media_id": small[0], "more_media_ids": [large]}, "more_media_ids",
                 "large.txt is 10.0 MB"),
                ({"media_id": nine[0], "more_media_ids": [nine[1], small[0]]}, "more_media_ids",
                 "The 3 files come to 18.0 MB: an e-mail takes at most 18.0 MB"),
                ({"media_id": small[0], "more_media_ids": small[1:]}, "more_media_ids",
                 "at most 10 files; this one has 11"),
                ({"media_id": small[0], "more_media_ids": [999999]}, "more_media_ids",
                 "no uploaded file with the id 999999"),
            ):  # fmt: skip
                refused = await client.post(path, json={"kind": "media", **body})
                assert refused.status_code == 422, refused.text
                error = refused.json()["error"]
                assert (error["field"], words in error["message"]) == (field, True), error
            draft = await client.get(f"/api/v1/threads/{thread['id']}/draft")
            assert draft.json()["text"] == "kept"
            # ten files under the limits go, with an e-mail's text (longer than a
            # WhatsApp caption may be)
            fits = await client.post(
                path,
                json={"kind": "media", "media_id": nine[0], "caption": "Dear Lucía,\n" * 300,
                      "more_media_ids": small[:8] + [await upload(client, "x.txt", b"c" * MB)]},
            )  # fmt: skip
            assert fits.status_code == 202, fits.text
            assert fits.json()["email"]["attachments"] == 10


async def test_whatsapp_takes_one_file_a_message(tmp_path: Path):
    from tests.backend.seed import seed_thread

    async with desk_with_relay(tmp_path, relay_to(CUSTOMER)) as (desk, _relay):
        chat = await seed_thread(desk.store, name="Lucía", phone="+34611111111", text="Hola")
        async with desk.client(desk.admin_token) as client:
            first = await upload(client, "a.png", PNG)
            second = await upload(client, "b.png", PNG)
            refused = await client.post(
                f"/api/v1/threads/{chat.id}/messages",
                json={"kind": "media", "media_id": first, "more_media_ids": [second]},
            )
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["field"] == "more_media_ids"
        assert "WhatsApp takes one file a message" in error["message"]
