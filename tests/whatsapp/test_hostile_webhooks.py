"""No webhook can hurt another: broken strings, numbers JSON or SQLite cannot hold, and
bodies too large to read are answered without a 500 and without touching their neighbours."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, WEBHOOK, rows, serialise, signature, signed_post

REPLACEMENT = "\ufffd"


async def thread_messages(agent, thread_id: int) -> list[dict[str, Any]]:
    response = await agent.get(f"/api/v1/threads/{thread_id}/messages", params={"limit": 200})
    assert response.status_code == 200, response.text
    return response.json()["items"]


# ------------------------------------------------------------------ strings


async def test_a_lone_surrogate_in_name_and_text_is_stored_replaced(backend, meta, agent):
    """Failed before the fix: 500 on every retry (UnicodeEncodeError binding the name)."""
    broken = p.envelope(
        (
            "messages",
            p.value(
                messages=[p.text("broken \ud83d emoji", at=NOW)],
                contacts=[p.contact(name="Mar\udc00ia \ud83d")],
            ),
        )
    )
    body = serialise(broken)
    assert b"\\ud83d" in body and b"\\udc00" in body  # as Meta would escape them
    response = await signed_post(meta, body)
    assert response.status_code == 200, response.text
    # a whole emoji (an escaped pair) is still one character
    response = await signed_post(meta, p.messages_envelope(p.text("after \U0001f600", at=NOW)))
    assert response.status_code == 200, response.text

    contacts = await rows(backend, "SELECT id FROM contacts")
    assert len(contacts) == 1
    contact = await agent.get(f"/api/v1/contacts/{contacts[0]['id']}")
    assert contact.status_code == 200, contact.text
    assert f"Mar{REPLACEMENT}ia" in contact.text
    threads = await rows(backend, "SELECT id FROM threads")
    assert len(threads) == 1
    texts = [m["text"] for m in await thread_messages(agent, threads[0]["id"])]
    assert sorted(texts) == sorted([f"broken {REPLACEMENT} emoji", "after \U0001f600"])
    found = await agent.get("/api/v1/search", params={"q": "broken"})
    assert found.status_code == 200 and found.json()["items"]


async def test_a_lone_surrogate_in_a_raw_payload_and_bytes_that_are_not_utf8(backend, meta):
    """Failed before the fix: 500 (the raw payload of an unknown type, a lone surrogate in
    UTF-8 bytes, decoded with surrogatepass)."""
    unknown = p.message("hologram", {"label": "\ud83d", "\udfff": 1}, at=NOW)
    response = await signed_post(meta, p.messages_envelope(unknown))
    assert response.status_code == 200, response.text
    # the UTF-8 encoding of U+D83D (which UTF-8 forbids) straight in the body
    body = serialise(p.messages_envelope(p.text("raw SURROGATE here", at=NOW)))
    response = await signed_post(meta, body.replace(b"SURROGATE", b"\xed\xa0\xbd"))
    assert response.status_code == 200, response.text
    stored = await rows(backend, "SELECT kind, text, raw FROM messages ORDER BY id")
    assert json.loads(stored[0]["raw"])["hologram"] == {"label": REPLACEMENT, REPLACEMENT: 1}
    assert stored[1]["text"].startswith("raw ") and REPLACEMENT in stored[1]["text"]


# ------------------------------------------------------------------ numbers


def with_literal(payload: dict[str, Any], literal: bytes) -> bytes:
    """``payload`` serialised with the string "LITERAL" replaced by a bare ``literal``."""
    return serialise(payload).replace(b'"LITERAL"', literal)


def poisoned_location(literal: bytes | None) -> bytes:
    latitude = "LITERAL" if literal is not None else "NaN"
    location = {"latitude": latitude, "longitude": -3.70379, "name": "Sol", "address": "Madrid"}
    payload = p.messages_envelope(p.message("location", location, at=NOW))
    return with_literal(payload, literal) if literal is not None else serialise(payload)


async def test_numbers_out_of_range_leave_that_field_invalid_and_the_message_stored(
    backend, meta, agent
):
    """Failed before the fix: NaN/Infinity latitudes wrote invalid JSON, failing the commit."""
    for literal in (None, b"NaN", b"Infinity", b"-Infinity", b"1e999"):
        response = await signed_post(meta, poisoned_location(literal))
        assert response.status_code == 200, (literal, response.text)
    order = p.message(
        "order",
        {
            "catalog_id": "194836987003835",
            "product_items": [
                {"product_retailer_id": "A", "quantity": "LITERAL", "item_price": "Infinity"},
                {"product_retailer_id": "B", "quantity": 2, "item_price": 1e308},
            ],
        },
        at=NOW,
    )
    response = await signed_post(meta, with_literal(p.messages_envelope(order), b"9" * 30))
    assert response.status_code == 200, response.text
    failed = p.status("wamid.unknown", "failed", at=NOW, errors=[p.error(131026, "Undeliverable")])
    huge_code = serialise(p.statuses_envelope(failed)).replace(b"131026", b"1" * 25)
    response = await signed_post(meta, huge_code)
    assert response.status_code == 200, response.text

    stored = await rows(backend, "SELECT kind, content, thread_id FROM messages ORDER BY id")
    assert [m["kind"] for m in stored] == ["unsupported"] * 5 + ["order"]
    for message in stored:
        json.loads(message["content"], parse_constant=pytest.fail)  # strict JSON
    items = json.loads(stored[-1]["content"])["order"]
    assert [(i["quantity"], i["item_price"]) for i in items] == [(0, None), (2, 1e308)]
    listed = await thread_messages(agent, stored[0]["thread_id"])
    assert len(listed) == 6


async def test_poisoned_webhooks_in_a_shared_batch_fail_none_of_their_neighbours(backend):
    """20 poisoned webhooks among 1,000, sent concurrently (so they share write batches),
    with agent notes posted among them. Failed before the fix: the poisoned ones failed
    their whole batch (hundreds of 500s for good webhooks, notes refused)."""
    # clients with room to wait: a thousand requests queue on a loaded machine
    meta = httpx.AsyncClient(base_url=backend.url, timeout=120.0)
    agent = httpx.AsyncClient(
        base_url=backend.url,
        timeout=120.0,
        headers={"Authorization": f"Bearer {backend.agent_token}"},
    )
    async with meta, agent:
        await deliver_among_notes(backend, meta, agent)


async def deliver_among_notes(backend, meta, agent) -> None:
    first = await signed_post(meta, p.messages_envelope(p.text("open a thread", at=NOW)))
    assert first.status_code == 200
    thread_id = (await rows(backend, "SELECT id FROM threads"))[0]["id"]

    literals: list[bytes | None] = [None, b"NaN", b"Infinity", b"1e999"]
    bodies = []
    for index in range(1000):
        if index % 50 == 7:
            bodies.append(poisoned_location(literals[index // 50 % len(literals)]))
        else:
            customer = f"3461234{index % 10:04d}"
            message = p.text(f"good {index}", at=NOW, from_=customer)
            bodies.append(
                serialise(
                    p.envelope(
                        (
                            "messages",
                            p.value(messages=[message], contacts=[p.contact(wa_id=customer)]),
                        )
                    )
                )
            )
    gate = asyncio.Semaphore(64)

    async def deliver(body: bytes) -> int:
        async with gate:
            return (await signed_post(meta, body)).status_code

    async def note(index: int) -> int:
        async with gate:
            response = await agent.post(
                f"/api/v1/threads/{thread_id}/messages", json={"kind": "note", "text": f"n{index}"}
            )
            return response.status_code

    work = [deliver(body) for body in bodies]
    for index in range(20):
        work.insert(index * 50 + 25, note(index))
    statuses = await asyncio.gather(*work)
    assert statuses.count(200) == 1000 and statuses.count(202) == 20, sorted(set(statuses))

    good = await rows(backend, "SELECT COUNT(*) AS n FROM messages WHERE text LIKE 'good %'")
    assert good[0]["n"] == 980
    notes = await rows(backend, "SELECT COUNT(*) AS n FROM messages WHERE kind = 'note'")
    assert notes[0]["n"] == 20
    placeholders = await rows(
        backend, "SELECT COUNT(*) AS n FROM messages WHERE kind = 'unsupported'"
    )
    assert placeholders[0]["n"] == 20
    # the webhooks did share commits (on PostgreSQL, ``batches`` also counts the pages of
    # events the follower published: not a measure of sharing)
    assert backend.store.writer.commits < 1000


# ------------------------------------------------------------------ body size


@pytest.fixture
def backend_overrides() -> dict[str, Any]:
    return {"webhook_max_body_bytes": 64 * 1024}


def padded(size: int) -> bytes:
    """A signed-looking notification of about ``size`` bytes."""
    payload = p.messages_envelope(p.text("x" * size, at=NOW))
    return serialise(payload)


async def test_a_body_over_the_cap_with_a_length_is_413_before_the_signature(backend, meta):
    """Failed before the fix: read whole, then 401 (the cap was the 2 MB JSON body limit)."""
    body = padded(200 * 1024)
    response = await meta.post(
        WEBHOOK,
        content=body,
        headers={"X-Hub-Signature-256": signature(body), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert await rows(backend, "SELECT id FROM messages") == []
    small = await signed_post(meta, p.messages_envelope(p.text("still here", at=NOW)))
    assert small.status_code == 200
    assert await rows(backend, "SELECT text FROM messages") == [{"text": "still here"}]


async def test_a_chunked_body_over_the_cap_is_413_as_it_streams(backend, meta):
    """A chunked body announces no length: the server answers 413 once it passes the cap,
    while the client is still sending. Failed before the fix: the server waited for the
    whole body (up to 100 MB), then answered 401."""
    reader, writer = await asyncio.open_connection("127.0.0.1", backend.port)
    try:
        writer.write(
            f"POST {WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            "X-Hub-Signature-256: sha256=00\r\n\r\n".encode()
        )
        chunk = b"[" * 16 * 1024
        sent = 0
        # 8 chunks: twice the cap; the body is never finished (no final 0-length chunk)
        for _ in range(8):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        await writer.drain()
        async with asyncio.timeout(10):
            status_line = await reader.readline()
            head = await reader.readuntil(b"\r\n\r\n")
        assert status_line.split()[1] == b"413", status_line
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        error = json.loads(await reader.readexactly(length))
        assert error["error"]["code"] == "too_large"
    finally:
        writer.close()
        await writer.wait_closed()

    # httpx sends a generator body chunked
    async def generated():
        for _ in range(64):
            yield b" " * 16 * 1024

    response = await meta.post(
        WEBHOOK, content=generated(), headers={"X-Hub-Signature-256": "sha256=00"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    after = await signed_post(meta, p.messages_envelope(p.text("a valid one after", at=NOW)))
    assert after.status_code == 200
    assert await rows(backend, "SELECT text FROM messages") == [{"text": "a valid one after"}]
