"""Mail forwarded to the help desk by the company's mail server (what Chatwoot and Zammad
offer as "SMTP forwarding"): an SMTP listener (``aiosmtpd``) that takes mail only for the
support addresses it is configured with, refuses a message above the size cap while it
streams in (it is never held whole), offers STARTTLS — and then requires it — when a
certificate is configured, and answers 250 only once the message is stored: a failure to
store it is a temporary 451, so the forwarding server keeps it and tries again; the
store's refusal (a mailbox disconnected after its recipient was taken) a lasting 550.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from functools import lru_cache
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax

from backend.domain.errors import DomainError

log = logging.getLogger(__name__)

# what the receiver does with a message: store it (its envelope sender and recipients
# beside the bytes as received); returns once it is stored
Accept = Callable[[bytes, str, list[str]], Awaitable[None]]

MAX_MESSAGE_BYTES = 30 * 1024 * 1024
NO_SUCH_MAILBOX = "550 5.1.1 No such mailbox here: this help desk takes no mail for that address"


class SupportMailbox:
    """The aiosmtpd handler: recipients checked, the message handed to ``accept``."""

    def __init__(
        self,
        accept: Accept,
        addresses: Iterable[str],
        *,
        current: Callable[[], Awaitable[Iterable[str]]] | None = None,
    ) -> None:
        self._accept = accept
        self._addresses = _keys(addresses)
        # the support addresses as they are now (the store's mailboxes): read again when
        # a recipient is not among those known, so a mailbox connected while the server
        # runs (the API, the admin command) takes mail at once
        self._current = current

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook names
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.lower() not in self._addresses:
            await self.reload()
        if address.lower() not in self._addresses:
            return NO_SUCH_MAILBOX
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def reload(self) -> None:
        """Read the support addresses again: a mailbox removed or given another address
        while the server runs is refused from the next recipient on."""
        if self._current is not None:
            self._addresses = _keys(await self._current())

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        try:
            await self._accept(raw, str(envelope.mail_from or ""), list(envelope.rcpt_tos))
        except DomainError as refused:  # the store's no: its mailbox was disconnected
            log.info("a forwarded message was refused: %s", refused.message)
            return NO_SUCH_MAILBOX
        except Exception:  # noqa: BLE001 - the sending server keeps the message and retries
            log.exception("a forwarded message could not be stored; answered 451")
            return "451 4.3.0 The message could not be stored; try again later"
        return "250 2.0.0 Message accepted"


def _keys(addresses: Iterable[str]) -> set[str]:
    return {address.strip().lower() for address in addresses if address.strip()}


class ListenerSMTP(SMTP):
    """aiosmtpd's session, reading the address of a MAIL FROM or RCPT TO without
    defining a class on every call (aiosmtpd 1.4's ``_getaddr`` does: about a third of
    the time the session itself spends on a mail) and each distinct argument once (the
    recipients are the few support addresses), and a message by blocks rather than line
    by line (``read_message``)."""

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return address_of(arg, self.local_part_limit)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command names
        """aiosmtpd 1.4's DATA, the same replies in the same cases, with the message
        read by ``read_message`` (the listener hands the handler bytes: no decode_data)."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            refusal, message = await read_message(
                self._reader, self.data_size_limit, self.line_length_limit
            )
        except asyncio.CancelledError:  # the connection was lost (or reset) meanwhile
            log.info("Connection lost during DATA")
            self._writer.close()
            raise
        if refusal is not None:
            await self.push(refusal)
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = message
        status = await self._call_handler_hook("DATA") if "DATA" in self._handle_hooks else MISSING
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)


LINE_TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
TOO_MUCH_DATA = "552 Error: Too much mail data"
_CRLF = b"\r\n"
_END = b".\r\n"


async def read_message(
    reader: asyncio.StreamReader, size_limit: int | None, line_limit: int
) -> tuple[str | None, bytes]:
    """A DATA command's message as aiosmtpd 1.4 reads it: its lines (CRLF-ended) up to the
    lone ``.`` that ends it, a line's leading dot unstuffed. Returns (None, the message),
    or (the refusal, b"") for a line longer than ``line_limit`` bytes with its CRLF or a
    message over ``size_limit`` (0 or None: no cap), whichever the stream shows first;
    the rest is still read, and dropped as it comes (never held). ``line_limit`` is the
    reader's own limit, as aiosmtpd makes it.

    aiosmtpd reads a line per ``readuntil`` and spends ~5 µs of Python on each: here a
    block runs to the next ``.\\r\\n`` (or what the reader holds, on a long stretch
    without one) and is split and checked as a whole. A block never runs past the end of
    the message: the reader returns up to the first ``.\\r\\n`` and, when it gives
    part of a stretch, keeps back the two bytes that could begin one."""
    refusal: str | None = None
    blocks: list[bytes] = []  # the complete lines read, CRLFs kept, while none is refused
    size = 0  # the message's bytes so far, as aiosmtpd counts them
    pending = b""  # the line not ended yet
    while True:
        try:
            block = await reader.readuntil(_END)
        except asyncio.LimitOverrunError as stretch:
            block = await reader.read(stretch.consumed)
        text = pending + block
        *lines, pending = text.split(_CRLF)
        ended = not pending and bool(lines) and lines[-1] == b"."
        if ended:
            lines.pop()
        if refusal is None and lines:
            complete = text[: len(text) - (3 if ended else len(pending))]
            if max(map(len, lines)) + 2 > line_limit or (
                size_limit and size + len(complete) > size_limit
            ):
                refusal = _first_refusal(lines, size, size_limit, line_limit)
            if refusal is None:
                size += len(complete)
                blocks.append(complete)
            else:
                blocks.clear()
        if ended:
            break
        if refusal is None and len(pending) > line_limit:
            refusal = LINE_TOO_LONG
            blocks.clear()
        if refusal is not None and len(pending) > 1:
            # the line's text no longer matters: only whether a CRLF may be ending it
            pending = b"\r" if pending.endswith(b"\r") else b"-"
    if refusal is not None:
        return refusal, b""
    message = b"".join(blocks)
    if message.startswith(b".") or b"\r\n." in message:
        message = (_CRLF + message).replace(b"\r\n.", _CRLF)[2:]
    return None, message


def _first_refusal(
    lines: list[bytes], size: int, size_limit: int | None, line_limit: int
) -> str | None:
    """aiosmtpd's checks, line by line after ``size`` bytes: a line over the reader's
    limit is refused before it is counted, a shorter one counted first (so the cap may
    refuse it first)."""
    for line in lines:
        if len(line) > line_limit:
            return LINE_TOO_LONG
        size += len(line) + 2
        if size_limit and size > size_limit:
            return TOO_MUCH_DATA
        if len(line) + 2 > line_limit:
            return LINE_TOO_LONG
    return None


@lru_cache(maxsize=1024)
def address_of(arg: str, local_part_limit: int = 0) -> tuple[str | None, str | None]:
    """The address in an SMTP command's argument and what follows it (its parameters),
    as aiosmtpd's ``SMTP._getaddr`` reads them: (None, None) when it cannot be read or
    its local part is over ``local_part_limit`` (0: no limit)."""
    if not arg:
        return "", ""
    try:
        if arg.lstrip().startswith("<"):
            address, rest = get_angle_addr(arg)
        else:
            address, rest = get_addr_spec(arg)
    except HeaderParseError:
        return None, None
    addr = address.addr_spec
    localpart = addr.rpartition("@")[0]
    if local_part_limit and len(localpart) > local_part_limit:
        return None, None
    return addr, rest


async def start_listener(
    mailbox: SupportMailbox,
    *,
    host: str,
    port: int,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    tls_context: ssl.SSLContext | None = None,
    hostname: str | None = None,
) -> asyncio.Server:
    """Listen on ``host:port`` (port 0: any free port; the server's sockets say which)."""

    def protocol() -> Any:
        return ListenerSMTP(
            mailbox,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            tls_context=tls_context,
            require_starttls=tls_context is not None,
            hostname=hostname,
            ident="ttydesk",
            timeout=60,
        )

    return await asyncio.get_running_loop().create_server(protocol, host, port)
