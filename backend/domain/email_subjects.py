"""The subject an agent's e-mail goes out under: the ticket's token (``[#123]``) in it, for
a reply whose client drops the threading headers, and one ``Re:`` on a reply."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\[#\d{1,18}\]")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|vs|antw|r|rif|réf|ref)\s*(\[\d+\])?\s*:\s*)+", re.I)
_LINE_BREAKS = re.compile(r"[\r\n\x00]+")


def one_line(value: str) -> str:
    """A header value on one line: a line break in it would start a header of its own."""
    return " ".join(_LINE_BREAKS.sub(" ", value).split())


def reply_subject(subject: str, ticket_id: int) -> str:
    """``Re: <subject> [#ticket]``: one Re: (whatever the clients stacked), one token."""
    bare = " ".join(_TOKEN.sub("", one_line(subject)).split())
    bare = _REPLY_PREFIX.sub("", bare).strip() or "Your request"
    return f"Re: {bare} [#{ticket_id}]"


def new_subject(subject: str, ticket_id: int) -> str:
    bare = _TOKEN.sub("", one_line(subject)).strip() or "Your request"
    return f"{bare} [#{ticket_id}]"


def sent_subject(subject: str, ticket_id: int, *, reply: bool) -> str:
    """What the mail's Subject says: a reply's or a new mail's."""
    return reply_subject(subject, ticket_id) if reply else new_subject(subject, ticket_id)
