"""The webhook endpoint: handshake, signatures, malformed bodies, drops, idempotency."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import (
    CONNECTED_AT,
    NOW,
    WEBHOOK,
    connect_number,
    counter,
    rows,
    serialise,
    signed_post,
)


async def message_count(backend) -> int:
    return (await rows(backend, "SELECT COUNT(*) AS n FROM messages"))[0]["n"]


# ------------------------------------------------------------------ handshake


async def test_handshake_answers_the_challenge(meta):
    response = await meta.get(
        WEBHOOK,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": "test-verify-token",
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


async def test_handshake_with_a_wrong_token_is_refused(meta):
    response = await meta.get(
        WEBHOOK,
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "verification_failed"
    response = await meta.get(WEBHOOK, params={"hub.verify_token": "test-verify-token"})
    assert response.status_code == 403
    # no token at all is refused the same way, never a 500
    response = await meta.get(WEBHOOK, params={"hub.mode": "subscribe", "hub.challenge": "1"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "verification_failed"


# ------------------------------------------------------------------ signatures


async def test_a_bad_signature_is_401_stores_nothing_and_is_counted(backend, meta):
    body = p.messages_envelope(p.text("hello", at=NOW))
    wrong = await signed_post(meta, body, secret="not-the-secret")
    missing = await signed_post(meta, body, header="")
    garbage = await signed_post(meta, body, header="sha256=zz\u00e9".encode("latin-1"))
    other_scheme = await signed_post(meta, body, header="sha1=abc")
    for response in (wrong, missing, garbage, other_scheme):
        assert response.status_code == 401
        assert response.json()["error"] == {
            "code": "bad_signature",
            "message": "The X-Hub-Signature-256 header is missing or does not match.",
        }
    assert await message_count(backend) == 0
    assert await counter(backend, "webhook.bad_signature") == 4


async def test_a_nul_character_in_customer_text_loses_nothing_else(
    backend, meta, agent, database_engine
):
    """PostgreSQL's TEXT cannot hold NUL (SQLite's can): there the NUL becomes U+FFFD and
    the message, the rest of its text and the thread are stored as on SQLite."""
    response = await signed_post(meta, p.messages_envelope(p.text("a\x00b 📦\x00", at=NOW)))
    assert response.status_code == 200
    nul = "\x00" if database_engine == "sqlite" else "\N{REPLACEMENT CHARACTER}"
    stored = await rows(backend, "SELECT text, thread_id FROM messages")
    assert [row["text"] for row in stored] == [f"a{nul}b 📦{nul}"]
    page = (await agent.get(f"/api/v1/threads/{stored[0]['thread_id']}/messages")).json()
    assert [message["text"] for message in page["items"]] == [f"a{nul}b 📦{nul}"]


async def test_the_signature_covers_the_raw_bytes_not_a_reserialisation(backend, meta):
    # \uXXXX escapes, spaces and newlines: any re-serialisation (compact or not, escaped or
    # not) changes these bytes and so the HMAC; only the bytes as received verify
    envelope = p.messages_envelope(p.text("¿Dónde está mi pedido? 📦", at=NOW))
    body = json.dumps(envelope, ensure_ascii=True, indent=1).encode("ascii")
    assert b"\\u00bf" in body and b": " in body and b"\n" in body
    assert body != serialise(envelope)
    response = await signed_post(meta, body)
    assert response.status_code == 200
    stored = await rows(backend, "SELECT text FROM messages")
    assert stored == [{"text": "¿Dónde está mi pedido? 📦"}]
    tampered = body.replace(b"pedido", b"PEDIDO")
    response = await meta.post(
        WEBHOOK,
        content=tampered,
        headers={"X-Hub-Signature-256": (await _sig(body))},
    )
    assert response.status_code == 401


async def test_the_right_digest_under_another_scheme_or_none_is_refused(backend, meta):
    body = serialise(p.messages_envelope(p.text("hello", at=NOW)))
    digest = (await _sig(body)).partition("=")[2]
    for header in (f"sha1={digest}", f"sha512={digest}", digest, f"={digest}", "sha256="):
        response = await signed_post(meta, body, header=header)
        assert response.status_code == 401, header
    assert await message_count(backend) == 0
    accepted = await signed_post(meta, body, header=f"SHA256={digest.upper()}")
    assert accepted.status_code == 200  # the scheme's case and the hex digits' do not matter


async def test_a_counter_that_cannot_be_written_is_logged_and_the_answer_stands(
    backend, meta, caplog
):
    await backend.store.write(lambda tx: tx.execute("DROP TABLE counters"))
    body = serialise(p.messages_envelope(p.text("hello", at=NOW)))
    with caplog.at_level("ERROR", logger="backend.whatsapp.webhook"):
        response = await signed_post(meta, body, secret="not-the-secret")
    assert response.status_code == 401
    (record,) = [r for r in caplog.records if r.name == "backend.whatsapp.webhook"]
    assert record.getMessage() == "counting webhook.bad_signature failed"
    assert record.exc_info is not None


def test_sign_gives_the_header_meta_sends():
    from backend.whatsapp.webhook import sign, signature_valid

    body = b'{"object": "whatsapp_business_account"}'
    expected = "sha256=" + hmac.new(b"k3y", body, hashlib.sha256).hexdigest()
    assert sign("k3y", body) == expected and sign(b"k3y", body) == expected
    assert signature_valid(b"k3y", body, expected)
    assert not signature_valid(b"k3y", body + b" ", expected)


@pytest.mark.parametrize("backend_overrides", [{"whatsapp_app_secret": ""}])
async def test_with_no_app_secret_a_body_signed_with_the_empty_key_is_refused(backend, meta):
    # `ttydesk serve` refuses to start without a secret; should an app run without one
    # anyway, an HMAC keyed with nothing proves nothing
    body = serialise(p.messages_envelope(p.text("hello", at=NOW)))
    response = await signed_post(meta, body, secret="")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert await message_count(backend) == 0


async def _sig(body: bytes) -> str:
    from tests.whatsapp.conftest import signature

    return signature(body)


# ------------------------------------------------------------------ malformed bodies


async def test_malformed_and_truncated_json_are_400_never_500(backend, meta):
    full = serialise(p.messages_envelope(p.text("hello", at=NOW)))
    for body in (
        full[: len(full) // 2],
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'"x"',
        b'{"object": "whatsapp_business_account", "entry": {"id": 1}}',
    ):
        response = await signed_post(meta, body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "malformed_json"
    assert await message_count(backend) == 0
    assert await counter(backend, "webhook.malformed") == 7
    # the message says why: not JSON, or JSON that is not a notification (and where)
    not_json = (await signed_post(meta, b"{not json")).json()["error"]["message"]
    assert not_json == "The body is not a notification (not valid JSON)."
    not_an_object = (await signed_post(meta, b"[1, 2]")).json()["error"]["message"]
    assert not_an_object == "The body is not a notification (the body must be a JSON object)."


async def test_deeply_nested_json_is_400(meta):
    body = b"[" * 100_000 + b"]" * 100_000
    response = await signed_post(meta, body)
    assert response.status_code == 400


async def test_odd_but_valid_shapes_are_acknowledged(backend, meta):
    odd = [
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": []},
        {"object": "whatsapp_business_account", "entry": [None, 3, {"changes": "x"}]},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages"}]}]},
        {"object": "page", "entry": []},
        p.envelope(("messages", {"messages": [{"type": "text"}, "junk"]})),
    ]
    for body in odd:
        response = await signed_post(meta, body)
        assert response.status_code == 200, body
    assert await message_count(backend) == 0
    assert await counter(backend, "webhook.invalid_item") == 2


# ------------------------------------------------------------------ unknown fields and types


async def test_unknown_fields_are_acknowledged_and_ignored(backend, meta):
    body = p.envelope(
        (
            "phone_number_quality_update",
            {"display_phone_number": "15550001111", "event": "FLAGGED"},
        ),
        ("account_update", {"event": "VERIFIED_ACCOUNT"}),
        ("something_new_2027", {"whatever": [1, 2, 3]}),
        ("messages", p.value(messages=[p.text("still processed", at=NOW)])),
    )
    response = await signed_post(meta, body)
    assert response.status_code == 200
    assert await counter(backend, "webhook.ignored_field") == 3
    assert [r["text"] for r in await rows(backend, "SELECT text FROM messages")] == [
        "still processed"
    ]


async def test_an_unknown_type_becomes_a_placeholder_with_the_raw_payload(backend, meta):
    msg = p.message("hologram", {"shape": "cube", "colour": "teal"}, at=NOW)
    response = await signed_post(meta, p.messages_envelope(msg))
    assert response.status_code == 200
    (row,) = await rows(backend, "SELECT kind, unsupported_reason, raw FROM messages")
    assert row["kind"] == "unsupported"
    assert row["unsupported_reason"] == "hologram"
    assert '"colour":"teal"' in row["raw"]


# ------------------------------------------------------------------ every entry, change, message


async def test_every_entry_change_message_and_status_is_processed(backend, meta):
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": p.WABA_ID,
                "changes": [
                    {
                        "field": "messages",
                        "value": p.value(
                            messages=[
                                p.text("one", at=NOW),
                                p.text("two", at=NOW + timedelta(seconds=1)),
                            ]
                        ),
                    },
                    {
                        "field": "messages",
                        "value": p.value(
                            messages=[
                                p.text("three", at=NOW, from_="447700900123", user_id="GB.99887766")
                            ],
                            contacts=[
                                p.contact(
                                    wa_id="447700900123", user_id="GB.99887766", name="Tom Jones"
                                )
                            ],
                        ),
                    },
                ],
            },
            {
                "id": p.WABA_ID,
                "changes": [
                    {"field": "messages", "value": p.value(messages=[p.text("four", at=NOW)])}
                ],
            },
        ],
    }
    response = await signed_post(meta, body)
    assert response.status_code == 200
    texts = sorted(r["text"] for r in await rows(backend, "SELECT text FROM messages"))
    assert texts == ["four", "one", "three", "two"]
    threads = await rows(backend, "SELECT id FROM threads")
    assert len(threads) == 2


# ------------------------------------------------------------------ drops


async def test_events_for_an_unknown_or_disconnected_number_are_dropped_and_counted(backend, meta):
    await connect_number(backend, phone_number_id="222", status="disconnected")
    await connect_number(backend, phone_number_id="333", destination="inbox")
    for pnid in (p.OTHER_PHONE_NUMBER_ID, "222", "333"):
        body = p.messages_envelope(p.text("hi", at=NOW), phone_number_id=pnid)
        response = await signed_post(meta, body)
        assert response.status_code == 200
    status_body = p.statuses_envelope(
        p.status("wamid.x", "sent", at=NOW), phone_number_id=p.OTHER_PHONE_NUMBER_ID
    )
    assert (await signed_post(meta, status_body)).status_code == 200
    assert await message_count(backend) == 0
    assert await counter(backend, "webhook.dropped_unknown_number") == 4


async def test_events_older_than_the_connection_are_dropped_and_counted(backend, meta):
    old = p.text("from before we connected", at=CONNECTED_AT - timedelta(seconds=1))
    new = p.text("after", at=CONNECTED_AT + timedelta(seconds=1))
    response = await signed_post(meta, p.messages_envelope(old, new))
    assert response.status_code == 200
    assert [r["text"] for r in await rows(backend, "SELECT text FROM messages")] == ["after"]
    assert await counter(backend, "webhook.dropped_before_connection") == 1


# ------------------------------------------------------------------ idempotency


async def test_a_duplicate_post_is_stored_once(backend, meta):
    body = p.messages_envelope(p.text("only once", at=NOW))
    first = await signed_post(meta, body)
    second = await signed_post(meta, body)
    assert first.status_code == second.status_code == 200
    assert await message_count(backend) == 1
    (ticket,) = await rows(
        backend, "SELECT th.inbound_count FROM tickets t JOIN threads th ON th.id = t.thread_id"
    )
    assert ticket["inbound_count"] == 1
    assert await counter(backend, "webhook.duplicate") == 1


async def test_the_same_message_in_two_different_posts_is_stored_once(backend, meta):
    msg = p.text("same wamid", at=NOW)
    other = p.text("another", at=NOW)
    await signed_post(meta, p.messages_envelope(msg))
    await signed_post(meta, p.messages_envelope(other, msg))
    assert await message_count(backend) == 2


async def test_concurrent_redeliveries_store_once(backend, meta):
    body = p.messages_envelope(p.text("racing", at=NOW))
    responses = await asyncio.gather(*(signed_post(meta, body) for _ in range(10)))
    assert {r.status_code for r in responses} == {200}
    assert await message_count(backend) == 1


async def test_a_retry_after_a_failed_processing_is_processed(backend, meta, monkeypatch, caplog):
    """The first delivery fails half-way (500, nothing kept, the failure logged with its
    cause); Meta's retry is stored in full."""
    from backend.store import conversations

    real = conversations.emit_thread_snapshot
    calls = {"n": 0}

    def failing(tx, thread_id):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")
        return real(tx, thread_id)

    monkeypatch.setattr(conversations, "emit_thread_snapshot", failing)
    body = p.messages_envelope(p.text("retry me", at=NOW))
    with caplog.at_level("ERROR", logger="backend.whatsapp.webhook"):
        first = await signed_post(meta, body)
    assert first.status_code == 500
    assert first.json()["error"] == {
        "code": "processing_failed",
        "message": "Part of the notification could not be stored; retry.",
    }
    (logged,) = [r for r in caplog.records if r.name == "backend.whatsapp.webhook"]
    assert logged.getMessage() == "webhook processing failed"
    assert logged.exc_info is not None and str(logged.exc_info[1]) == "disk on fire"
    assert await message_count(backend) == 0
    assert (await rows(backend, "SELECT COUNT(*) AS n FROM threads"))[0]["n"] == 0
    second = await signed_post(meta, body)
    assert second.status_code == 200
    assert await message_count(backend) == 1
    (ticket,) = await rows(
        backend,
        "SELECT th.inbound_count, t.status FROM tickets t JOIN threads th ON th.id = t.thread_id",
    )
    assert ticket == {"inbound_count": 1, "status": "waiting_on_us"}
