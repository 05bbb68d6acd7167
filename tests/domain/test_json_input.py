"""Untrusted JSON: every decoded string is encodable, every number fits where it is kept."""

from __future__ import annotations

import pytest

from backend.domain.json_input import InvalidJson, decode

R = "\ufffd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'["\ud83d\ude00"]', ["😀"]),  # a pair, as Meta escapes an emoji
        (r'["\uD83D\uDE00", "\uDBFF"]', ["😀", R]),
        (r'["a\ud83db"]', [f"a{R}b"]),
        (r'["\ude00\ud83d"]', [R + R]),  # halves in the wrong order
        (r'["\ud83d\ud83d\ude00"]', [f"{R}😀"]),
        (r'{"\udc00": 1}', {R: 1}),  # keys too
        (r'["\\ud83d"]', ["\\ud83d"]),  # an escaped backslash: text, not an escape
        (r'["\\\ud83d"]', [f"\\{R}"]),
        (r'["\ud83d\\ude00"]', [f"{R}\\ude00"]),
        (r'["\\ud83d\ude00"]', [f"\\ud83d{R}"]),
        (r'["\\\\ud83d\ude00"]', [f"\\\\ud83d{R}"]),
    ],
)
def test_lone_surrogate_escapes_become_the_replacement_character(text, expected):
    decoded = decode(text.encode("ascii"))
    assert decoded == expected
    str(decoded).encode("utf-8")


def test_bytes_that_are_not_utf8_are_replaced_and_a_bom_is_skipped():
    assert decode(b'["a\xed\xa0\xbdb"]') == [f"a{R}{R}{R}b"]  # UTF-8 of U+D83D, forbidden
    assert decode(b"\xef\xbb\xbf[1]") == [1]


@pytest.mark.parametrize(
    "text",
    [b"NaN", b"[Infinity]", b"[-Infinity]", b"[1e999]", b"[9223372036854775808]",
     b"[-9223372036854775809]", b"[" + b"1" * 5000 + b"]", b"[" * 100_000, b"{", b""],
)  # fmt: skip
def test_numbers_out_of_range_nesting_and_broken_json_are_refused(text):
    with pytest.raises(InvalidJson):
        decode(text)


def test_a_webhook_reads_a_number_out_of_range_as_missing():
    decoded = decode(
        b'{"n": NaN, "i": Infinity, "f": 1e999, "big": 99999999999999999999,'
        b' "ok": [9223372036854775807, -9223372036854775808, 2.5, 1e308]}',
        invalid_numbers_as_null=True,
    )
    assert decoded == {
        "n": None,
        "i": None,
        "f": None,
        "big": None,
        "ok": [9223372036854775807, -9223372036854775808, 2.5, 1e308],
    }
