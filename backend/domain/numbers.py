"""Integers from outside must fit where they are kept: SQLite's INTEGER is 64 bits, and a
larger Python int cannot even be bound as a parameter (OverflowError)."""

from __future__ import annotations

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def fits_int64(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def positive_id(text: str) -> int | None:
    """``text`` as a row id (decimal digits, 1 to INT64_MAX), or None."""
    text = text.strip()
    if not text.isdecimal() or len(text) > 19:  # int() reads no more than 4,300 digits
        return None
    value = int(text)
    return value if 0 < value <= INT64_MAX else None
