"""Sending through a relay: a real SMTP server (aiosmtpd) on 127.0.0.1 plays the relay,
answering as relays do — and hanging up where they do."""

from __future__ import annotations

import asyncio
import ssl
from datetime import UTC, datetime

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from backend.email.compose import compose
from backend.email.parse import Address, parse_email
from backend.email.smtp_listener import SupportMailbox
from backend.email.smtp_send import Outcome, Relay, send
from tests.support import REFUSED_PORT

AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def reply(**kw):
    mail = compose(
        sender=Address("support@acme.test", "Acme Support"),
        to=Address("ana@example.com", "Ana"),
        subject="Re: hi [#7]",
        text="We are on it.",
        domain="acme.test",
        at=AT,
    )
    for name, value in kw.items():
        if name in mail:
            mail.replace_header(name, value)
        else:
            mail[name] = value
    return mail


class Relaying:
    def __init__(self, mailbox=None, **smtp_options) -> None:
        self.received: list[tuple[bytes, str, list[str]]] = []

        async def keep(raw: bytes, sender: str, recipients: list[str]) -> None:
            self.received.append((raw, sender, recipients))

        self.mailbox = mailbox or SupportMailbox(keep, ["ana@example.com", "boss@example.com"])
        self.options = smtp_options

    async def __aenter__(self) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.mailbox, **self.options), "127.0.0.1", 0
        )
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test relay's certificate is self-signed
    return context


async def test_sent_over_starttls_with_a_login_and_bcc_only_in_the_envelope(certificate):
    def authenticate(server, session, envelope, mechanism, data) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"relay-user",
            b"relay-secret",
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535

    relay = Relaying(tls_context=certificate, require_starttls=True, authenticator=authenticate,
                     auth_required=True)  # fmt: skip
    async with relay as port:
        result = await send(
            reply(Bcc="boss@example.com"),
            Relay("127.0.0.1", port, "relay-user", "relay-secret", ssl_context=client_context()),
        )
        wrong = await send(
            reply(),
            Relay(
                "127.0.0.1", port, "relay-user", "guess", ssl_context=client_context(), timeout=10
            ),
        )
    assert result.outcome == Outcome.sent, result.detail
    ((raw, sender, recipients),) = relay.received
    assert (sender, recipients) == ("support@acme.test", ["ana@example.com", "boss@example.com"])
    assert b"boss@example.com" not in raw  # nobody sees the Bcc
    assert parse_email(raw).ticket_token == 7
    assert wrong.outcome == Outcome.failed and wrong.detail.startswith("535")


async def test_refusals_for_good_and_for_now_and_an_unreachable_relay():
    async with Relaying() as port:
        unknown = await send(
            reply(To="nobody@example.com"), Relay("127.0.0.1", port, starttls=False)
        )

    async def full(raw, sender, recipients):
        raise OSError("disk full")

    async with Relaying(SupportMailbox(full, ["ana@example.com"])) as port:
        later = await send(reply(), Relay("127.0.0.1", port, starttls=False))
    down = await send(reply(), Relay("127.0.0.1", REFUSED_PORT, starttls=False, timeout=5))
    assert unknown.outcome == Outcome.failed and unknown.detail.startswith("550")
    assert later.outcome == Outcome.retry and later.detail.startswith("451")
    assert down.outcome == Outcome.retry


async def test_a_relay_that_hangs_up_after_the_message_leaves_it_unknown_whether_sent():
    class HangsUp:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            server.transport.close()  # took the message, never answered
            return "250 OK"

    async with Relaying(HangsUp()) as port:
        result = await send(reply(), Relay("127.0.0.1", port, starttls=False, timeout=5))
    assert result.outcome == Outcome.ambiguous


async def test_starttls_is_required_unless_turned_off_for_a_local_relay():
    async with Relaying() as port:
        refused = await send(reply(), Relay("127.0.0.1", port))  # starttls=True by default
    assert refused.outcome == Outcome.failed and "STARTTLS" in refused.detail


async def test_a_relay_that_hangs_up_before_the_message_left_is_tried_again():
    class HangsUpEarly:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            server.transport.close()
            return "250 OK"

    async with Relaying(HangsUpEarly()) as port:
        result = await send(reply(), Relay("127.0.0.1", port, starttls=False, timeout=5))
    assert result.outcome == Outcome.retry  # nothing was handed over: safe to send again
