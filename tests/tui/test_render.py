"""How each kind of message reads in the thread (SPEC §6), as plain text."""

from datetime import UTC, datetime

from backend.schemas import AdReferral, DeliveryStatus, Media, Message
from tui import render
from tui.terminal_output import to_ascii

AT = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def message(**fields) -> Message:
    base = {"id": 1, "thread_id": 1, "direction": "in", "kind": "text", "created_at": AT}
    return Message.model_validate({**base, **fields})


def body(**fields) -> str:
    return render.body(message(**fields)).plain


def test_media_line_with_kind_name_size_caption():
    text = body(
        kind="document",
        media={
            "id": 5,
            "filename": "invoice.pdf",
            "size": 2048,
            "state": "ready",
            "caption": "*March*",
        },
    )
    assert "📎 Document · invoice.pdf · 2.0 KB" in text and "March" in text and "*" not in text


def test_location_and_shared_contacts_and_order():
    assert "📍 Location · HQ\nMain St 1\n40.416800, -3.703800" in body(
        kind="location",
        location={"latitude": 40.4168, "longitude": -3.7038, "name": "HQ", "address": "Main St 1"},
    )
    shared = body(
        kind="contacts", contacts=[{"name": "Zoe Q", "phones": ["+34 600"], "emails": ["z@q.es"]}]
    )
    assert "add as contact" in shared and "• Zoe Q  +34 600  z@q.es" in shared
    assert "• SKU-1 × 2" in body(
        kind="order", order=[{"product_retailer_id": "SKU-1", "quantity": 2}]
    )


def test_reactions_quotes_buttons_and_events():
    text = body(
        text="ok",
        reply_to={"preview": "where is it?", "direction": "out"},
        reactions=[{"emoji": "👍", "by": "in", "at": AT}],
    )
    assert text.startswith("│ ↪ us: where is it?\nok\n👍 them")
    assert body(kind="button_reply", text="Yes please") == "↳ chose: Yes please"
    assert (
        body(kind="event", event="user_changed_number")
        == "— The contact changed their phone number —"
    )


def test_delivery_marks_and_failure():
    def mark(status):
        return render.header_line(
            message(direction="out", status=status, author_name="Bob"),
            contact_name="Ana",
            agent_name=lambda _: "",
            now=AT,
        ).plain

    assert (
        mark("sent").endswith("✓")
        and mark("delivered").endswith("✓✓")
        and mark("failed").endswith("✗")
    )
    read = render.header_line(
        message(direction="out", status="read", author_name="Bob"),
        contact_name="Ana",
        agent_name=lambda _: "",
        accent="bold #ff0000",
        now=AT,
    )
    assert "#ff0000" in str(read.spans[-1].style)
    failed = body(
        direction="out", status="failed", error_code=131047, error_message="send a template"
    )
    assert "✗ Not delivered: send a template (error 131047) — press y to retry" in failed


def test_an_ambiguous_send_says_it_is_being_checked_not_queued():
    header = render.header_line(
        message(direction="out", status="checking", author_name="Bob"),
        contact_name="Ana",
        agent_name=lambda _: "",
        now=AT,
    ).plain
    assert header.endswith("checking whether it was sent")
    queued = render.header_line(
        message(direction="out", status="queued", author_name="Bob"),
        contact_name="Ana",
        agent_name=lambda _: "",
        now=AT,
    ).plain
    assert "checking" not in queued


def test_each_delivery_state_has_its_own_label():
    """A send on the wire reads "sending", not queued's mark; the one table says every state."""
    headers = {
        status: render.header_line(
            message(direction="out", status=status, author_name="Bob"),
            contact_name="Ana",
            agent_name=lambda _: "",
            now=AT,
        ).plain
        for status in ("queued", "sending", "checking")
    }
    assert headers["sending"].endswith("sending")
    assert render.glyphs().queued not in headers["sending"]
    assert "sending" not in headers["queued"]
    labels = [render.DELIVERY_LOOKS[status].label for status in DeliveryStatus]
    assert len(set(labels)) == len(labels)
    assert render.DELIVERY_LOOKS[DeliveryStatus.sending].label == "sending"


def test_notes_and_placeholders():
    note = render.header_line(
        message(kind="note", direction="out", author_name="Bob"),
        contact_name="Ana",
        agent_name=lambda _: "",
        now=AT,
    )
    assert note.plain.startswith("✎ Note · Bob")
    assert "Unsupported message — poll_creation" in body(
        kind="unsupported", unsupported_reason="poll_creation"
    )
    hidden = body(kind="quarantined", quarantine_rule="iban", text="ES91 2100 0418 4502 0005 1332")
    assert "Quarantined message — rule: iban" in hidden and "ES91" not in hidden
    shown = render.body(
        message(kind="quarantined", quarantine_rule="iban", quarantine_revealed=True, text="ES91"),
        is_admin=True,
    )
    assert "ES91" in shown.plain


def test_long_message_is_clipped_until_expanded():
    long = message(text="word " * 2000)
    assert "more characters — press e to show more" in render.body(long).plain
    assert "show more" not in render.body(long, expanded=True).plain
    assert render.is_truncated(long)


def test_an_email_shows_its_subject_addresses_failed_checks_and_channel_mark():
    mail = message(
        text="Where is my parcel?",
        channel_type="EMAIL",
        email={
            "subject": "Parcel [b]late[/b] \x1b[31m",
            "sender": "lucia@example.com",
            "to": ["support@acme.test"],
            "cc": ["boss@example.com"],
            "auth": {"spf": "pass", "dkim": "fail", "dmarc": "pass"},
            "attachments": 2,
            "left_out": ["huge.zip"],
        },
    )
    text = render.body(mail).plain
    assert text.startswith("Subject: Parcel [b]late[/b] ")  # data, never markup
    assert "\x1b" not in text
    assert "From: lucia@example.com\nTo: support@acme.test\nCc: boss@example.com" in text
    assert "Sender not verified: DKIM failed" in text
    assert "📎 2 attachments" in text and "Left out (too large): huge.zip" in text
    assert text.endswith("Where is my parcel?")
    header = render.header_line(mail, contact_name="Lucía", agent_name=lambda _: "").plain
    assert header.endswith("· by e-mail")
    whatsapp = render.header_line(message(text="hola"), contact_name="Ana", agent_name=str)
    assert "e-mail" not in whatsapp.plain


def test_an_email_of_ours_with_three_files_lists_each_and_its_text_once():
    files = [
        {"id": 7, "filename": "photo.png", "mime_type": "image/png", "size": 72},
        {"id": 8, "filename": "invoice.pdf", "mime_type": "application/pdf", "size": 2048},
        {"id": 9, "filename": "notes\x1b[31m.txt", "mime_type": "text/plain", "size": 8},
    ]
    mail = message(
        direction="out",
        kind="document",
        media={**files[0], "caption": "The papers."},
        attachments=files,
        channel_type="EMAIL",
        email={"subject": "Papers", "sender": "support@acme.test", "to": ["lucia@example.com"],
               "attachments": 3},
    )  # fmt: skip
    text = render.body(mail).plain
    assert "📎 1. photo.png · image/png · 72 B  [x open · w save]\n" in text
    assert "📎 2. invoice.pdf · application/pdf · 2.0 KB\n" in text
    assert "📎 3. notes" in text and "\x1b" not in text  # a name is data
    assert "attachments" not in text and "Document" not in text  # listed once, not counted
    assert text.endswith("📎 3. notes␛[31m.txt · text/plain · 8 B\nThe papers.")
    assert text.count("The papers.") == 1


def test_under_ascii_the_marks_of_files_places_calls_and_ads_are_words_not_question_marks():
    """Under LC_ALL=C a 📎 or 📍 (two cells, no ASCII spelling) reached the terminal as
    "??": "?? Location" reads as a broken message. The ASCII set has no picture for them,
    the words say it."""
    from tui import glyphs

    glyphs.use(glyphs.ASCII)
    try:
        shown = [
            body(kind="location", location={"latitude": 1.0, "longitude": 2.0, "name": "HQ"}),
            body(
                kind="voice",
                media={"id": 5, "mime_type": "audio/ogg", "size": 98, "state": "ready"},
            ),
            body(kind="event", event="call"),
            render.ad_line(AdReferral(source_type="ad", source_id="12", headline="Sale")).plain,
            render.file_lines(
                [Media(id=1, filename="a.pdf", mime_type="application/pdf", size=9, state="ready")]
            ).plain,
            body(kind="contacts", contacts=[{"name": "Zoe Q", "phones": ["+34 600"]}]),
            body(kind="order", order=[{"product_retailer_id": "SKU-1", "quantity": 2}]),
            body(kind="quarantined", quarantine_rule="card_number"),
        ]
    finally:
        glyphs.use(glyphs.UNICODE)
    for text in shown:  # as the terminal gets it: every cell spelled, none questioned
        assert all(c.isascii() or "?" not in to_ascii(c) for c in text), text
    assert shown[0].startswith("Location · HQ")
    assert shown[1].startswith("Voice message")
    assert "Call" in shown[2]
    assert shown[3].startswith("From ad: Sale")
    assert shown[4].startswith("a.pdf")
