"""The SMTP listener, driven by a real SMTP client over 127.0.0.1."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest

from backend.email.smtp_listener import SupportMailbox, start_listener

MAIL = (
    b"From: Ana <ana@example.com>\r\nTo: support@acme.test\r\nSubject: hi\r\n"
    b"Message-ID: <m1@example.com>\r\n\r\nHello \xc3\xa9t\xc3\xa9\r\n"
)


class Stored:
    def __init__(self, fail: bool = False) -> None:
        self.items: list[tuple[bytes, str, list[str]]] = []
        self.fail = fail

    async def __call__(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        if self.fail:
            raise OSError("disk full")
        self.items.append((raw, sender, recipients))


async def listening(mailbox: SupportMailbox, **kw):
    server = await start_listener(mailbox, host="127.0.0.1", port=0, **kw)
    return server, server.sockets[0].getsockname()[1]


async def test_mail_for_a_support_address_is_stored_before_it_is_accepted():
    stored = Stored()
    server, port = await listening(SupportMailbox(stored, ["Support@Acme.test"]))
    try:
        await aiosmtplib.send(
            MAIL, sender="ana@example.com", recipients=["support@acme.test"],
            hostname="127.0.0.1", port=port,
        )  # fmt: skip
    finally:
        server.close()
        await server.wait_closed()
    ((raw, sender, recipients),) = stored.items
    assert raw.replace(b"\r\n", b"\n") == MAIL.replace(b"\r\n", b"\n")
    assert (sender, recipients) == ("ana@example.com", ["support@acme.test"])


async def test_other_recipients_too_large_and_unstorable_mail_are_refused():
    stored = Stored()
    server, port = await listening(
        SupportMailbox(stored, ["support@acme.test"]), max_message_bytes=1000
    )
    try:
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(
                MAIL, sender="ana@example.com", recipients=["ceo@acme.test"],
                hostname="127.0.0.1", port=port,
            )  # fmt: skip
        assert refused.value.recipients[0].code == 550
        with pytest.raises(aiosmtplib.SMTPResponseException) as too_large:
            await aiosmtplib.send(
                MAIL + b"x" * 5000, sender="ana@example.com", recipients=["support@acme.test"],
                hostname="127.0.0.1", port=port,
            )  # fmt: skip
        assert too_large.value.code == 552
    finally:
        server.close()
        await server.wait_closed()
    assert stored.items == []

    failing = Stored(fail=True)
    server, port = await listening(SupportMailbox(failing, ["support@acme.test"]))
    try:
        with pytest.raises(aiosmtplib.SMTPResponseException) as later:
            await aiosmtplib.send(
                MAIL, sender="ana@example.com", recipients=["support@acme.test"],
                hostname="127.0.0.1", port=port,
            )  # fmt: skip
        assert later.value.code == 451  # temporary: the forwarding server keeps it
    finally:
        server.close()
        await server.wait_closed()


async def test_with_a_certificate_starttls_is_offered_and_required(certificate):
    stored = Stored()
    server, port = await listening(
        SupportMailbox(stored, ["support@acme.test"]), tls_context=certificate
    )
    try:
        with pytest.raises(aiosmtplib.SMTPException):
            await aiosmtplib.send(
                MAIL, sender="ana@example.com", recipients=["support@acme.test"],
                hostname="127.0.0.1", port=port, start_tls=False,
            )  # fmt: skip
        assert stored.items == []
        await asyncio.wait_for(
            aiosmtplib.send(
                MAIL, sender="ana@example.com", recipients=["support@acme.test"],
                hostname="127.0.0.1", port=port, start_tls=True, validate_certs=False,
            ),
            10,
        )  # fmt: skip
    finally:
        server.close()
        await server.wait_closed()
    assert len(stored.items) == 1


def test_an_address_in_a_command_is_read_as_aiosmtpd_reads_it():
    from aiosmtpd.smtp import SMTP

    from backend.email.smtp_listener import ListenerSMTP

    arguments = [
        "<ana@example.com>",
        "<ana@example.com> SIZE=1000 BODY=8BITMIME",
        " <Ana.Garcia+orders@Example.COM>",
        "ana@example.com",
        "ana@example.com SMTPUTF8",
        "<>",
        "",
        "<ana@example.com",
        "not an address",
        "@",
        "<a@>",
        ":",
        "ana@",  # aiosmtpd raises on these two (the session answers 500): so do we
        '"',
        "<@relay.example:ana@example.com>",
        '<"ana garcia"@example.com>',
        "<josé@exámple.com>",
        f"<{'a' * 70}@example.com>",
    ]
    for limit in (0, 64):
        stock, ours = SMTP(None), ListenerSMTP(None)
        stock.local_part_limit = ours.local_part_limit = limit
        for arg in arguments:
            try:
                expected: object = stock._getaddr(arg)
            except Exception as exc:  # noqa: BLE001 - compared with ours below
                expected = type(exc)
            for _ in range(2):  # the second time from the cache
                try:
                    got: object = ours._getaddr(arg)
                except Exception as exc:  # noqa: BLE001
                    got = type(exc)
                assert got == expected, arg
