"""An agent's reply (or a new message) as the e-mail a customer receives.

Threading is kept for every mail client: our own Message-ID, In-Reply-To the customer's
last message, References the chain (RFC 5322 §3.6.4), and the ticket's token in the
subject (``[#123]``) for a reply whose client drops the headers. The body is plain text
with a simple HTML part beside it (the text escaped, never interpreted as HTML), the
agent's signature under both, and attachments.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from backend.domain.email_subjects import one_line
from backend.email.parse import Address

# References keeps the first message (the thread's root) and the newest ones: a chain
# hundreds of ids long is cut as RFC 5322 allows
MAX_REFERENCES = 20
_URL = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True, slots=True)
class OutgoingAttachment:
    filename: str
    mime: str
    data: bytes


def references_for(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    chain = [ref for ref in references if ref]
    if in_reply_to and in_reply_to not in chain:
        chain.append(in_reply_to)
    if len(chain) > MAX_REFERENCES:
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return chain


def compose(
    *,
    sender: Address,
    to: Address,
    subject: str,
    text: str,
    domain: str,
    at: datetime,
    signature: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    attachments: Sequence[OutgoingAttachment] = (),
    message_id: str | None = None,
    cc: Sequence[Address] = (),
) -> EmailMessage:
    """The message to hand to the relay. ``message_id`` (``<…@domain>``) is made here
    when not given; the outbox keeps it, so a resend after a crash sends the same id."""
    mail = EmailMessage()
    mail["From"] = _header_address(sender)
    mail["To"] = _header_address(to)
    if cc:
        mail["Cc"] = [_header_address(address) for address in cc]
    mail["Subject"] = one_line(subject)
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id or make_msgid(domain=domain)
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    chain = references_for(references, in_reply_to)
    if chain:
        mail["References"] = " ".join(chain)
    body = text.rstrip()
    if signature and signature.strip():
        body = f"{body}\n\n-- \n{signature.strip()}"
    mail.set_content(body + "\n", subtype="plain", charset="utf-8")
    mail.add_alternative(_html_of(body), subtype="html", charset="utf-8")
    for item in attachments:
        maintype, _, subtype = item.mime.partition("/")
        mail.add_attachment(
            item.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=one_line(item.filename) or "attachment",
            # an upload is plain text only as UTF-8 (api/uploads.py); unnamed, a client
            # reads it as US-ASCII
            params={"charset": "utf-8"} if maintype == "text" else None,
        )
    return mail


def _header_address(address: Address) -> HeaderAddress:
    return HeaderAddress(display_name=one_line(address.name or ""), addr_spec=address.address)


def _html_of(text: str) -> str:
    """The text as simple HTML: escaped, links made links, line breaks kept."""
    parts: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0), quote=True)
        parts.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    body = "".join(parts).replace("\n", "<br>\n")
    return (
        '<!DOCTYPE html><html><body><div style="font-family: sans-serif">'
        f"{body}</div></body></html>\n"
    )
