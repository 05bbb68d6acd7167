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


# DATA streams (each ends with the lone dot that ends a message): every edge of aiosmtpd's
# line reading, its size cap (3,000 bytes here) and its line limit (1,001 bytes with CRLF)
DATA_STREAMS = [
    MAIL + b".\r\n",
    b".\r\n",  # an empty message
    b"..leading dot\r\n.\r\n",
    b"a\r\n..\r\n.x\r\n...\r\n \r\n.\r\n",
    b"bare\nline feed\rand return\r\n\r\n\r\nend.\r\n.\r\n",
    b"a line.\r\n.\r\n",
    *(b"x" * length + b"\r\nnext\r\n.\r\n" for length in (998, 999, 1000, 1001, 1002, 5000)),
    b"y\r\n" * 999 + b"z" * 8 + b"\r\n.\r\n",  # 3,005 bytes: over the cap
    b"y\r\n" * 1000 + b".\r\n",  # 3,000 bytes: at it
    b"y" * 990 + b"\r\n" + b"w\r\n" * 700 + b"x" * 1001 + b"\r\n.\r\n",  # the cap, then a long line
    b"w\r\n" * 990 + b"x" * 1000 + b"\r\n.\r\n",  # at once over the cap and too long
    b"w\r\n" * 700 + b"x" * 1002 + b"\r\n.\r\n",  # the same, a line over the reader's limit
    b"w\r\n" * 100 + b"x" * 1002 + b"\r\n" + b"w\r\n" * 1000 + b".\r\n",  # too long, then the cap
    b"\xc3\xa9t\xc3\xa9 \xff\r\n.\r\n",
]


async def _conversation(port: int, data: bytes) -> tuple[bytes, bytes]:
    """Sends one message as ``data`` (its stream, dots and all); the replies to it and to
    the QUIT sent right behind it, in the same write (a pipelining client's)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readuntil(b"\r\n")
        for command in (b"HELO client.example", b"MAIL FROM:<ana@example.com>",
                        b"RCPT TO:<support@acme.test>", b"DATA"):  # fmt: skip
            writer.write(command + b"\r\n")
            assert (await reader.readuntil(b"\r\n"))[:1] in (b"2", b"3")
        writer.write(data + b"QUIT\r\n")
        return await reader.readuntil(b"\r\n"), await reader.readuntil(b"\r\n")
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_message_is_read_as_aiosmtpd_reads_it():
    from aiosmtpd.smtp import SMTP

    from backend.email.smtp_listener import ListenerSMTP

    got: dict[type, list[tuple[bytes, bytes, list[bytes]]]] = {}
    for session in (SMTP, ListenerSMTP):
        stored = Stored()
        mailbox = SupportMailbox(stored, ["support@acme.test"])
        server = await asyncio.get_running_loop().create_server(
            lambda session=session, mailbox=mailbox: session(mailbox, data_size_limit=3000),
            "127.0.0.1",
            0,
        )
        try:
            port = server.sockets[0].getsockname()[1]
            for data in DATA_STREAMS:
                reply, bye = await _conversation(port, data)
                got.setdefault(session, []).append(
                    (reply, bye, [raw for raw, _, _ in stored.items])
                )
                stored.items.clear()
        finally:
            server.close()
            await server.wait_closed()
    assert got[ListenerSMTP] == got[SMTP]
    replies = [reply[:3] for reply, _, _ in got[ListenerSMTP]]
    assert replies.count(b"552") == 3 and replies.count(b"500") == 6  # refusals were tried


async def test_a_message_in_pieces_is_read_as_one_sent_whole():
    from backend.email.smtp_listener import read_message

    async def read(data: bytes, piece: int) -> tuple[str | None, bytes, bytes]:
        reader = asyncio.StreamReader(limit=1001)
        stream = data + b"QUIT\r\n"

        async def feed() -> None:
            for start in range(0, len(stream), piece):
                reader.feed_data(stream[start : start + piece])
                await asyncio.sleep(0)  # the reading task takes what is there
            reader.feed_eof()

        feeding = asyncio.create_task(feed())
        refusal, message = await read_message(reader, 3000, 1001)
        await feeding
        return refusal, message, await reader.read()  # what follows: never read with it

    for data in DATA_STREAMS:
        whole = await read(data, len(data) + 6)
        assert whole[2] == b"QUIT\r\n"
        for piece in (1, 2, 3, 5, 64, 1000, 1003):
            assert await read(data, piece) == whole, (data[:40], piece)
