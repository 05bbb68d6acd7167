"""The pure parser: webhook values → typed inbound messages, leniently."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backend.whatsapp import parse
from tests.whatsapp import payloads as p

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def one(message: dict) -> parse.Inbound:
    change = parse.parse_messages_value(p.WABA_ID, p.value(messages=[message]))
    (parsed,) = change.messages
    return parsed


def test_every_type_parses_to_its_class_and_kind():
    classes = {
        "text": parse.TextMessage,
        "image": parse.MediaMessage,
        "voice": parse.MediaMessage,
        "location": parse.LocationMessage,
        "contacts": parse.ContactsMessage,
        "button": parse.ButtonMessage,
        "list_reply": parse.InteractiveMessage,
        "order": parse.OrderMessage,
        "future_type": parse.UnsupportedMessage,
        "zip_document": parse.UnsupportedMessage,
        "edit": parse.TextMessage,
        "unreadable_edit": parse.UnsupportedMessage,
    }
    every = p.every_type(AT)
    for name, cls in classes.items():
        parsed = one(every[name])
        assert type(parsed) is cls, name
        assert parsed.kind == p.EXPECTED_KINDS[name], name
        assert parsed.timestamp == AT


def test_common_fields_and_optional_from():
    msg = p.text(
        "hi",
        at=AT,
        from_=None,
        user_id="US.1",
        from_parent_user_id="US.ENT.9",
        group_id="g-1",
        context={"forwarded": True},
    )
    parsed = one(msg)
    assert parsed.from_wa_id is None
    assert parsed.from_user_id == "US.1"
    assert parsed.from_parent_user_id == "US.ENT.9"
    assert parsed.group_id == "g-1"
    assert parsed.context == parse.Context(forwarded=True)
    assert parsed.raw is msg


def test_reaction_removal_forms():
    for payload in ({"message_id": "wamid.a"}, {"message_id": "wamid.a", "emoji": ""}):
        parsed = one(p.message("reaction", payload, at=AT))
        assert isinstance(parsed, parse.ReactionMessage)
        assert parsed.removed and parsed.emoji is None
    parsed = one(p.message("reaction", {"message_id": "wamid.a", "emoji": "🔥"}, at=AT))
    assert (parsed.target_wamid, parsed.emoji, parsed.removed) == ("wamid.a", "🔥", False)


def test_system_messages_new_and_legacy():
    new = one(
        p.message(
            "system",
            {
                "body": "b",
                "type": "user_changed_user_id",
                "user_id": "ES.2",
                "parent_user_id": "ES.ENT.2",
            },
            at=AT,
        )
    )
    assert isinstance(new, parse.SystemMessage)
    assert (new.event, new.new_user_id, new.new_parent_user_id) == (
        "user_changed_user_id",
        "ES.2",
        "ES.ENT.2",
    )
    legacy = one(
        p.message(
            "system",
            {
                "body": "b",
                "type": "customer_changed_number",
                "new_wa_id": "34600000000",
                "customer": "34611",
            },
            at=AT,
        )
    )
    assert (legacy.event, legacy.new_wa_id, legacy.original_type) == (
        "user_changed_number",
        "34600000000",
        "customer_changed_number",
    )
    identity = one(
        p.message(
            "system",
            {"type": "customer_identity_changed", "customer": "34611", "wa_id": "34611"},
            at=AT,
        )
    )
    assert (identity.event, identity.new_wa_id, identity.new_user_id) == (
        "identity_key_changed",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("type_", "mime", "accepted"),
    [
        ("image", "image/jpeg", True),
        ("image", "image/gif", False),
        ("image", "IMAGE/PNG", True),
        ("video", "video/3gpp", True),
        ("video", "video/quicktime", False),
        ("audio", "audio/ogg; codecs=opus", True),
        ("audio", "audio/ogg; codecs=vorbis", False),
        ("audio", "audio/amr", True),
        ("document", "application/pdf", True),
        ("document", "audio/mpeg", True),  # an mp3 sent as a document
        ("document", "application/zip", False),
        ("document", "application/x-msdownload", False),
        ("sticker", "image/webp", True),
        ("sticker", "image/png", False),
        ("image", None, True),
    ],
)
def test_mime_policy(type_, mime, accepted):
    assert parse.mime_accepted(type_, mime) is accepted


def test_an_unaccepted_attachment_keeps_its_media_reference():
    parsed = one(p.media("video", at=AT, mime="video/quicktime", media_id="m1"))
    assert isinstance(parsed, parse.UnsupportedMessage)
    assert parsed.reason == "unsupported attachment type video/quicktime"
    assert parsed.attachment is not None and parsed.attachment.id == "m1"


def test_broken_payloads_of_known_types_become_placeholders():
    for msg in (
        p.message("text", {"no_body": 1}, at=AT),
        p.message("image", "not an object", at=AT),
        p.message("location", {"latitude": "north"}, at=AT),
        p.message("interactive", {"type": "quantum_reply", "quantum_reply": {}}, at=AT),
    ):
        parsed = one(msg)
        assert isinstance(parsed, parse.UnsupportedMessage), msg
        assert parsed.kind == "unsupported"


def test_bad_timestamps_are_none_not_errors():
    for value in ("soon", "-5", None, "99999999999999", True):
        msg = p.text("x", at=AT)
        msg["timestamp"] = value
        assert one(msg).timestamp is None


def test_messages_without_an_id_are_counted_not_parsed():
    change = parse.parse_messages_value(
        None, {"messages": [{"type": "text"}, 5, {"id": ""}], "statuses": [{"status": "sent"}]}
    )
    assert change.messages == () and change.statuses == ()
    assert change.invalid == 4


def test_profile_matching_by_user_id_then_wa_id():
    change = parse.parse_messages_value(
        None,
        p.value(
            messages=[
                p.text("a", at=AT, from_="1", user_id="US.A"),
                p.text("b", at=AT, from_="2", user_id="US.unknown"),
            ],
            contacts=[
                p.contact(wa_id="2", user_id="US.B", name="Bea"),
                p.contact(wa_id="1", user_id="US.A", name="Al", username="@al"),
            ],
        ),
    )
    first, second = change.messages
    assert change.profile_for(first).name == "Al"
    assert change.profile_for(first).username == "@al"
    assert change.profile_for(second).name == "Bea"


def test_statuses_parse_leniently():
    change = parse.parse_messages_value(
        None,
        p.value(
            statuses=[
                p.status("wamid.1", "DELIVERED", at=AT, opaque="ttydesk:5"),
                p.status(
                    "wamid.2", "failed", at=AT, errors=[p.error(131047, "Re-engagement", "24h")]
                ),
            ]
        ),
    )
    delivered, failed = change.statuses
    assert (delivered.status, delivered.biz_opaque_callback_data) == ("delivered", "ttydesk:5")
    assert delivered.pricing["category"] == "service"
    assert failed.errors[0].code == 131047 and failed.errors[0].details == "24h"


def test_notification_changes_and_malformed_bodies():
    note = parse.parse_notification(
        p.envelope(
            ("messages", p.value(messages=[p.text("x", at=AT)])),
            (
                "message_template_status_update",
                {
                    "event": "approved",
                    "message_template_id": 7,
                    "message_template_name": "t",
                    "message_template_language": "en",
                },
            ),
            ("account_update", {}),
        )
    )
    messages, template, ignored = note.changes
    assert isinstance(messages, parse.MessagesChange)
    assert messages.phone_number_id == p.PHONE_NUMBER_ID
    assert template == parse.TemplateStatusChange(
        waba_id=p.WABA_ID, event="APPROVED", template_id="7", name="t", language="en"
    )
    assert ignored == parse.IgnoredChange(waba_id=p.WABA_ID, field="account_update")
    for bad in ([], "x", None, {"entry": {}}):
        with pytest.raises(parse.MalformedNotification):
            parse.parse_notification(bad)
