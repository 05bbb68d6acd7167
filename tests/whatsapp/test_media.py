"""Received media: fetched from the Graph API (a stand-in server on 127.0.0.1 here; the
simulator in test_media_e2e.py), sha256-checked, stored, served; failures retried."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from backend.keys import SERVICES
from backend.whatsapp.media import sha256_matches
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import ACCESS_TOKEN, NOW, rows, signed_post

AT = NOW - timedelta(minutes=5)
JPEG = b"\xff\xd8\xff\xe0" + b"JFIF-ish test image " * 200
PDF = b"%PDF-1.4\n" + b"0 obj << >> endobj\n" * 100


@dataclass
class FakeGraph:
    """The two Graph API calls of a media fetch, with switches for faults."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    fail_lookups: int = 0  # answer 500 to this many lookups first
    fail_downloads: int = 0
    corrupt: bool = False  # serve other bytes than the announced sha256
    base64_sha: bool = False
    lookups: int = 0
    downloads: int = 0
    url: str = ""

    def add(self, media_id: str, data: bytes, mime: str) -> str:
        self.files[media_id] = (data, mime)
        return hashlib.sha256(data).hexdigest()

    async def lookup(self, request: web.Request) -> web.Response:
        self.lookups += 1
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return web.json_response({"error": {"code": 190, "message": "bad token"}}, status=401)
        if self.fail_lookups:
            self.fail_lookups -= 1
            return web.json_response({"error": {"code": 1, "message": "oops"}}, status=500)
        media_id = request.match_info["media_id"]
        if media_id not in self.files:
            return web.json_response(
                {"error": {"code": 100, "message": "no such media"}}, status=404
            )
        data, mime = self.files[media_id]
        digest = hashlib.sha256(data)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.url}/whatsapp_business/attachments/?mid={media_id}",
                "mime_type": mime,
                "sha256": base64.b64encode(digest.digest()).decode()
                if self.base64_sha
                else digest.hexdigest(),
                "file_size": len(data),
                "id": media_id,
            }
        )

    async def download(self, request: web.Request) -> web.Response:
        self.downloads += 1
        if request.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return web.Response(status=401)
        if self.fail_downloads:
            self.fail_downloads -= 1
            return web.Response(status=503)
        data, mime = self.files[request.query["mid"]]
        if self.corrupt:
            data = data[:-1] + b"!"
        return web.Response(body=data, content_type=mime.split(";")[0])


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    app = web.Application()
    app.router.add_get("/v26.0/{media_id}", fake.lookup)
    app.router.add_get("/whatsapp_business/attachments/", fake.download)
    server = TestServer(app, host="127.0.0.1")  # port 0
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        await server.close()


@pytest.fixture
def backend_overrides(graph) -> dict[str, Any]:
    return {"whatsapp_graph_url": graph.url, "whatsapp_api_version": "v26.0"}


@pytest.fixture
def fetcher(backend):
    fetcher = backend.app[SERVICES]["whatsapp.media_fetcher"]
    fetcher.backoff = (0.05,)
    return fetcher


async def media_row(backend) -> dict[str, Any]:
    (row,) = await rows(backend, "SELECT * FROM media")
    return row


async def wait_state(backend, state: str, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            row = await media_row(backend)
            if row["state"] == state:
                return row
            await asyncio.sleep(0.02)


async def test_a_received_image_is_fetched_checked_stored_and_served(
    backend, meta, agent, graph, fetcher
):
    sha = graph.add("1479537139650973", JPEG, "image/jpeg")
    msg = p.image(at=AT, caption="box", sha256=sha)
    assert (await signed_post(meta, p.messages_envelope(msg))).status_code == 200
    row = await wait_state(backend, "ready")
    assert row["size"] == len(JPEG)
    assert row["sha256"] == sha
    path = backend.settings.media_dir / row["path"]
    assert path.read_bytes() == JPEG
    assert path.suffix == ".jpg"
    response = await agent.get(f"/api/v1/media/{row['id']}")
    assert response.status_code == 200
    assert response.content == JPEG
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    updates = [
        json.loads(frame)
        for _, frame in await backend.store.events_after(0)
        if '"type":"message.updated"' in frame
    ]
    assert updates[-1]["data"]["media"]["state"] == "ready"


async def test_the_webhook_sha256_in_base64_is_accepted(backend, meta, graph, fetcher):
    graph.add("2754859441498128", PDF, "application/pdf")
    graph.base64_sha = True
    doc = p.media(
        "document",
        at=AT,
        mime="application/pdf",
        filename="invoice.pdf",
        sha256=base64.b64encode(hashlib.sha256(PDF).digest()).decode(),
    )
    await signed_post(meta, p.messages_envelope(doc))
    row = await wait_state(backend, "ready")
    assert row["sha256"] == hashlib.sha256(PDF).hexdigest()


async def test_a_download_failure_is_retried_until_it_succeeds(backend, meta, graph, fetcher):
    sha = graph.add("1479537139650973", JPEG, "image/jpeg")
    graph.fail_lookups = 1
    graph.fail_downloads = 1
    await signed_post(meta, p.messages_envelope(p.image(at=AT, sha256=sha)))
    row = await wait_state(backend, "ready")
    assert row["attempts"] == 3  # lookup failed, download failed, then success
    assert row["error"] is None
    assert graph.lookups == 3


async def test_a_sha256_mismatch_fails_after_the_attempts_and_can_be_retried(
    backend, meta, agent, graph, fetcher
):
    sha = graph.add("1479537139650973", JPEG, "image/jpeg")
    graph.corrupt = True
    await signed_post(meta, p.messages_envelope(p.image(at=AT, sha256=sha)))
    row = await wait_state(backend, "failed")
    assert row["attempts"] == fetcher.max_attempts
    assert "sha256 mismatch" in row["error"]
    assert row["path"] is None
    assert not list((backend.settings.media_dir / "in").glob("*"))  # no partial file left
    response = await agent.get(f"/api/v1/media/{row['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "media_not_ready"
    graph.corrupt = False
    retried = await agent.post(f"/api/v1/media/{row['id']}/retry")
    assert retried.status_code == 202
    row = await wait_state(backend, "ready")
    assert (await agent.get(f"/api/v1/media/{row['id']}")).content == JPEG


async def test_an_unknown_media_id_fails_at_once(backend, meta, graph, fetcher):
    await signed_post(meta, p.messages_envelope(p.image(at=AT, media_id="gone")))
    row = await wait_state(backend, "failed")
    assert row["attempts"] == 1
    assert "404" in row["error"]


async def test_a_media_id_older_than_7_days_is_not_fetched(backend, graph, fetcher):
    graph.add("old", JPEG, "image/jpeg")

    def old(tx):
        return tx.insert(
            "media",
            {
                "external_id": "old",
                "direction": "in",
                "mime_type": "image/jpeg",
                "state": "pending",
                "phone_number_id": p.PHONE_NUMBER_ID,
                "created_at": (NOW - timedelta(days=8)).isoformat(),
            },
        )

    await backend.store.write(old)
    fetcher.wake()
    row = await wait_state(backend, "failed")
    assert "expired" in row["error"]
    assert graph.lookups == 0


async def test_hostile_file_names_are_made_safe(backend, meta, agent, graph, fetcher):
    sha = graph.add("2754859441498128", PDF, "application/pdf")
    doc = p.media(
        "document",
        at=AT,
        mime="application/pdf",
        sha256=sha,
        filename='../../etc/pass"wd\r\n\u202ecod.pdf',
    )
    await signed_post(meta, p.messages_envelope(doc))
    row = await wait_state(backend, "ready")
    assert row["path"].startswith("in/") and ".." not in row["path"]
    response = await agent.get(f"/api/v1/media/{row['id']}")
    disposition = response.headers["content-disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "/" not in disposition.split("filename=")[1].split(";")[0]
    assert 'filename="_._etc_pass_wdcod.pdf"' in disposition
    assert "%E2%80%AE" not in disposition  # the bidi override is gone


async def test_media_of_a_quarantined_message_is_for_admins_only(
    backend, meta, agent, admin, graph, fetcher
):
    sha = graph.add("1479537139650973", JPEG, "image/jpeg")
    msg = p.image(at=AT, sha256=sha, caption="card 4111 1111 1111 1111")
    await signed_post(meta, p.messages_envelope(msg))
    row = await wait_state(backend, "ready")
    assert (await agent.get(f"/api/v1/media/{row['id']}")).status_code == 404
    assert (await admin.get(f"/api/v1/media/{row['id']}")).content == JPEG


async def test_missing_media_and_missing_token(backend, meta, agent):
    response = await agent.get("/api/v1/media/424242")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "media_not_found"
    assert (await agent.get("/api/v1/media/abc")).status_code == 422
    assert (await meta.get("/api/v1/media/1")).status_code == 401
    assert (await agent.post("/api/v1/media/424242/retry")).status_code == 404


def test_sha256_matches_hex_and_base64():
    digest = hashlib.sha256(b"x").digest()
    assert sha256_matches(digest.hex(), digest)
    assert sha256_matches(digest.hex().upper(), digest)
    assert sha256_matches(base64.b64encode(digest).decode(), digest)
    assert sha256_matches(base64.urlsafe_b64encode(digest).decode().rstrip("="), digest)
    assert not sha256_matches("0" * 64, digest)
    assert not sha256_matches("not a hash", digest)
