"""Status webhooks: furthest state wins, duplicates and disorder, failures in plain words,
statuses ahead of the send's answer, and template status updates."""

from __future__ import annotations

import json
from datetime import timedelta

from backend.store import conversations as conv
from backend.store.statuses import apply_early_statuses
from backend.whatsapp.errors import PLAIN_ERRORS, plain_error
from tests.whatsapp import payloads as p
from tests.whatsapp.conftest import NOW, counter, rows, signed_post

AT = NOW - timedelta(minutes=5)


async def outbound(
    backend, meta, *, wamid: str | None, status: str = "sent", outbox_state: str | None = None
) -> int:
    """A customer thread with one message sent by an agent."""
    await signed_post(meta, p.messages_envelope(p.text("help", at=AT - timedelta(minutes=1))))

    def send(tx):
        thread = tx.one("SELECT id FROM threads ORDER BY id DESC LIMIT 1")["id"]
        message_id = conv.insert_message(
            tx,
            thread_id=thread,
            direction="out",
            kind="text",
            text="on it",
            author_id=backend.agent.id,
            wamid=wamid,
            status=status,
        )
        if outbox_state is not None:
            tx.insert(
                "outbox",
                {
                    "message_id": message_id,
                    "state": outbox_state,
                    "next_attempt": "",
                    "payload": "{}",
                    "phone_number_id": p.PHONE_NUMBER_ID,
                    "updated_at": tx.now_iso,
                },
            )
        return message_id

    return await backend.store.write(send)


async def statuses(meta, *items, **kw):
    response = await signed_post(meta, p.statuses_envelope(*items, **kw))
    assert response.status_code == 200, response.text


async def message(backend, message_id):
    (row,) = await rows(
        backend,
        "SELECT status, wamid, sent_at, delivered_at, read_at, "
        "failed_at, error_code, error_message FROM messages WHERE id = ?",
        (message_id,),
    )
    return row


async def test_statuses_advance_sent_delivered_read(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.out1")
    await statuses(meta, p.status("wamid.out1", "sent", at=AT))
    await statuses(meta, p.status("wamid.out1", "delivered", at=AT + timedelta(seconds=1)))
    got = await message(backend, mid)
    assert got["status"] == "delivered"
    assert got["delivered_at"].startswith("2026-11-26T09:55:01")
    await statuses(meta, p.status("wamid.out1", "read", at=AT + timedelta(seconds=2)))
    assert (await message(backend, mid))["status"] == "read"
    (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
    assert ticket["last_delivery_status"] == "read"
    types = [r["type"] for r in await rows(backend, "SELECT type FROM events ORDER BY seq")]
    assert types.count("message.updated") >= 3


async def test_a_status_never_applies_to_an_inbound_message_with_that_id(backend, meta):
    """Statuses are about our sends: one naming a customer's message (a misrouted or forged
    webhook) changes nothing of it, prices nothing and tells no one."""
    await signed_post(meta, p.messages_envelope(p.text("help", at=AT, id_="wamid.theirs")))
    (before,) = await rows(
        backend, "SELECT id, status, pricing_category FROM messages WHERE wamid = 'wamid.theirs'"
    )
    seq = (await rows(backend, "SELECT MAX(seq) AS seq FROM events"))[0]["seq"]
    await statuses(meta, p.status("wamid.theirs", "delivered", at=AT + timedelta(seconds=1)))
    await statuses(meta, p.status("wamid.theirs", "failed", at=AT + timedelta(seconds=2)))
    got = await message(backend, before["id"])
    assert got["status"] == before["status"] and got["error_code"] is None
    assert got["delivered_at"] is None and got["failed_at"] is None
    (after,) = await rows(
        backend, "SELECT pricing_category FROM messages WHERE id = ?", (before["id"],)
    )
    assert after["pricing_category"] is None
    told = await rows(backend, "SELECT type FROM events WHERE seq > ?", (seq,))
    assert [event["type"] for event in told if event["type"] != "view.counts"] == []
    assert await counter(backend, "webhook.status_unmatched") == 2


async def test_out_of_order_and_duplicate_statuses_keep_the_furthest_state(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.out2")
    read = p.status("wamid.out2", "read", at=AT + timedelta(seconds=3))
    delivered = p.status("wamid.out2", "delivered", at=AT + timedelta(seconds=2))
    sent = p.status("wamid.out2", "sent", at=AT + timedelta(seconds=1))
    await statuses(meta, read)
    await statuses(meta, delivered, sent)
    await statuses(meta, read, delivered)
    got = await message(backend, mid)
    assert got["status"] == "read"
    # read implies delivered: the skipped times are filled, never moved back
    assert got["read_at"] and got["delivered_at"] and got["sent_at"]
    assert await counter(backend, "webhook.duplicate") == 2
    receipts = await rows(
        backend, "SELECT status FROM status_receipts WHERE wamid = 'wamid.out2' ORDER BY status"
    )
    assert [r["status"] for r in receipts] == ["delivered", "read", "sent"]


async def test_played_counts_as_read(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.voice")
    await statuses(meta, p.status("wamid.voice", "played", at=AT))
    assert (await message(backend, mid))["status"] == "read"


async def test_failed_gives_the_reason_in_plain_words(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.out3")
    await statuses(
        meta,
        p.status(
            "wamid.out3",
            "failed",
            at=AT,
            errors=[
                p.error(
                    131047,
                    "Re-engagement message",
                    "Message failed to send because more than "
                    "24 hours have passed since the customer last replied to this number.",
                )
            ],
        ),
    )
    got = await message(backend, mid)
    assert got["status"] == "failed"
    assert got["error_code"] == 131047
    assert got["error_message"] == PLAIN_ERRORS[131047]
    assert "template" in got["error_message"]
    assert got["failed_at"] is not None
    (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
    assert ticket["last_delivery_status"] == "failed"


async def test_failed_does_not_undo_delivered_and_delivered_after_failed_is_accepted(backend, meta):
    first = await outbound(backend, meta, wamid="wamid.out4")
    await statuses(meta, p.status("wamid.out4", "delivered", at=AT))
    await statuses(meta, p.status("wamid.out4", "failed", at=AT, errors=[p.error(131026)]))
    assert (await message(backend, first))["status"] == "delivered"
    second = await outbound(backend, meta, wamid="wamid.out5")
    await statuses(meta, p.status("wamid.out5", "failed", at=AT, errors=[p.error(131026)]))
    await statuses(meta, p.status("wamid.out5", "sent", at=AT - timedelta(seconds=1)))
    assert (await message(backend, second))["status"] == "failed"
    await statuses(meta, p.status("wamid.out5", "delivered", at=AT + timedelta(seconds=1)))
    got = await message(backend, second)
    assert got["status"] == "delivered"
    assert got["error_code"] is None


async def test_a_status_before_the_send_answer_attaches_the_wamid_by_opaque_data(backend, meta):
    """The send's HTTP answer was lost (ambiguous): the status resolves it, no second send."""
    mid = await outbound(backend, meta, wamid=None, status="sending", outbox_state="ambiguous")
    await statuses(meta, p.status("wamid.lost", "sent", at=AT, opaque=f"ttydesk:{mid}"))
    got = await message(backend, mid)
    assert got["wamid"] == "wamid.lost"
    assert got["status"] == "sent"
    (box,) = await rows(backend, "SELECT state FROM outbox WHERE message_id = ?", (mid,))
    assert box["state"] == "done"
    await statuses(meta, p.status("wamid.lost", "delivered", at=AT + timedelta(seconds=1)))
    assert (await message(backend, mid))["status"] == "delivered"


async def test_a_status_with_no_match_waits_for_the_send_answer(backend, meta):
    mid = await outbound(backend, meta, wamid=None, status="sending", outbox_state="in_flight")
    # failed statuses may carry no opaque data: kept aside until the wamid is known
    await statuses(meta, p.status("wamid.early", "failed", at=AT, errors=[p.error(131049)]))
    assert (await message(backend, mid))["status"] == "sending"
    assert await counter(backend, "webhook.status_unmatched") == 1
    await statuses(meta, p.status("wamid.early", "failed", at=AT, errors=[p.error(131049)]))
    assert await counter(backend, "webhook.duplicate") == 1

    def answer(tx):  # what the outbox does with the send's answer
        tx.execute(
            "UPDATE messages SET wamid = 'wamid.early', status = 'sent' WHERE id = ?", (mid,)
        )
        return apply_early_statuses(tx, mid, "wamid.early")

    results = await backend.store.write(answer)
    assert [r.outcome for r in results] == ["applied"]
    got = await message(backend, mid)
    assert (got["status"], got["error_code"]) == ("failed", 131049)
    assert got["error_message"] == PLAIN_ERRORS[131049]


async def test_an_early_status_is_replayed_when_another_status_attaches_the_wamid(backend, meta):
    mid = await outbound(backend, meta, wamid=None, status="sending")
    await statuses(meta, p.status("wamid.x1", "delivered", at=AT + timedelta(seconds=1)))
    await statuses(meta, p.status("wamid.x1", "sent", at=AT, opaque=f"ttydesk:{mid}"))
    got = await message(backend, mid)
    assert (got["wamid"], got["status"]) == ("wamid.x1", "delivered")


async def test_a_status_of_an_earlier_attempt_does_not_touch_the_resent_message(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.second-try", status="sent")
    await statuses(
        meta,
        p.status(
            "wamid.first-try", "failed", at=AT, opaque=f"ttydesk:{mid}", errors=[p.error(131026)]
        ),
    )
    got = await message(backend, mid)
    assert (got["wamid"], got["status"]) == ("wamid.second-try", "sent")


async def test_a_late_status_of_the_failed_attempt_leaves_the_queued_retry_alone(backend, meta):
    """Retried after a failure, the message waits in the outbox with no wamid yet; a late
    status of the failed attempt (delivered after failed: multi-device) still names our
    message in its callback data. Taken for the retry's, it gave the retry the old wamid,
    showed it delivered and settled its outbox row: the retry was never sent."""
    mid = await outbound(backend, meta, wamid="wamid.first-try", status="failed")

    def retried(tx):  # what retry_in_tx leaves: queued again, the old wamid remembered
        tx.execute(
            "UPDATE messages SET status = 'queued', wamid = NULL, content = ? WHERE id = ?",
            (json.dumps({"previous_wamids": ["wamid.first-try"]}), mid),
        )
        tx.insert(
            "outbox",
            {
                "message_id": mid,
                "state": "pending",
                "next_attempt": "",
                "payload": "{}",
                "phone_number_id": p.PHONE_NUMBER_ID,
                "updated_at": tx.now_iso,
            },
        )

    await backend.store.write(retried)
    await statuses(meta, p.status("wamid.first-try", "delivered", at=AT, opaque=f"ttydesk:{mid}"))
    got = await message(backend, mid)
    assert (got["wamid"], got["status"], got["delivered_at"]) == (None, "queued", None)
    (box,) = await rows(backend, "SELECT state FROM outbox WHERE message_id = ?", (mid,))
    assert box["state"] == "pending"  # still to be sent


async def test_unknown_status_values_and_value_errors_are_acknowledged(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.out6")
    await statuses(meta, p.status("wamid.out6", "warning_new_2027", at=AT))
    assert (await message(backend, mid))["status"] == "sent"
    body = p.envelope(("messages", p.value(errors=[p.error(190, "Access token has expired")])))
    response = await signed_post(meta, body)
    assert response.status_code == 200
    assert await counter(backend, "webhook.value_errors") == 1


async def test_every_documented_code_has_a_plain_sentence():
    codes = [
        131047,
        131026,
        131051,
        131052,
        131053,
        131056,
        130429,
        4,
        80007,
        131048,
        131049,
        131050,
        131042,
        132000,
        132001,
        132005,
        132007,
        132008,
        132012,
        132015,
        132016,
        131008,
        131009,
        100,
        131062,
        137000,
        190,
        368,
        131031,
        133010,
        131057,
        131060,
        1,
        2,
        131000,
        131016,
    ]
    for code in codes:
        assert code in PLAIN_ERRORS, code
        assert plain_error(code, "ignored details") == PLAIN_ERRORS[code]
    assert (
        plain_error(999999, "Something new\nhappened")
        == "WhatsApp error 999999: Something new happened"
    )
    assert plain_error(None, None) == "WhatsApp reported an error."


# ------------------------------------------------------------------ templates


async def test_a_template_status_update_changes_the_local_template(backend, meta):
    def seed(tx):
        return tx.insert(
            "templates",
            {
                "waba_id": p.WABA_ID,
                "external_id": "tmpl-1",
                "name": "order_update",
                "language": "en_US",
                "status": "APPROVED",
                "category": "UTILITY",
                "components": json.dumps([{"type": "BODY", "text": "Hi {{1}}, order {{2}}"}]),
                "updated_at": tx.now_iso,
            },
        )

    await backend.store.write(seed)
    body = p.envelope(
        (
            "message_template_status_update",
            {
                "event": "PAUSED",
                "message_template_id": "tmpl-1",
                "message_template_name": "order_update",
                "message_template_language": "en_US",
                "reason": "Low quality",
                "message_template_category": "UTILITY",
            },
        )
    )
    response = await signed_post(meta, body)
    assert response.status_code == 200
    (row,) = await rows(backend, "SELECT status FROM templates")
    assert row["status"] == "PAUSED"
    (event,) = await rows(backend, "SELECT payload FROM events WHERE type = 'template.updated'")
    data = json.loads(event["payload"])["data"]
    assert (data["status"], data["sendable"], data["variables"]) == ("PAUSED", False, ["1", "2"])
    # by name and language when Meta's id is unknown here; unknown templates are counted
    body = p.envelope(
        (
            "message_template_status_update",
            {
                "event": "approved",
                "message_template_id": "other",
                "message_template_name": "order_update",
                "message_template_language": "en_US",
            },
        )
    )
    await signed_post(meta, body)
    assert (await rows(backend, "SELECT status FROM templates"))[0]["status"] == "APPROVED"
    body = p.envelope(
        (
            "message_template_status_update",
            {
                "event": "REJECTED",
                "message_template_id": "nope",
                "message_template_name": "nope",
                "message_template_language": "es",
            },
        )
    )
    assert (await signed_post(meta, body)).status_code == 200
    assert await counter(backend, "webhook.template_unknown") == 1


async def test_a_read_without_delivered_or_sent_fills_their_times_with_its_own(backend, meta):
    mid = await outbound(backend, meta, wamid="wamid.back", status="queued")
    await statuses(meta, p.status("wamid.back", "read", at=AT))
    got = await message(backend, mid)
    assert got["status"] == "read"
    assert got["read_at"].startswith("2026-11-26T09:55:00")
    assert got["delivered_at"] == got["read_at"] and got["sent_at"] == got["read_at"]
    # a delivered that comes later does not move the filled time
    await statuses(meta, p.status("wamid.back", "delivered", at=AT - timedelta(seconds=5)))
    assert (await message(backend, mid))["delivered_at"] == got["read_at"]


async def test_the_latest_outbound_message_sets_the_tickets_delivery_status(backend, meta):
    older = await outbound(backend, meta, wamid="wamid.older")
    thread = (await rows(backend, "SELECT thread_id FROM messages WHERE id = ?", (older,)))[0]

    def send_newer_then_note(tx):
        newer = conv.insert_message(
            tx, thread_id=thread["thread_id"], direction="out", kind="text", text="more",
            author_id=backend.agent.id, wamid="wamid.newer", status="sent",
        )  # fmt: skip
        conv.insert_message(
            tx, thread_id=thread["thread_id"], direction="out", kind="note", text="internal",
            author_id=backend.agent.id,
        )  # fmt: skip
        return newer

    newer = await backend.store.write(send_newer_then_note)

    async def ticket_status():
        (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
        return ticket["last_delivery_status"]

    await statuses(meta, p.status("wamid.newer", "delivered", at=AT))
    assert await ticket_status() == "delivered"  # the note after it does not count
    await statuses(meta, p.status("wamid.older", "read", at=AT))
    assert (await message(backend, older))["status"] == "read"
    assert await ticket_status() == "delivered"  # an older message's status does not
    await statuses(meta, p.status("wamid.older", "failed", at=AT, errors=[p.error(131026)]))
    assert await ticket_status() == "delivered"
    await statuses(meta, p.status("wamid.newer", "read", at=AT))
    assert await ticket_status() == "read"
    assert (await message(backend, newer))["status"] == "read"


async def test_an_older_message_failing_in_the_outbox_leaves_the_latest_ones_status(backend, meta):
    """A send that stayed ambiguous is failed after its wait, possibly after a later message
    of the thread was delivered: the ticket keeps the latest message's status."""
    older = await outbound(backend, meta, wamid=None, status="sending", outbox_state="ambiguous")
    thread = (await rows(backend, "SELECT thread_id FROM messages WHERE id = ?", (older,)))[0]

    def send_newer(tx):
        return conv.insert_message(
            tx, thread_id=thread["thread_id"], direction="out", kind="text", text="more",
            author_id=backend.agent.id, wamid="wamid.newest", status="sent",
        )  # fmt: skip

    await backend.store.write(send_newer)
    await statuses(meta, p.status("wamid.newest", "delivered", at=AT))
    (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
    assert ticket["last_delivery_status"] == "delivered"
    await backend.store.outbox_failed(older, None, "no status came")
    assert (await message(backend, older))["status"] == "failed"
    (ticket,) = await rows(backend, "SELECT last_delivery_status FROM tickets")
    assert ticket["last_delivery_status"] == "delivered"
