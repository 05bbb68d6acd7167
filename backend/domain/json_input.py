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
from typing import Any

from backend.domain.numbers import fits_int64

# the escape of a surrogate; the only way one gets into decoded JSON from UTF-8 text
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidJson(ValueError):
    """The text is not JSON, is nested too deeply, or holds a number out of range."""


def encodable(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (a valid pair is joined)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def decode(data: bytes | str, *, invalid_numbers_as_null: bool = False) -> Any:
    """The value of a JSON document, every string encodable and every number in range."""
    text = data.decode("utf-8-sig", "replace") if isinstance(data, bytes) else data

    def out_of_range(literal: str) -> None:
        if invalid_numbers_as_null:
            return None
        raise InvalidJson(f"the number {literal[:20]} is out of range")

    def real(literal: str) -> float | None:
        value = float(literal)
        return value if math.isfinite(value) else out_of_range(literal)

    def integer(literal: str) -> int | None:
        # Python refuses to read more than 4,300 digits (ValueError), long before this
        value = int(literal)
        return value if fits_int64(value) else out_of_range(literal)

    try:
        value = json.loads(text, parse_float=real, parse_int=integer, parse_constant=out_of_range)
    except RecursionError:
        raise InvalidJson("the JSON is nested too deeply") from None
    except InvalidJson:
        raise
    except ValueError as exc:  # json.JSONDecodeError, and too many digits
        raise InvalidJson(str(exc)) from None
    if _SURROGATE_ESCAPE.search(text) is not None:
        value = _encodable_strings(value)
    return value


def _encodable_strings(value: Any) -> Any:
    """``value`` with every string (keys too) made ``encodable``; iterative, since the
    value may be nested as deeply as the parser allows."""
    if isinstance(value, str):
        return encodable(value)
    root = [value]
    pending: list[tuple[list[Any] | dict[str, Any], Any]] = [(root, 0)]
    while pending:
        container, key = pending.pop()
        item = container[key]  # type: ignore[index]
        if isinstance(item, str):
            container[key] = encodable(item)  # type: ignore[index]
        elif isinstance(item, list):
            pending.extend((item, index) for index in range(len(item)))
        elif isinstance(item, dict):
            fixed = {encodable(name): entry for name, entry in item.items()}
            container[key] = fixed  # type: ignore[index]
            pending.extend((fixed, name) for name in fixed)
    return root[0]
