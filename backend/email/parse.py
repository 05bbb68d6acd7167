"""A received e-mail, as bytes, read into what the help desk needs of it.

Python's ``email`` package with the ``default`` policy does the MIME work (charsets,
RFC 2047 headers, transfer encodings); this module chooses what to show and what to
trust: the plain-text body over the HTML one (HTML becomes text, never markup), the new
part of a reply apart from the quoted history and signature, the attachments (sniffed,
size-limited), whether a machine sent it (auto-replies and bounces never open tickets
and are never answered), a bounce's reason in words, and the receiving server's
SPF/DKIM/DMARC verdicts. Nothing here raises on a malformed message: a part that cannot
be read is left out and the rest is kept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import parseaddr, parsedate_to_datetime
from functools import lru_cache
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

import authres
import filetype
import html2text
from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import GENERIC_MAIL_SEPARATOR
from mailparser_reply.parser import EmailMessage as ReplyText
from mailparser_reply.parser import EmailReply as ReplyPart

# an attachment larger than this is left out and named instead (most relays refuse
# messages above 25 MB; a company's own limit is a setting of the channel)
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
REPLY_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "pl")

_TICKET_TOKEN = re.compile(r"\[#(\d{1,18})\]")
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Address:
    """A mailbox: ``key`` finds the contact (case-insensitive, plus-addressing kept)."""

    address: str
    name: str | None = None

    @property
    def key(self) -> str:
        return self.address.lower()


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    mime: str  # sniffed from the bytes where the type is known, else as declared
    data: bytes
    content_id: str | None = None  # an inline image's cid: the HTML part referred to
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery status notification about a message we sent."""

    original_message_id: str | None
    recipient: str | None
    status: str | None  # the RFC 3463 code, e.g. "5.1.1"
    reason: str  # in words, for the agent


@dataclass(frozen=True, slots=True)
class AuthVerdicts:
    """What the receiving server found (its Authentication-Results header)."""

    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None

    @property
    def dmarc_failed(self) -> bool:
        return self.dmarc in ("fail", "permerror")


@dataclass(frozen=True, slots=True)
class InboundEmail:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    sender: Address | None
    reply_to: Address | None
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: datetime | None
    text: str  # the whole body as text
    reply: str  # the new part: quoted history and signature folded away
    from_html: bool  # the text was made from the HTML part (there was no plain one)
    attachments: tuple[Attachment, ...] = ()
    left_out: tuple[str, ...] = ()  # attachments over the size limit, by name
    automatic: str | None = None  # why a machine sent it ("auto-replied", "bounce", …)
    bounce: Bounce | None = None
    auth: AuthVerdicts | None = None
    defects: tuple[str, ...] = field(default=())

    @property
    def ticket_token(self) -> int | None:
        """The ticket named in the subject (``[#123]``), which threads a reply whose
        headers were lost."""
        match = _TICKET_TOKEN.search(self.subject)
        return int(match.group(1)) if match else None

    @property
    def thread_keys(self) -> tuple[str, ...]:
        """The message ids this one answers, the most telling first: In-Reply-To, then
        References from the newest."""
        keys = [self.in_reply_to] if self.in_reply_to else []
        keys += [ref for ref in reversed(self.references) if ref not in keys]
        return tuple(keys)


def parse_email(
    raw: bytes,
    *,
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    authserv_id: str | None = None,
) -> InboundEmail:
    """Read ``raw`` (an RFC 5322 message). ``authserv_id`` names the receiving server
    whose Authentication-Results header is trusted (a sender can write one of its own);
    without it, the topmost header, the one the last server added, is read."""
    try:
        message = message_from_bytes(raw, policy=PARSE_POLICY)
    except RecursionError:
        return _too_deep(raw, authserv_id)
    assert isinstance(message, EmailMessage)
    defects: list[str] = [type(defect).__name__ for defect in message.defects]
    body_part = _body_part(message)
    text, from_html = _text_of(body_part, defects) if body_part is not None else ("", False)
    attachments, left_out = _attachments(message, body_part, max_attachment_bytes, defects)
    bounce = _bounce(message)
    tokens = _raw_headers(message)
    envelope = _envelope(message, tokens)
    return InboundEmail(
        **envelope,
        text=text,
        reply=_reply_part(text),
        from_html=from_html,
        attachments=tuple(attachments),
        left_out=tuple(left_out),
        automatic="bounce" if bounce is not None else _automatic(tokens, envelope["sender"]),
        bounce=bounce,
        auth=_auth(message, authserv_id),
        defects=tuple(defects),
    )


def _envelope(message: EmailMessage, tokens: dict[str, str]) -> dict[str, Any]:
    """The fields of ``InboundEmail`` its headers give: who, to whom, which, when."""
    reply_to = _first_address(message, "Reply-To", tokens)
    return {
        "message_id": _one_id(tokens.get("message-id")),
        "in_reply_to": _one_id(tokens.get("in-reply-to")),
        "references": tuple(_MESSAGE_ID.findall(tokens.get("references") or "")),
        "subject": _clean_line(_text_header(message, "Subject", tokens) or ""),
        "sender": _sender(message, tokens, reply_to),
        "reply_to": reply_to,
        "to": tuple(_addresses(message, "To", tokens)),
        "cc": tuple(_addresses(message, "Cc", tokens)),
        "date": _date(tokens.get("date")),
    }


TOO_DEEP_TEXT = (
    "This mail's parts are nested too deeply to be read: its headers are shown, and its "
    "whole source is kept."
)


def _too_deep(raw: bytes, authserv_id: str | None) -> InboundEmail:
    """A mail whose parts nest deeper than the email package's parser can recurse (a
    hostile one): read for its headers only, never refused (a refusal is retried for ever,
    and an IMAP fetcher stuck at it takes no later mail)."""
    message = BytesParser(policy=PARSE_POLICY).parsebytes(raw, headersonly=True)
    assert isinstance(message, EmailMessage)
    tokens = _raw_headers(message)
    envelope = _envelope(message, tokens)
    return InboundEmail(
        **envelope,
        text=TOO_DEEP_TEXT,
        reply=TOO_DEEP_TEXT,
        from_html=False,
        automatic=_automatic(tokens, envelope["sender"]),
        auth=_auth(message, authserv_id),
        defects=("RecursionError",),
    )


# ------------------------------------------------------------------ headers


class _ParsedOncePolicy(EmailPolicy):
    """``policy.default``, except that a header value is parsed once: the default policy
    parses a header again on every read, and the package itself reads a part's
    Content-Type about ten times while parsing one plain mail (over half its time). The
    parsed headers are read-only values, so one parse serves every read of the same text."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):  # already a parsed header
            return value
        return _parsed_header(name, value)


@lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> Any:
    return policy.default.header_fetch_parse(name, value)


class _ReadMessage(EmailMessage):
    """An ``EmailMessage`` that works its content type out once: the package reads it
    about ten times for one plain mail (parsing, ``get_body``, ``get_content``), each
    read a scan of the headers and a split of the value. It is worked out again when the
    headers or the default type change (nothing here changes a part read; the check
    keeps a change right all the same)."""

    _type_read: tuple[list[Any], int, str, str] | None = None

    def get_content_type(self) -> str:
        read, headers = self._type_read, self._headers
        if (
            read is not None
            and read[0] is headers
            and read[1] == len(headers)
            and read[2] == self._default_type
        ):
            return read[3]
        found = super().get_content_type()
        self._type_read = (headers, len(headers), self._default_type, found)
        return found

    def replace_header(self, _name: str, _value: Any) -> None:  # the one change in place
        self._type_read = None
        super().replace_header(_name, _value)


PARSE_POLICY = _ParsedOncePolicy(message_factory=_ReadMessage)


# headers whose values are ids, tokens or dates, never encoded words: read as received,
# without the default policy's parse (most of a plain mail's parsing time)
_TOKEN_HEADERS = frozenset(
    {
        "message-id",
        "in-reply-to",
        "references",
        "date",
        "auto-submitted",
        "precedence",
        "x-autoreply",
        "x-autorespond",
        "x-auto-reply",
        "x-auto-response-suppress",
    }
)
# headers read as received when they are plain (``_plain``), else through the policy
_PLAIN_HEADERS = frozenset({"from", "to", "cc", "reply-to", "subject"})


def _raw_headers(message: Message) -> dict[str, str]:
    """The first of each ``_TOKEN_HEADERS`` and ``_PLAIN_HEADERS`` header as received
    (the token ones unfolded), by lower-case name."""
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        key = name.lower()
        if key in found:
            continue
        if key in _TOKEN_HEADERS:
            found[key] = " ".join(str(value).split())
        elif key in _PLAIN_HEADERS:
            found[key] = str(value)
    return found


def _plain(value: str | None) -> str | None:
    """``value`` when reading it needs none of the policy's work: ASCII, no encoded word,
    no quoting, comment, escape or group (None: read it through the policy)."""
    if value is None or not value.isascii() or "=?" in value or _NOT_PLAIN.search(value):
        return None
    return value


_NOT_PLAIN = re.compile(r'["()\\:;\[\]]')
# a plain address list's item: ``local@domain`` or ``Display Name <local@domain>``
_PLAIN_ADDRESS = re.compile(
    r"\s*(?:(?P<name>[^<>,@]*?)\s*<(?P<local>[^<>@\s,]+)@(?P<domain>[^<>@\s,]+)>"
    r"|(?P<bare_local>[^<>@\s,]+)@(?P<bare_domain>[^<>@\s,]+))\s*(?:,|\Z)"
)


def _plain_addresses(value: str) -> list[Address] | None:
    """The addresses of a plain list (``_plain``), or None when it is not one of
    ``_PLAIN_ADDRESS`` items (left to the policy's parser)."""
    found: list[Address] = []
    position, end = 0, len(value.rstrip())
    while position < end:
        match = _PLAIN_ADDRESS.match(value, position)
        if match is None or match.end() == position:
            return None
        position = match.end()
        if match["local"] is not None:
            local, domain, name = match["local"], match["domain"], match["name"]
        else:
            local, domain, name = match["bare_local"], match["bare_domain"], None
        if local.startswith(".") or local.endswith(".") or ".." in local:
            return None  # the policy's parser reads a broken dot-atom its own way
        found.append(Address(f"{local}@{domain.lower()}", _clean_line(name or "") or None))
    return found


def _text_header(message: Message, name: str, raw: dict[str, str]) -> str | None:
    """An unstructured header's text (the subject): as received when plain."""
    plain = _plain(raw.get(name.lower()))
    return plain if plain is not None else _header(message, name)


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the parser cannot read is missing
        return None
    return None if value is None else str(value)


def _clean_line(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


def _one_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _MESSAGE_ID.search(value)
    return match.group(0) if match else None


def _addresses(message: Message, name: str, raw: dict[str, str]) -> Iterable[Address]:
    plain = _plain(raw.get(name.lower()))
    if plain is not None and (found := _plain_addresses(plain)) is not None:
        return found
    try:
        header = message.get(name)
        parsed: tuple[HeaderAddress, ...] = header.addresses if header is not None else ()
    except Exception:  # noqa: BLE001 - an unreadable address list is empty
        return []
    return [
        Address(f"{item.username}@{item.domain.lower()}", _clean_line(item.display_name) or None)
        for item in parsed
        if item.username and item.domain
    ]


def _first_address(message: Message, name: str, raw: dict[str, str]) -> Address | None:
    found = list(_addresses(message, name, raw))
    return found[0] if found else None


def _sender(message: Message, raw: dict[str, str], reply_to: Address | None) -> Address | None:
    """Who the mail is from: its From, else (a mailer that wrote none) its Sender, its
    Reply-To, or the Return-Path the delivering server added (a fetched mail; the SMTP
    listener has the envelope's MAIL FROM, ``MailReceiver.receive``). None: no one."""
    found = _first_address(message, "From", raw) or _first_address(message, "Sender", raw)
    return found or reply_to or envelope_address(_header(message, "Return-Path"))


def envelope_address(value: str | None) -> Address | None:
    """The mailbox of a Return-Path or an SMTP MAIL FROM (``<>``, a bounce's: None)."""
    _, address = parseaddr(value or "")
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain or _CONTROL.search(address):
        return None
    return Address(f"{local}@{domain.lower()}")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


# ------------------------------------------------------------------ body


def _body_part(message: EmailMessage) -> EmailMessage | None:
    try:
        return message.get_body(preferencelist=("plain", "html"))
    except Exception:  # noqa: BLE001
        return None


def _text_of(part: EmailMessage, defects: list[str]) -> tuple[str, bool]:
    content = _decoded_text(part, defects)
    if part.get_content_subtype() == "html":
        return _html_to_text(content), True
    return _normalise_newlines(content), False


def _decoded_text(part: Message, defects: list[str]) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except (LookupError, UnicodeError, ValueError, AssertionError) as exc:
        defects.append(type(exc).__name__)  # an unknown or lying charset
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode("utf-8", "replace")


def _html_to_text(html: str) -> str:
    converter = html2text.HTML2Text(bodywidth=0)
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    return _normalise_newlines(converter.handle(html)).strip()


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _reply_part(text: str) -> str:
    """The new words of a reply: what comes before the quoted message and signature."""
    if not text.strip():
        return ""
    try:
        reply = _QuickReplyText(text=text, languages=list(_reply_languages())).first_reply()
    except Exception:  # noqa: BLE001 - a text the reply parser chokes on is shown whole
        return text.strip()
    # the newest reply's body: its quoted history and signature apart (``parse_reply``
    # gives the newest reply with its signature still on)
    return (reply.body or text).strip()


class _QuickReplyText(ReplyText):
    """``mailparser_reply``'s reading of a text, with its three patterns built once (the
    library builds them again for every text), its header pattern tried only where a
    header can begin (every one it knows starts at a line's start or at a line break;
    trying all of them at every other character was most of a reply's reading time), and
    only the newest reply read (``tests/email/test_parse.py`` holds the two readings
    equal)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        languages = tuple(self.languages)
        _, self._disclaimers_regex, self._signature_regex = _reply_patterns(languages)
        self._headers_here = _header_pattern_for(self.text, languages)

    def first_reply(self) -> ReplyPart:
        """``read().replies[0]``, without finding and reading the older replies quoted
        below it: the same steps as ``read``, stopped at the first reply it keeps."""
        text = self.text
        current, previous = 0, ""
        matches = self._headers_here.finditer(text) if self._headers_here is not None else ()
        for match in matches:
            for header in match.groups():
                if not header:
                    continue
                position = text.find(header, current + 1 if current > 0 else current)
                reply = self._reply(previous, text[current:position])
                current, previous = (position if position >= 0 else 0), header
                if reply.content:
                    return reply
        return self._reply(previous, text[current:])

    def _reply(self, headers: str, content: str) -> ReplyPart:
        disclaimers, signatures = self._process_signatures_disclaimers(content)
        return ReplyPart(
            headers=headers, content=content, signatures=signatures, disclaimers=disclaimers
        )


@lru_cache(maxsize=1)
def _reply_languages() -> tuple[str, ...]:
    return tuple(EmailReplyParser(languages=list(REPLY_LANGUAGES)).languages)


@lru_cache(maxsize=8)
def _reply_patterns(languages: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    built = ReplyText(text="", languages=list(languages))
    header = built.HEADER_REGEX
    at_line_start = re.compile(rf"(?:(?<=\n)|(?=\n)|\A)(?:{header.pattern})", header.flags)
    return at_line_start, built.DISCLAIMERS_REGEX, built.SIGNATURE_REGEX


# The words (any one, in any case) without which each of the reply parser's header
# patterns cannot match, by language and kind, with the digest of the pattern they were
# read from: a pattern that is not this one (another version of the library) is always
# tried. Trying only the patterns whose word is in the text finds the same headers
# (one that cannot match anywhere changes no match) in a fraction of the time: each one
# tried costs about 5 µs at every line of a mail, and a mail has words of one language.
_HEADER_WORDS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("wrote_header", "en"): ("5052283bd4b6a9e2", ("wrote:",)),
    ("wrote_header", "de"): ("4da1a3e6788d0451", ("schrieb",)),
    ("wrote_header", "fr"): ("7526ae88e3a8084e", ("a écrit",)),
    ("wrote_header", "es"): ("a3f9531022797c04", (" escribió:",)),
    ("wrote_header", "it"): ("92fafbdbe8896f4e", ("ha scritto:",)),
    ("wrote_header", "nl"): ("e9171993717dc00c", ("schreef:",)),
    ("wrote_header", "sv"): ("fe84b29aca94dda1", ("skrev",)),
    ("wrote_header", "pl"): ("a227e7609793281b", ("nadesłał:", "napisał(a):")),
    ("from_header", "en"): (
        "1f0aa2b7fc44f2aa",
        ("from:", "sent:", "to:", "subject:", "date:", "cc:", "organization:"),
    ),
    ("from_header", "de"): (
        "b36bbc271308be35",
        ("von:", "gesendet:", "an:", "betreff:", "datum:", "cc:", "organisation:"),
    ),
    ("from_header", "fr"): (
        "54a0891743b8ac00",
        ("de :", "envoyé :", "à :", "objet :", "  :", "cc :"),
    ),
    ("from_header", "es"): (
        "a31793d95b631900",
        ("de:", "enviado:", "para:", "asunto:", "fecha:", "cc:", "organización:"),
    ),
    ("from_header", "it"): (
        "aa19d93778a29134",
        ("da:", "inviato:", "a:", "oggetto:", "data:", "cc:"),
    ),
    ("from_header", "nl"): (
        "3ed2b84bcf5311f9",
        ("van:", "verzonden:", "aan:", "onderwerp:", "datum:", "cc:"),
    ),
    ("from_header", "sv"): (
        "951d17c1faeb3531",
        ("från:", "skickat:", "till:", "ämne:", "datum:", "kopia:"),
    ),
    ("from_header", "pl"): (
        "ede31826680f0630",
        ("od:", "wysłano:", "do:", "temat:", "data:", "dw:"),
    ),
    ("separator", ""): ("e2e19ac7119f775f", ("original message",)),
}
# the letters ``re.IGNORECASE`` takes for an i or an s that ``str.lower`` leaves apart
_CASE_TWINS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


@lru_cache(maxsize=8)
def _header_alternatives(
    languages: tuple[str, ...],
) -> tuple[tuple[str, tuple[str, ...] | None], ...]:
    """The reply parser's header pattern (``HEADER_REGEX``) as its alternatives, in its
    order, each with the words it needs (None: tried whatever the text)."""
    built = ReplyText(text="", languages=list(languages))
    parts = [
        ((kind, language), built._get_language_regex(language=language, regex_key=kind))
        for kind in ("wrote_header", "from_header")
        for language in built.languages
    ]
    parts.append((("separator", ""), f"({GENERIC_MAIL_SEPARATOR})"))
    parts = [(key, source) for key, source in parts if source]
    if "|".join(source for _, source in parts) != built.HEADER_REGEX.pattern:
        return ((built.HEADER_REGEX.pattern, None),)  # built another way: tried whole
    alternatives = []
    for key, source in parts:
        digest, words = _HEADER_WORDS.get(key, ("", ()))
        known = hashlib.sha256(source.encode()).hexdigest()[:16] == digest
        alternatives.append((source, words if known else None))
    return tuple(alternatives)


@lru_cache(maxsize=64)
def _header_pattern(languages: tuple[str, ...], kept: tuple[int, ...]) -> re.Pattern[str]:
    """The alternatives ``kept`` of the header pattern, tried only where a header can
    begin (see ``_QuickReplyText``)."""
    alternatives = _header_alternatives(languages)
    flags = _reply_patterns(languages)[0].flags
    chosen = "|".join(alternatives[index][0] for index in kept)
    return re.compile(rf"(?:(?<=\n)|(?=\n)|\A)(?:{chosen})", flags)


@dataclass(frozen=True, slots=True)
class _HeaderWords:
    always: frozenset[int]  # the alternatives tried whatever the text
    at_colon: tuple[tuple[str, int], ...]  # each word that ends in ":", with its alternative
    others: tuple[tuple[str, int], ...]
    reach: int  # the longest word ending in ":"


@lru_cache(maxsize=8)
def _header_words(languages: tuple[str, ...]) -> _HeaderWords:
    alternatives = _header_alternatives(languages)
    pairs = [(word, index) for index, (_, words) in enumerate(alternatives) for word in words or ()]
    return _HeaderWords(
        always=frozenset(index for index, (_, words) in enumerate(alternatives) if words is None),
        at_colon=tuple(pair for pair in pairs if pair[0].endswith(":")),
        others=tuple(pair for pair in pairs if not pair[0].endswith(":")),
        reach=max((len(word) for word, _ in pairs if word.endswith(":")), default=1),
    )


def _header_pattern_for(text: str, languages: tuple[str, ...]) -> re.Pattern[str] | None:
    """The header pattern with only the alternatives whose words are in ``text`` (None:
    no header can be in it)."""
    folded = (text if text.isascii() else text.translate(_CASE_TWINS)).lower()
    words = _header_words(languages)
    kept = {*words.always, *(index for word, index in words.others if word in folded)}
    # the words that end in ":" are looked for only before each colon (a long quote has
    # few colons and many characters): the stretches end at a colon and reach back as
    # far as the longest word, and one word can be in a stretch only if it is in the text
    # there; a NUL, in no word, keeps two stretches from making a word between them
    stretches = []
    at = folded.find(":")
    while at >= 0:
        stretches.append(folded[max(0, at + 1 - words.reach) : at + 1])
        at = folded.find(":", at + 1)
    if stretches:
        near = "\0".join(stretches)
        kept.update(index for word, index in words.at_colon if word in near)
    return _header_pattern(languages, tuple(sorted(kept))) if kept else None


# ------------------------------------------------------------------ attachments


def _attachments(
    message: EmailMessage, body: EmailMessage | None, limit: int, defects: list[str]
) -> tuple[list[Attachment], list[str]]:
    kept: list[Attachment] = []
    left_out: list[str] = []
    alternatives = _alternatives_of(message, body)
    for part in message.walk():
        if part.is_multipart() or part is body or id(part) in alternatives:
            continue
        content_type = part.get_content_type()
        if content_type in ("message/delivery-status", "text/rfc822-headers"):
            continue
        disposition = part.get_content_disposition()
        content_id = _one_id(_header(part, "Content-ID"))
        if disposition is None and content_type.startswith("text/") and not content_id:
            continue  # another text part of the body (a footer a list appended)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            defects.append("UnreadableAttachment")
            continue
        name = _safe_filename(part.get_filename(), content_type, len(kept) + len(left_out))
        if len(data) > limit:
            left_out.append(name)
            continue
        kept.append(
            Attachment(
                filename=name,
                mime=filetype.guess_mime(data) or content_type,
                data=data,
                content_id=content_id,
                inline=disposition == "inline" or (disposition is None and content_id is not None),
            )
        )
    return kept, left_out


def _alternatives_of(message: EmailMessage, body: EmailMessage | None) -> set[int]:
    """The other renderings of the body (the HTML beside the chosen plain text)."""
    found: set[int] = set()
    for part in message.walk():
        if part.get_content_type() == "multipart/alternative":
            children = part.get_payload()
            if isinstance(children, list) and any(child is body for child in children):
                found.update(
                    id(child)
                    for child in children
                    if not child.is_multipart() and child.get_content_maintype() == "text"
                )
    return found


def _safe_filename(given: str | None, content_type: str, index: int) -> str:
    """A name to show and save under: no folders, no control characters."""
    name = ""
    if given:
        name = PureWindowsPath(PurePosixPath(given).name).name
        name = _CONTROL.sub("", name).strip().lstrip(".")
    if not name:
        extension = filetype.get_type(content_type)
        name = f"attachment-{index + 1}" + (f".{extension.extension}" if extension else "")
    return name[:200]


# ------------------------------------------------------------------ machines


def _automatic(headers: dict[str, str], sender: Address | None) -> str | None:
    """Why a machine sent this message (RFC 3834 and the habits of common mailers), or
    None for a person's message (``headers``: ``_raw_headers``)."""
    auto_submitted = headers.get("auto-submitted", "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return auto_submitted.split(";")[0]
    precedence = headers.get("precedence", "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"precedence {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-reply"):
        if name in headers:
            return "auto-replied"
    suppress = headers.get("x-auto-response-suppress", "").lower()
    if "oof" in suppress or suppress.strip() == "all":
        return "auto-replied"
    if sender is not None and sender.address.split("@")[0].lower() in (
        "mailer-daemon",
        "postmaster",
    ):
        return "mailer daemon"
    return None


# RFC 3463 status codes an agent can act on, in words
_STATUS_WORDS = {
    "5.1.1": "the address does not exist",
    "5.1.2": "the recipient's domain does not exist",
    "5.1.10": "the address does not exist",
    "5.2.1": "the mailbox is disabled",
    "5.2.2": "the mailbox is full",
    "5.2.3": "the message is too large for the recipient",
    "5.3.4": "the message is too large for the recipient's server",
    "5.4.1": "the recipient's server refused it",
    "5.7.1": "the recipient's server refused it as unwanted or unauthorised",
    "5.7.26": "the recipient's server refused it: our domain's authentication failed",
}


def _bounce(message: EmailMessage) -> Bounce | None:
    """A DSN (RFC 3464: multipart/report; report-type=delivery-status) read: which of
    our messages failed, to whom, and why, in words."""
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    fields: dict[str, str] = {}
    original: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            fields = _delivery_status_fields(part)
        elif kind in ("message/rfc822", "text/rfc822-headers") and original is None:
            original = _original_message_id(part)
    status = (fields.get("status") or "").split()[0] if fields.get("status") else None
    action = (fields.get("action") or "").lower()
    if action in ("delayed", "relayed", "expanded", "delivered"):
        return None  # not a failure
    diagnostic = fields.get("diagnostic-code", "")
    diagnostic = diagnostic.split(";", 1)[-1].strip() if diagnostic else ""
    reason = _STATUS_WORDS.get(status or "") or (
        "the recipient's server could not deliver it for now"
        if (status or "").startswith("4.")
        else "the recipient's server could not deliver it"
    )
    if diagnostic:
        reason = f"{reason} ({_clean_line(diagnostic)[:300]})"
    recipient = fields.get("final-recipient") or fields.get("original-recipient")
    if recipient and ";" in recipient:
        recipient = recipient.split(";", 1)[1].strip()
    return Bounce(original_message_id=original, recipient=recipient, status=status, reason=reason)


def _delivery_status_fields(part: Message) -> dict[str, str]:
    """The first recipient's fields of a message/delivery-status part (lower-case names)."""
    payload: Any = part.get_payload()
    groups: list[Any] = payload if isinstance(payload, list) else []
    if not groups:
        raw = part.get_payload(decode=True)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
        blocks = [block for block in re.split(r"\r?\n\r?\n", text) if block.strip()]
        groups = [dict(_field_lines(block)) for block in blocks]
        return groups[1] if len(groups) > 1 else (groups[0] if groups else {})
    per_recipient = groups[1] if len(groups) > 1 else groups[0]
    return {name.lower(): str(value) for name, value in per_recipient.items()}


def _field_lines(block: str) -> Iterable[tuple[str, str]]:
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep and name and not name[0].isspace():
            yield name.strip().lower(), value.strip()


def _original_message_id(part: Message) -> str | None:
    payload: Any = part.get_payload()
    if isinstance(payload, list) and payload:
        return _one_id(_header(payload[0], "Message-ID"))
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(payload)
    for name, value in _field_lines(text.split("\n\n", 1)[0]):
        if name == "message-id":
            return _one_id(value)
    return None


# ------------------------------------------------------------------ authentication


def _auth(message: Message, authserv_id: str | None) -> AuthVerdicts | None:
    """The verdicts of the trusted Authentication-Results header (RFC 8601): the one
    from ``authserv_id``, else the topmost."""
    try:
        headers = message.get_all("Authentication-Results") or []
    except Exception:  # noqa: BLE001
        return None
    for value in headers:
        try:
            parsed = authres.AuthenticationResultsHeader.parse_value(str(value))
        except Exception:  # noqa: BLE001 - a header we cannot read is not trusted
            continue
        if authserv_id is not None and (parsed.authserv_id or "").lower() != authserv_id.lower():
            continue
        verdicts: dict[str, str] = {}
        for result in parsed.results:
            verdicts.setdefault(str(result.method).lower(), str(result.result).lower())
        return AuthVerdicts(
            spf=verdicts.get("spf"), dkim=verdicts.get("dkim"), dmarc=verdicts.get("dmarc")
        )
    return None
