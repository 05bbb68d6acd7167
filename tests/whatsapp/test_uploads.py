"""Uploads for sending: the type is sniffed from the content, the size checked per kind."""

from __future__ import annotations

import pytest

from backend.simulator.media_samples import sample_bytes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WEBP_STATIC = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64
OGG_OPUS = b"OggS" + b"\x00" * 24 + b"OpusHead" + b"\x00" * 32
OGG_VORBIS = b"OggS" + b"\x00" * 24 + b"\x01vorbis" + b"\x00" * 32
MB = 1024 * 1024


async def post(backend, content: bytes, filename: str = "file.bin"):
    async with backend.client(backend.agent_token) as client:
        return await client.post("/api/v1/media", files={"file": (filename, content)})


@pytest.mark.parametrize(
    ("content", "name", "mime", "kind"),
    [
        (sample_bytes("image/jpeg"), "a.txt", "image/jpeg", "image"),  # the name does not matter
        (PNG, "b.png", "image/png", "image"),
        (WEBP_STATIC, "s.webp", "image/webp", "sticker"),
        (sample_bytes("application/pdf"), "x.pdf", "application/pdf", "document"),
        (OGG_OPUS, "v.ogg", "audio/ogg", "audio"),
        ("Grüße, plain text\n".encode(), "notes.txt", "text/plain", "document"),
    ],
)
async def test_accepted_kinds(live_backend, content, name, mime, kind):
    response = await post(live_backend, content, name)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["mime_type"], body["kind"], body["size"]) == (mime, kind, len(content))
    assert body["filename"] == name
    files = list((live_backend.settings.media_dir / "outbound").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == content


@pytest.mark.parametrize(
    "content",
    [OGG_VORBIS, b"GIF89a" + b"\x00" * 64, b"\x00\x01\x02binary\xff\xfe", b"MZ" + b"\x00" * 100],
)
async def test_unsupported_types_name_the_formats(live_backend, content):
    response = await post(live_backend, content)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type" and "JPEG or PNG" in error["message"]
    assert not any((live_backend.settings.media_dir / "outbound").glob("*"))


async def test_too_large_image_and_sticker(live_backend):
    image = await post(live_backend, sample_bytes("image/jpeg") + b"\x00" * (5 * MB))
    assert image.status_code == 413
    assert "5 MB" in image.json()["error"]["message"]
    sticker = await post(live_backend, WEBP_STATIC + b"\x00" * (100 * 1024))
    assert sticker.status_code == 413 and "100 KB" in sticker.json()["error"]["message"]
    assert not any((live_backend.settings.media_dir / "outbound").glob("*"))


async def test_missing_file_field(live_backend):
    async with live_backend.client(live_backend.agent_token) as client:
        response = await client.post("/api/v1/media", files={"other": ("a", b"x")})
    assert response.status_code == 422 and response.json()["error"]["field"] == "file"
