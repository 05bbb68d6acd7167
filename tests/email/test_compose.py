"""Replies as customers' mail clients receive them: threaded, escaped, one line per header."""

from __future__ import annotations

from datetime import UTC, datetime

from backend.domain.email_subjects import new_subject, reply_subject
from backend.email.compose import OutgoingAttachment, compose, references_for
from backend.email.parse import Address, parse_email

AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
SUPPORT = Address("support@acme.test", "Ana at Acme Support")
CUSTOMER = Address("Lucia+orders@example.com", "Lucía Pérez")


def test_a_reply_threads_by_headers_and_by_token_and_reads_back_as_sent():
    mail = compose(
        sender=SUPPORT,
        to=CUSTOMER,
        subject=reply_subject("RE: Aw: Re: [#42] Pedido retrasado", 42),
        text="Hola Lucía,\nyour parcel left today: https://track.example/x?a=1&b=2",
        signature="Ana\nAcme Support",
        domain="acme.test",
        at=AT,
        in_reply_to="<reply-1@example.com>",
        references=["<ticket-42-m1@acme.test>"],
        attachments=[OutgoingAttachment("label.pdf", "application/pdf", b"%PDF-1.4 label")],
    )
    assert mail["Subject"] == "Re: Pedido retrasado [#42]"
    assert mail["Message-ID"].endswith("@acme.test>")
    back = parse_email(mail.as_bytes())
    assert back.thread_keys == ("<reply-1@example.com>", "<ticket-42-m1@acme.test>")
    assert back.ticket_token == 42
    assert back.sender == SUPPORT and back.to == (
        Address("Lucia+orders@example.com", "Lucía Pérez"),
    )
    assert "your parcel left today" in back.text and "-- \nAna\nAcme Support" in back.text
    assert back.from_html is False  # the plain part is the one a client prefers
    (label,) = back.attachments
    assert (label.filename, label.data) == ("label.pdf", b"%PDF-1.4 label")
    html_part = mail.get_body(preferencelist=("html",)).get_content()
    assert '<a href="https://track.example/x?a=1&amp;b=2">' in html_part


def test_the_html_part_never_interprets_the_text_and_headers_stay_one_line():
    mail = compose(
        sender=SUPPORT,
        to=CUSTOMER,
        subject="Hello\r\nBcc: victim@example.com",
        text='<script>alert("x")</script> & <b>not bold</b>',
        domain="acme.test",
        at=AT,
    )
    html_part = mail.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "<b>" not in html_part
    assert mail["Bcc"] is None and mail["Subject"] == "Hello Bcc: victim@example.com"
    assert b"\r\nBcc:" not in mail.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_subjects_and_the_references_chain():
    assert reply_subject("", 7) == "Re: Your request [#7]"
    assert reply_subject("Re: [#7] Re: hi [#7]", 7) == "Re: hi [#7]"
    assert new_subject("Your invoice", 9) == "Your invoice [#9]"
    chain = references_for([f"<m{n}@x>" for n in range(30)], "<last@x>")
    assert len(chain) == 20 and chain[0] == "<m0@x>" and chain[-1] == "<last@x>"
    assert references_for(["<a@x>"], "<a@x>") == ["<a@x>"]
