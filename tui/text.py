"""Customer text as inert data.

Everything a customer (or the network) controls goes through this module before it reaches
the screen: it becomes a ``rich.text.Text`` (never markup), control characters, ANSI escapes
and bidi overrides are shown as visible symbols instead of being obeyed, and long content is
truncated with a "show more" marker. WhatsApp's own formatting (``*bold*``, ``_italic_``,
``~strike~``, ```` ```mono``` ```` and `` `code` ``) is rendered as styles.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from tui import glyphs

#: Style for a made-visible control, escape or bidi character.
CONTROL_STYLE = Style(reverse=True)

# C0 controls but newline, DEL, C1 controls, zero-width and bidi formatting characters.
_SPECIAL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)
_BIDI_NAMES = {
    "\u061c": "ALM",
    "\u200e": "LRM",
    "\u200f": "RLM",
    "\u202a": "LRE",
    "\u202b": "RLE",
    "\u202c": "PDF",
    "\u202d": "LRO",
    "\u202e": "RLO",
    "\u2066": "LRI",
    "\u2067": "RLI",
    "\u2068": "FSI",
    "\u2069": "PDI",
    "\u200b": "ZWSP",
    "\u200c": "ZWNJ",
    "\u200d": "ZWJ",
    "\ufeff": "BOM",
    "\u2028": "LS",
    "\u2029": "PS",
}

# letters a terminal without Unicode (glyphs.ASCII) spells with two: drawn cell by cell
# (terminal_output.to_ascii) they would have one cell, and be "?"; letters with an accent
# to drop and one-letter look-alikes are left to that
_SPELLED_IN_ASCII = str.maketrans(
    {"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th"}
)

_VS16, _VS15, _ZWJ = "\ufe0f", "\ufe0e", "\u200d"
_SKIN_TONES = range(0x1F3FB, 0x1F400)  # the modifiers after a person: part of its emoji
_REGIONAL = range(0x1F1E6, 0x1F200)  # two of them are a flag: 🇪🇸 is ES


def _is_emoji(character: str, after: str) -> bool:
    code = ord(character)
    if code < 0xA9:
        return False
    if 0x1F000 <= code <= 0x1FAFF:  # the emoji planes' blocks (newer ones unnamed here)
        return True
    if unicodedata.category(character) != "So":
        return False
    return (
        0x2600 <= code <= 0x27BF  # the symbols and dingbats that became emoji: ❤ ☺ ✅
        or after == _VS16  # a symbol asked to be drawn as an emoji: ©️
        or cell_len(character) == 2  # ⌚ ⭐
    )


def _emoji_name(character: str) -> str:
    return unicodedata.name(character, "emoji").lower()


def named_emoji(value: str) -> str:
    """``value`` with each emoji (with its skin tone, its variation selector, the emoji it
    is joined to) as its name in brackets: "😂" is "[face with tears of joy]", "👩‍💻" is
    "[woman + personal computer]", "🇪🇸" is "[flag ES]". For a terminal without Unicode
    (glyphs.ASCII), where an emoji has no spelling and was drawn as "??"; only what is
    shown changes, never what is kept or sent."""
    if value.isascii():
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        character = value[i]
        after = value[i + 1] if i + 1 < n else ""
        if ord(character) in _REGIONAL and after and ord(after) in _REGIONAL:
            letters = "".join(chr(ord(c) - 0x1F1E6 + ord("A")) for c in (character, after))
            out.append(f"[flag {letters}]")
            i += 2
            continue
        if not _is_emoji(character, after):
            out.append(character)
            i += 1
            continue
        names = [_emoji_name(character)]
        i += 1
        while i < n:
            following = value[i]
            if following in (_VS16, _VS15) or ord(following) in _SKIN_TONES:
                i += 1
            elif (
                following == _ZWJ
                and i + 1 < n
                and _is_emoji(value[i + 1], value[i + 2] if i + 2 < n else "")
            ):
                names.append(_emoji_name(value[i + 1]))
                i += 2
            else:
                break
        out.append("[" + " + ".join(names) + "]")
    return "".join(out)


#: Default limits before "show more".
MAX_CHARS = 2000
MAX_LINES = 30


def visible_char(ch: str) -> str:
    """The visible stand-in for one special character."""
    code = ord(ch)
    if ch == "\t":
        return "    "
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟ (␛ for ESC)
    if code == 0x7F:
        return "\u2421"  # ␡
    if ch in _BIDI_NAMES:
        return f"\u27e8{_BIDI_NAMES[ch]}\u27e9"
    return f"\u27e8U+{code:04X}\u27e9"


def inert(value: object, style: Style | str = "") -> Text:
    """Customer text as a ``Text`` with every special character made visible.

    The result never interprets markup: ``[bold]`` stays literally ``[bold]``.
    """
    s = "" if value is None else str(value)
    s = s.replace("\r\n", "\n")
    if glyphs.glyphs() is glyphs.ASCII:
        s = named_emoji(s.translate(_SPELLED_IN_ASCII))
    text = Text(style=style, end="", no_wrap=False)
    pos = 0
    for match in _SPECIAL.finditer(s):
        if match.start() > pos:
            text.append(s[pos : match.start()])
        ch = match.group()
        if ch == "\t":
            text.append("    ")
        else:
            text.append(visible_char(ch), CONTROL_STYLE)
        pos = match.end()
    if pos < len(s):
        text.append(s[pos:])
    return text


# what a terminal would obey in text written into the composer: escape sequences (whole),
# controls but tab and newline, and the bidi embeddings, overrides and isolates
_NOT_WRITTEN = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
    "|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def writable(value: str) -> str:
    """Text pasted or loaded into the composer without what the agent's terminal would obey
    and the customer would be sent unseen (copied from a coloured terminal, a web page)."""
    return _NOT_WRITTEN.sub("", value.replace("\r\n", "\n"))


def cut(value: str, limit: int) -> str:
    """``value`` in at most ``limit`` characters, ending with "…" when it was cut: a cut
    text must read as cut ("HF-PO-88" reads as another order number). An ASCII terminal
    shows the mark as "~" (terminal_output.to_ascii)."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def one_line(value: object, style: Style | str = "") -> Text:
    """Like :func:`inert` but on one line: newlines become ``⏎``, runs of spaces collapse."""
    s = "" if value is None else str(value)
    s = re.sub(r"[ \t]+", " ", s.replace("\r\n", "\n")).strip()
    text = inert(s.replace("\n", " \u23ce "), style)
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


# --------------------------------------------------------------------------- WhatsApp formatting

_FORMAT = re.compile(
    r"(?P<mono>```(?P<mono_body>.+?)```)"
    r"|(?P<code>(?<![\w`])`(?P<code_body>[^`\n]+)`(?![\w`]))"
    r"|(?P<bold>(?<![\w*])\*(?P<bold_body>[^\s*](?:[^*\n]*[^\s*])?)\*(?![\w*]))"
    r"|(?P<italic>(?<![\w_])_(?P<italic_body>[^\s_](?:[^_\n]*[^\s_])?)_(?![\w_]))"
    r"|(?P<strike>(?<![\w~])~(?P<strike_body>[^\s~](?:[^~\n]*[^\s~])?)~(?![\w~]))",
    re.DOTALL,
)
_STYLES = {
    "bold": Style(bold=True),
    "italic": Style(italic=True),
    "strike": Style(strike=True),
    "code": Style(dim=True, bold=True),
    "mono": Style(dim=True, bold=True),
}


def whatsapp(value: object, style: Style | str = "", _depth: int = 0) -> Text:
    """Customer text with WhatsApp's formatting rendered and everything else inert."""
    s = "" if value is None else str(value)
    out = Text(style=style, end="")
    pos = 0
    for match in _FORMAT.finditer(s):
        if match.start() > pos:
            out.append_text(inert(s[pos : match.start()]))
        kind = match.lastgroup
        assert kind is not None
        kind = kind.removesuffix("_body")
        body = match.group(f"{kind}_body")
        if kind in ("mono", "code") or _depth > 3:
            out.append_text(inert(body, _STYLES[kind]))
        else:
            inner = whatsapp(body, _STYLES[kind], _depth + 1)
            out.append_text(inner)
        pos = match.end()
    if pos < len(s):
        out.append_text(inert(s[pos:]))
    return out


@dataclass(frozen=True)
class Clipped:
    """A possibly shortened body: ``text`` and how much was left out."""

    text: str
    hidden_chars: int

    @property
    def truncated(self) -> bool:
        return self.hidden_chars > 0


def clip(value: str | None, max_chars: int = MAX_CHARS, max_lines: int = MAX_LINES) -> Clipped:
    """Cut long text before it is styled, so a 1 MB message costs as little as a short one."""
    s = value or ""
    cut = len(s)
    if cut > max_chars:
        cut = max_chars
    newline_at = -1
    for _ in range(max_lines):
        newline_at = s.find("\n", newline_at + 1, cut)
        if newline_at < 0:
            break
    else:
        cut = min(cut, newline_at)
    return Clipped(s[:cut], len(s) - cut)


def human_size(size: int | None) -> str:
    """``1536`` → ``1.5 KB``."""
    if size is None:
        return "? B"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def age(at: datetime | None, now: datetime | None = None) -> str:
    """A compact age: ``now``, ``5m``, ``3h``, ``2d``, ``7w``."""
    if at is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    if seconds < 86400 * 14:
        return f"{seconds // 86400}d"
    return f"{seconds // (86400 * 7)}w"


def countdown(until: datetime | None, now: datetime | None = None) -> str | None:
    """Time left until ``until`` as ``23h 5m``; ``None`` when it has passed or is unknown."""
    if until is None:
        return None
    now = now or datetime.now(UTC)
    left = until - now
    if left <= timedelta(0):
        return None
    minutes = int(left.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def clock(at: datetime | None, now: datetime | None = None) -> str:
    """A timestamp for lists and details, in local time."""
    if at is None:
        return "—"
    local = at.astimezone()
    now = (now or datetime.now(UTC)).astimezone(local.tzinfo)
    if local.date() == now.date():
        return local.strftime("%H:%M")
    if local.year == now.year:
        return local.strftime("%d %b %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def full_time(at: datetime | None) -> str:
    if at is None:
        return "—"
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def first_problem(exc: ValidationError) -> str:
    """The first thing wrong with a form's values, in words: ``imap port: Input should be
    greater than 0`` (the field's name with spaces, then pydantic's message)."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where.replace('_', ' ')}: {error.get('msg', 'invalid')}"
