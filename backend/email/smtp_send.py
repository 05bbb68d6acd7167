"""Handing a composed mail to the company's relay (``aiosmtplib``: STARTTLS, login), and
what the answer means for the outbox — the same three outcomes as a WhatsApp send:

- **sent**: the relay took it (250 after DATA);
- **retry**: nothing was delivered and trying again is safe — the relay could not be
  reached, or refused for now (4xx) before it had the message;
- **failed**: refused for good (5xx), with the relay's words for the agent;
- **ambiguous**: the connection ended after the message was handed over but before the
  relay answered; it may have been delivered, so it is never resent on its own (the
  agent sees "not known whether sent").
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import getaddresses
from enum import StrEnum

import aiosmtplib


class Outcome(StrEnum):
    sent = "sent"
    retry = "retry"
    failed = "failed"
    ambiguous = "ambiguous"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    detail: str = ""  # the relay's answer, for the log and the agent


@dataclass(frozen=True, slots=True)
class Relay:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True  # required when the relay offers it; refused to log in without
    implicit_tls: bool = False  # port 465
    ssl_context: ssl.SSLContext | None = None
    timeout: float = 60.0

    def __repr__(self) -> str:  # the password is never logged
        return f"Relay({self.username or '-'}@{self.host}:{self.port})"


def envelope_of(mail: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients (To, Cc and Bcc; Bcc is then taken off the
    message so no recipient sees it)."""
    sender = getaddresses([str(mail.get("From", ""))])
    recipients = [
        address
        for _, address in getaddresses(
            [str(value) for value in mail.get_all("To", [])]
            + [str(value) for value in mail.get_all("Cc", [])]
            + [str(value) for value in mail.get_all("Bcc", [])]
        )
        if address
    ]
    del mail["Bcc"]
    return (sender[0][1] if sender else ""), recipients


async def send(mail: EmailMessage, relay: Relay) -> SendResult:
    sender, recipients = envelope_of(mail)
    if not sender or not recipients:
        return SendResult(Outcome.failed, "the message names no sender or no recipient")
    client = aiosmtplib.SMTP(
        hostname=relay.host,
        port=relay.port,
        use_tls=relay.implicit_tls,
        start_tls=False,
        tls_context=relay.ssl_context,
        timeout=relay.timeout,
    )
    handed_over = False
    try:
        await client.connect()
        await client.ehlo()
        if relay.starttls and not relay.implicit_tls:
            if not client.supports_extension("starttls"):
                return SendResult(
                    Outcome.failed,
                    f"{relay!r} does not offer STARTTLS; the password and the message would "
                    "cross the network in the clear (set starttls = false only for a relay "
                    "on this machine)",
                )
            await client.starttls(tls_context=relay.ssl_context)
        if relay.username:
            await client.login(relay.username, relay.password or "")
        await client.mail(sender)
        for recipient in recipients:
            await client.rcpt(recipient)
        handed_over = True  # from here the relay may have the message
        answer = await client.data(mail.as_bytes(policy=SMTP_POLICY))
    except aiosmtplib.SMTPResponseException as exc:
        text = f"{exc.code} {exc.message}"
        return SendResult(Outcome.failed if exc.code >= 500 else Outcome.retry, text)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPReadTimeoutError) as exc:
        return SendResult(Outcome.ambiguous if handed_over else Outcome.retry, str(exc))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return SendResult(Outcome.retry, str(exc) or type(exc).__name__)
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
    return SendResult(Outcome.sent, f"{answer.code} {answer.message}")
