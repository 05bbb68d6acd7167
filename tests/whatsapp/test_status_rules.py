"""Status rules at their edges: what ``apply_status`` answers, statuses of a number we do
not serve, statuses kept aside (their own times, their pruning), a failure after read, the
rank of a send being checked, which message moves the ticket, and template status updates
matched by Meta's id or by name and language."""

from __future__ import annotations

import functools
import json
from datetime import timedelta
from typing import Any

import pytest

from backend.store import conversations as conv
from backend.store.engine import parse_dt
from backend.store.statuses import (
    EARLY_KEEP,
    StatusRecord,
    apply_early_statuses,
    apply_status,
    apply_template_status,
    prune_early_statuses,
)
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import connect_number, counter, rows, signed_post
from tests.whatsapp.test_statuses import AT, message, outbound, statuses


async def apply(backend, wamid: str, status: str, **fields: Any) -> tuple[str, int | None]:
    """One status through ``apply_status`` as the webhook's transaction: its outcome and
    the message it settled."""
    record = StatusRecord(
        wamid=wamid, status=status, at=AT, **{"phone_number_id": p.PHONE_NUMBER_ID, **fields}
    )
    result = await backend.store.write(functools.partial(apply_status, record=record))
    return result.outcome, result.message_id


async def events_after(backend, seq: int, kind: str) -> list[dict[str, Any]]:
    found = await rows(
        backend, "SELECT payload FROM events WHERE seq > ? AND type = ? ORDER BY seq", (seq, kind)
    )
    return [json.loads(row["payload"])["data"] for row in found]


async def snapshots_after(backend, seq: int, kind: str) -> list[int]:
    """The entities of the snapshot events logged after ``seq`` (their payload is built
    when the event is read)."""
    found = await rows(
        backend, "SELECT entity_id FROM events WHERE seq > ? AND type = ? ORDER BY seq", (seq, kind)
    )
    return [row["entity_id"] for row in found]


async def last_seq(backend) -> int:
    (row,) = await rows(backend, "SELECT COALESCE(MAX(seq), 0) AS seq FROM events")
    return row["seq"]


async def test_apply_status_says_what_it_did_and_to_which_message(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.said")
    assert await apply(backend, "wamid.said", "delivered") == ("applied", mid)
    assert await apply(backend, "wamid.said", "delivered") == ("duplicate", None)
    assert await apply(backend, "wamid.said", "sent") == ("unchanged", mid)
    assert await apply(backend, "wamid.nobody-knows", "sent") == ("early", None)
    resent = await outbound(backend, meta, wamid="wamid.second-try")
    first_try = await apply(backend, "wamid.first-try", "failed", opaque=f"ttydesk:{resent}")
    assert first_try == ("stale_send", resent)
    dropped = await apply(backend, "wamid.said", "read", phone_number_id=p.OTHER_PHONE_NUMBER_ID)
    assert dropped == ("dropped_unknown_number", None)
    await signed_post(meta, p.messages_envelope(p.text("help", at=AT, id_="wamid.theirs")))
    (theirs,) = await rows(backend, "SELECT id FROM messages WHERE wamid = 'wamid.theirs'")
    assert await apply(backend, "wamid.theirs", "delivered") == ("not_ours", theirs["id"])


async def test_statuses_for_a_number_we_do_not_serve_are_dropped_and_counted(backend, meta):
    await connect_number(backend, phone_number_id="222", status="disconnected")
    mid = await outbound(backend, meta, wamid="wamid.served")
    for number in (p.OTHER_PHONE_NUMBER_ID, "222"):
        await statuses(meta, p.status("wamid.served", "read", at=AT), phone_number_id=number)
    assert (await message(backend, mid))["status"] == "sent"
    assert await counter(backend, "webhook.dropped_unknown_number") == 2
    assert await counter(backend, "webhook.status_unmatched") == 0
    await statuses(meta, p.status("wamid.served", "read", at=AT))
    assert (await message(backend, mid))["status"] == "read"


async def test_a_stale_duplicate_or_unknown_status_changes_nothing_and_tells_no_one(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.quiet")
    await statuses(meta, p.status("wamid.quiet", "sent", at=AT))
    await statuses(meta, p.status("wamid.quiet", "read", at=AT + timedelta(seconds=2)))
    seq = await last_seq(backend)
    before = await message(backend, mid)
    await statuses(meta, p.status("wamid.quiet", "delivered", at=AT + timedelta(seconds=1)))
    await statuses(meta, p.status("wamid.quiet", "read", at=AT + timedelta(seconds=3)))
    await statuses(meta, p.status("wamid.quiet", "warning_new_2027", at=AT))
    assert await message(backend, mid) == before
    assert await snapshots_after(backend, seq, "message.updated") == []
    assert await snapshots_after(backend, seq, "ticket.updated") == []


async def test_a_failure_after_read_keeps_read_and_notes_when_it_failed(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.read-then-failed")
    await statuses(meta, p.status("wamid.read-then-failed", "read", at=AT))
    failed = p.status(
        "wamid.read-then-failed", "failed", at=AT + timedelta(seconds=1), errors=[p.error(131026)]
    )
    await statuses(meta, failed)
    got = await message(backend, mid)
    assert (got["status"], got["error_code"], got["error_message"]) == ("read", None, None)
    assert got["failed_at"].startswith("2026-11-26T09:55:01")


async def test_a_read_or_played_after_a_failure_is_accepted_and_clears_the_error(backend, meta):
    """Multi-device: a failure then a read (or a voice note played) on another device."""
    for wamid, later in (
        ("wamid.failed-then-read", "read"),
        ("wamid.failed-then-played", "played"),
    ):
        mid = await outbound(backend, meta, wamid=wamid)
        await statuses(meta, p.status(wamid, "failed", at=AT, errors=[p.error(131026)]))
        await statuses(meta, p.status(wamid, later, at=AT + timedelta(seconds=1)))
        got = await message(backend, mid)
        assert (got["status"], got["error_code"], got["error_message"]) == ("read", None, None)


async def test_the_month_view_counts_a_price_that_does_not_say_billable_as_unknown(
    backend, meta, admin
):
    said = {"free": False, "silent": None}
    for wamid, billable in said.items():
        await outbound(backend, meta, wamid=wamid)
        sent = p.status(wamid, "sent", at=AT)
        sent["pricing"] = {"pricing_model": "PMP", "type": "regular", "category": "utility"}
        if billable is not None:
            sent["pricing"]["billable"] = billable
        await statuses(meta, sent)
    response = await admin.get("/api/v1/usage/month", params={"month": "2026-11"})
    assert response.status_code == 200, response.text
    (line,) = [line for line in response.json()["lines"] if line["category"] == "utility"]
    counts = (line["messages"], line["billable"], line["free"], line["unknown"])
    assert counts == (2, 0, 1, 1)


@pytest.mark.parametrize("first", ["sending", "queued", "deleted"])
async def test_any_status_ends_checking_and_a_stateless_send_takes_any(backend, meta, first):
    """``checking`` (an ambiguous send) ends with any status that names it: one below
    ``sent`` (or one this code does not know) reads ``sending``, a further one settles it;
    a message with no state yet takes even ``queued``."""
    checked = await outbound(backend, meta, wamid="wamid.checked", status="checking")
    await statuses(meta, p.status("wamid.checked", first, at=AT))
    assert (await message(backend, checked))["status"] == "sending"
    await statuses(meta, p.status("wamid.checked", "sent", at=AT))
    assert (await message(backend, checked))["status"] == "sent"
    # below its state now, with no time to fill: nothing changes, no one is told
    seq = await last_seq(backend)
    await statuses(meta, p.status("wamid.checked", "queued", at=AT))
    assert (await message(backend, checked))["status"] == "sent"
    assert await snapshots_after(backend, seq, "message.updated") == []
    stateless = await outbound(backend, meta, wamid="wamid.stateless", status=None)
    await statuses(meta, p.status("wamid.stateless", "queued", at=AT))
    assert (await message(backend, stateless))["status"] == "queued"


async def test_a_status_above_sending_or_a_failure_settles_checking_as_it_says(backend, meta):
    """Only a status below ``sent`` reads ``sending`` on a send being checked: a delivery
    says delivered (with the times it implies) and a failure says failed, with its error."""
    delivered = await outbound(backend, meta, wamid="wamid.checked-delivered", status="checking")
    await statuses(meta, p.status("wamid.checked-delivered", "delivered", at=AT))
    got = await message(backend, delivered)
    assert got["status"] == "delivered"
    assert got["sent_at"].startswith("2026-11-26T09:55:00")
    failed = await outbound(backend, meta, wamid="wamid.checked-failed", status="checking")
    await statuses(
        meta, p.status("wamid.checked-failed", "failed", at=AT, errors=[p.error(131026)])
    )
    got = await message(backend, failed)
    assert (got["status"], got["error_code"]) == ("failed", 131026)
    assert got["failed_at"].startswith("2026-11-26T09:55:00")


async def test_a_status_kept_aside_keeps_its_own_time_when_replayed(backend, meta):
    mid = await outbound(backend, meta, wamid=None, status="sending")
    await statuses(meta, p.status("wamid.timed", "delivered", at=AT + timedelta(seconds=1)))
    await statuses(meta, p.status("wamid.timed", "sent", at=AT, opaque=f"ttydesk:{mid}"))
    got = await message(backend, mid)
    assert got["status"] == "delivered"
    assert got["sent_at"].startswith("2026-11-26T09:55:00")
    assert got["delivered_at"].startswith("2026-11-26T09:55:01")


async def early_keys(backend) -> list[str]:
    found = await rows(
        backend, "SELECT key FROM settings_kv WHERE key LIKE 'status.early%' ORDER BY key"
    )
    return [row["key"] for row in found]


async def test_statuses_kept_aside_for_another_wamid_stay_aside(backend, meta):
    mid = await outbound(backend, meta, wamid=None, status="sending", outbox_state="in_flight")
    await statuses(meta, p.status("wamid.someone-else", "delivered", at=AT))

    def answer(tx):  # the send's answer brings a different wamid
        tx.execute("UPDATE messages SET wamid = 'wamid.mine', status = 'sent' WHERE id = ?", (mid,))
        return apply_early_statuses(tx, mid, "wamid.someone-else")

    assert await backend.store.write(answer) == []
    assert (await message(backend, mid))["status"] == "sent"
    assert await early_keys(backend) == ["status.early:wamid.someone-else"]
    gone = functools.partial(apply_early_statuses, message_id=mid + 100, wamid="wamid.mine")
    assert await backend.store.write(gone) == []


async def test_statuses_kept_aside_are_forgotten_after_two_days_and_only_they(backend, meta):
    await statuses(meta, p.status("wamid.another-app", "delivered", at=AT))
    await statuses(meta, p.status("wamid.another-app", "read", at=AT))  # same record
    (kept,) = await rows(
        backend, "SELECT value FROM settings_kv WHERE key = 'status.early:wamid.another-app'"
    )
    received = parse_dt(json.loads(kept["value"])["received_at"])

    def seed(tx):  # a record that cannot be read, one without a date, and a key that is not
        # one of them though it sorts right after them
        for key, value in (
            ("status.early:garbled", "{not json"),
            ("status.early:undated", "{}"),
            ("status.early;neighbour", "{}"),
        ):
            tx.execute("INSERT INTO settings_kv (key, value) VALUES (?, ?)", (key, value))

    await backend.store.write(seed)

    async def prune(now) -> int:
        return await backend.store.write(functools.partial(prune_early_statuses, now=now))

    assert await prune(received + EARLY_KEEP) == 2  # exactly two days: still kept
    assert await early_keys(backend) == [
        "status.early:wamid.another-app",
        "status.early;neighbour",
    ]
    assert await prune(received + EARLY_KEEP + timedelta(seconds=1)) == 1
    assert await early_keys(backend) == ["status.early;neighbour"]
    assert await prune(received + EARLY_KEEP * 10) == 0


async def test_only_the_latest_messages_own_status_moves_the_ticket_and_it_tells(backend, meta):
    older = await outbound(backend, meta, wamid="wamid.older")
    (row,) = await rows(
        backend,
        "SELECT m.thread_id, th.ticket_id FROM messages m JOIN threads th ON th.id = m.thread_id "
        "WHERE m.id = ?",
        (older,),
    )
    seq = await last_seq(backend)
    await statuses(meta, p.status("wamid.older", "delivered", at=AT))
    (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
    assert ticket["last_delivery_status"] == "delivered"
    # the ticket and its thread are told (snapshot events, built when read)
    assert await snapshots_after(backend, seq, "ticket.updated") == [row["ticket_id"]]
    assert await snapshots_after(backend, seq, "thread.updated") == [row["thread_id"]]

    def send_newer(tx):  # a newer message whose own state the ticket has not heard of yet
        return conv.insert_message(
            tx, thread_id=row["thread_id"], direction="out", kind="text", text="more",
            author_id=backend.agent.id, wamid="wamid.newer", status="sent",
        )  # fmt: skip

    await backend.store.write(send_newer)
    await statuses(meta, p.status("wamid.older", "read", at=AT))
    (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
    assert ticket["last_delivery_status"] == "delivered"


# ------------------------------------------------------------------ templates


async def seed_template(backend, external_id: str | None, name: str, language: str) -> int:
    def seed(tx):
        return tx.insert(
            "templates",
            {
                "waba_id": p.WABA_ID,
                "external_id": external_id,
                "name": name,
                "language": language,
                "status": "APPROVED",
                "category": "UTILITY",
                "components": json.dumps([{"type": "BODY", "text": "Hi {{1}}"}]),
                "updated_at": tx.now_iso,
            },
        )

    return await backend.store.write(seed)


async def template_statuses(backend) -> dict[str, str]:
    found = await rows(backend, "SELECT name, language, status FROM templates")
    return {f"{row['name']}/{row['language']}": row["status"] for row in found}


async def test_a_template_status_is_matched_by_metas_id_before_name_and_language(backend, agent):
    await seed_template(backend, "tmpl-en", "order_update", "en_US")
    await seed_template(backend, "tmpl-es", "order_update", "es")

    async def update(**fields: Any) -> bool:
        return await backend.store.write(functools.partial(apply_template_status, **fields))

    seq = await last_seq(backend)
    # the id wins when name and language (out of date here) point at another template
    paused = await update(
        template_id="tmpl-en", name="order_update", language="es", status="PAUSED",
        reason="Low quality",
    )  # fmt: skip
    assert paused is True
    assert await template_statuses(backend) == {
        "order_update/en_US": "PAUSED",
        "order_update/es": "APPROVED",
    }
    (event,) = await events_after(backend, seq, "template.updated")
    assert (event["external_id"], event["status"], event.pop("reason")) == (
        "tmpl-en",
        "PAUSED",
        "Low quality",
    )
    # the event carries the template as the API shows it
    listed = (await agent.get("/api/v1/templates")).json()["items"]
    assert event == next(item for item in listed if item["external_id"] == "tmpl-en")
    # without an id, by name and language; no reason given, none told
    seq = await last_seq(backend)
    assert await update(template_id=None, name="order_update", language="es", status="REJECTED")
    (event,) = await events_after(backend, seq, "template.updated")
    assert (event["external_id"], event["status"]) == ("tmpl-es", "REJECTED")
    assert "reason" not in event
    # the same status again, or a template we do not have, changes nothing
    seq = await last_seq(backend)
    assert await update(template_id="tmpl-es", name=None, language=None, status="REJECTED") is False
    unknown = await update(template_id="nope", name="nope", language="es", status="PAUSED")
    assert unknown is False
    assert await events_after(backend, seq, "template.updated") == []
    assert await counter(backend, "webhook.template_unknown") == 1


async def test_a_status_that_changes_only_the_price_is_told_and_one_without_a_price_is_not(
    backend, meta
):
    """The price is part of the wire Message: a late status that reprices a delivered
    message (its state and times already there) tells the clients of the message, not of
    its ticket, whose delivery status stays; one below its state without a pricing block
    leaves the price, and so the message, as it was: no one is told."""
    mid = await outbound(backend, meta, wamid="wamid.repriced")
    service = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "service"}
    delivered = p.status("wamid.repriced", "delivered", at=AT + timedelta(seconds=1))
    delivered["pricing"] = service
    await statuses(meta, delivered)
    seq = await last_seq(backend)
    late = p.status("wamid.repriced", "sent", at=AT)
    late["pricing"] = service | {"category": "marketing"}
    await statuses(meta, late)
    assert await snapshots_after(backend, seq, "message.updated") == [mid]
    # the ticket's delivery status is still the message's: the ticket is not told again
    assert await snapshots_after(backend, seq, "ticket.updated") == []
    assert await snapshots_after(backend, seq, "thread.updated") == []
    (row,) = await rows(
        backend, "SELECT status, pricing_category FROM messages WHERE id = ?", (mid,)
    )
    assert (row["status"], row["pricing_category"]) == ("delivered", "marketing")
    seq = await last_seq(backend)
    bare = p.status("wamid.repriced", "queued", at=AT)  # below its state, no time to fill
    bare.pop("pricing", None)
    await statuses(meta, bare)
    assert await snapshots_after(backend, seq, "message.updated") == []
    (row,) = await rows(backend, "SELECT pricing_category FROM messages WHERE id = ?", (mid,))
    assert row["pricing_category"] == "marketing"
