"""JSON from outside (webhook bodies, request bodies, cursors) decoded into values the store
can always write.

Python's ``json`` accepts more than JSON, and more than SQLite or UTF-8 can hold: the
literals ``NaN``/``Infinity`` and ``1e999`` become non-finite floats (``json.dumps`` writes
them back as invalid JSON), integers of any size (SQLite binds 64 bits), and an escaped
lone surrogate (``"\\ud83d"``, half of an emoji) becomes a string UTF-8 cannot encode. So
every string that comes out of ``decode`` is encodable (a lone surrogate, or a byte that
is not UTF-8, is replaced by U+FFFD), and a number out of range is refused, or with
``invalid_numbers_as_null`` (a webhook, where one field must not lose the message) read
as ``null``, that field's "missing".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

from backend.domain.numbers import fits_int64

# the escape of a UTF-16 surrogate pair (an emoji, as Meta escapes it), or of one half
_SURROGATE_ESCAPES = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_ESCAPE_LENGTH = 6  # \uXXXX
_REPLACEMENT_ESCAPE = "\\ufffd"


class InvalidJson(ValueError):
    """The text is not JSON, is nested too deeply, or holds a number out of range."""


def _refuse(literal: str) -> None:
    raise InvalidJson(f"the number {literal[:20]} is out of range")


def _null(literal: str) -> None:
    return None


def _decoder(out_of_range: Callable[[str], None]) -> json.JSONDecoder:
    def real(literal: str) -> float | None:
        value = float(literal)
        return value if math.isfinite(value) else out_of_range(literal)

    def integer(literal: str) -> int | None:
        # Python refuses to read more than 4,300 digits (ValueError), long before this
        value = int(literal)
        return value if fits_int64(value) else out_of_range(literal)

    return json.JSONDecoder(parse_float=real, parse_int=integer, parse_constant=out_of_range)


# built once: json.loads with hooks would build a decoder per call (as long as the parse)
_STRICT = _decoder(_refuse)
_LENIENT = _decoder(_null)


def decode(data: bytes | str, *, invalid_numbers_as_null: bool = False) -> Any:
    """The value of a JSON document, every string encodable and every number in range."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):  # a byte order mark, which json.loads(bytes) also skips
        text = text[1:]
    if "\\u" in text:
        text = _without_lone_surrogate_escapes(text)
    try:
        return (_LENIENT if invalid_numbers_as_null else _STRICT).decode(text)
    except RecursionError:
        raise InvalidJson("the JSON is nested too deeply") from None
    except InvalidJson:
        raise
    except ValueError as exc:  # json.JSONDecodeError, and too many digits
        raise InvalidJson(str(exc)) from None


def _without_lone_surrogate_escapes(text: str) -> str:
    """JSON ``text`` with each escape of a lone surrogate replaced by that of U+FFFD.

    The text is rewritten rather than the decoded value walked: an escaped pair (every
    emoji Meta sends) costs a regex match, and only a lone half costs a copy."""
    lone: list[int] = []
    for match in _SURROGATE_ESCAPES.finditer(text):
        start = match.start()
        escaped = _escaped(text, start)
        if match.end() - start == _ESCAPE_LENGTH:
            if escaped:
                lone.append(start)
        elif not escaped:  # "\\uD83D" is text: the escape of the low half after it is alone
            lone.append(start + _ESCAPE_LENGTH)
    if not lone:
        return text
    parts = []
    last = 0
    for start in lone:
        parts.append(text[last:start])
        parts.append(_REPLACEMENT_ESCAPE)
        last = start + _ESCAPE_LENGTH
    parts.append(text[last:])
    return "".join(parts)


def _escaped(text: str, backslash: int) -> bool:
    """Whether the backslash at ``backslash`` starts an escape (it is not itself escaped:
    an even number of backslashes comes before it)."""
    before = backslash
    while before > 0 and text[before - 1] == "\\":
        before -= 1
    return (backslash - before) % 2 == 0
