"""An agent's own e-mail signature: what may be stored, and the sign-off a mail gets.

A signature is plain text of a few lines, as Zammad, HubSpot and Chatwoot keep one per
agent; it goes under the ``-- `` line of the agent's e-mails (never on WhatsApp). It is
data, never markup: the HTML part escapes it like the rest of the text. ``{agent}`` and
``{mailbox}`` stand for the agent's name and the mailbox's display name.
"""

from __future__ import annotations

import re
import unicodedata

from backend.domain.errors import InvalidField

MAX_SIGNATURE_CHARS = 500
MAX_SIGNATURE_LINES = 8
_PLACEHOLDER = re.compile(r"\{agent\}|\{mailbox\}")


def checked_signature(value: str) -> str | None:
    """``value`` as stored: line ends made ``\\n``, each line's trailing blanks and the
    blank lines around it trimmed; None when nothing is left (the signature is cleared).
    A control character, or a signature too long or of too many lines, is refused."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        for char in line:
            if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
                raise InvalidField(
                    f"The signature has a control character (U+{ord(char):04X}) on line "
                    f"{number}: a signature is plain text and line breaks.",
                    field="signature",
                )
    text = "\n".join(line.rstrip() for line in lines).strip("\n")
    if not text.strip():
        return None
    if len(text) > MAX_SIGNATURE_CHARS:
        raise InvalidField(
            f"The signature is {len(text)} characters long: at most {MAX_SIGNATURE_CHARS}.",
            field="signature",
        )
    count = text.count("\n") + 1
    if count > MAX_SIGNATURE_LINES:
        raise InvalidField(
            f"The signature has {count} lines: at most {MAX_SIGNATURE_LINES}.",
            field="signature",
        )
    return text


def sign_off(signature: str | None, agent: str | None, mailbox: str | None) -> str:
    """What goes under the ``-- `` line: the agent's signature with its placeholders
    filled, or without one the agent's name and the mailbox's display name."""
    if signature is None or not signature.strip():
        return "\n".join(part for part in (agent, mailbox) if part)
    values = {"{agent}": agent or "", "{mailbox}": mailbox or ""}
    # in one pass: a name that itself says "{mailbox}" stays as written
    return _PLACEHOLDER.sub(lambda match: values[match.group(0)], signature)
