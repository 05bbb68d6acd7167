"""Opaque keyset cursors: the sort key of the last row of a page, base64-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from backend.domain.errors import InvalidField


def encode_cursor(*key: Any) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidField("The cursor is not one this server gave out.", field="cursor") from None
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidField("The cursor is not one this server gave out.", field="cursor")
    return key
