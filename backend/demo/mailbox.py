"""The demo's mailbox: customers who write to Northwind's support address by e-mail,
through the desk's real SMTP listener, and a local SMTP sink standing in for the company's
relay, which catches what the desk sends (a customer's scripted answer replies to it,
quoting it, as a mail client does)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session

from backend.demo.assets import load_json

log = logging.getLogger(__name__)

SUPPORT_ADDRESS = "support@northwind.example"
SUPPORT_NAME = "Northwind Support"
CUSTOMER_DOMAIN = "mail.demo.example"  # where the customers' Message-IDs come from
KEPT = 500  # the sink keeps the most recent mails the desk sent


class MailSink:
    """The aiosmtpd handler of the demo's relay: takes every mail and keeps it."""

    def __init__(self) -> None:
        self.caught: deque[EmailMessage] = deque(maxlen=KEPT)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.caught.append(mail)
        log.info("the demo's mail sink caught %r for %s", str(mail["Subject"]), mail["To"])
        return "250 2.0.0 Caught by the demo's mail sink"

    def last_to(self, address: str) -> EmailMessage | None:
        """The most recent mail the desk sent to ``address``."""
        wanted = address.lower()
        return next(
            (mail for mail in reversed(self.caught) if wanted in str(mail["To"]).lower()), None
        )


async def start_sink(sink: MailSink, host: str) -> asyncio.Server:
    """The sink on a free port of ``host`` (the server's socket says which)."""
    return await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="relay.demo.example", ident="ttydesk demo sink"), host, 0
    )


@dataclass
class MailCustomer:
    """A customer of assets/demo/mail_customers.json and where their conversation is."""

    name: str
    address: str
    subject: str
    script: list[str]
    last_message_id: str | None = None  # the customer's own last mail

    @classmethod
    def from_json(cls, spec: dict[str, Any]) -> MailCustomer:
        return cls(spec["name"], spec["address"], spec["subject"], list(spec["script"]))


def mail_customers() -> list[MailCustomer]:
    return [MailCustomer.from_json(spec) for spec in load_json("mail_customers.json")]


def customer_mail(
    customer: MailCustomer, line: str, *, at: datetime, answering: EmailMessage | None
) -> EmailMessage:
    """The customer's mail for a script line: plain text (a first mail, or a follow-up to
    their own last one), or ``{"type": "reply", "text": …}``, which answers the desk's
    last mail to them (``answering``), quoting it."""
    text = json.loads(line)["text"] if line.startswith("{") else line
    mail = EmailMessage()
    mail["From"] = f"{customer.name} <{customer.address}>"
    mail["To"] = f"{SUPPORT_NAME} <{SUPPORT_ADDRESS}>"
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = make_msgid(domain=CUSTOMER_DOMAIN)
    if answering is not None and line.startswith("{"):
        subject = str(answering["Subject"])
        mail["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        answered = str(answering["Message-ID"])
        earlier = str(answering.get("References", "")).split()
        mail["In-Reply-To"] = answered
        mail["References"] = " ".join([*earlier, answered])
        text = f"{text}\n\n{_quoted(answering)}"
    elif customer.last_message_id is not None:
        mail["Subject"] = f"Re: {customer.subject}"
        mail["In-Reply-To"] = customer.last_message_id
        mail["References"] = customer.last_message_id
    else:
        mail["Subject"] = customer.subject
    mail.set_content(text)
    customer.last_message_id = str(mail["Message-ID"])
    return mail


def _quoted(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())
    return f"On {mail['Date']}, {mail['From']} wrote:\n{quoted}"


async def send_to_desk(mail: EmailMessage, host: str, port: int) -> None:
    """Through the desk's SMTP listener, as the company's mail server forwards it."""
    await aiosmtplib.send(mail, hostname=host, port=port, start_tls=False)
