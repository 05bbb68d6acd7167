"""Opaque keyset cursors: the sort key of the last row of a page, base64-encoded JSON.

A cursor comes back from the client, so it is read as untrusted input: anything that is
not a key of the right length made of values SQLite can bind (text, numbers that fit,
null) is refused as one this server did not give out.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from backend.domain import json_input
from backend.domain.errors import InvalidField

# far longer than any key this server encodes (a few ids and timestamps)
MAX_CURSOR_LENGTH = 1024


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    refused = InvalidField("The cursor is not one this server gave out.", field="cursor")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json_input.decode(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):  # json_input.InvalidJson, non-ASCII text
        raise refused from None
    if not isinstance(key, list) or len(key) != arity:
        raise refused
    if not all(part is None or isinstance(part, str | int | float) for part in key):
        raise refused
    return key
