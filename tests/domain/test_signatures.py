"""The rules of an agent's e-mail signature (backend/domain/signatures.py)."""

from __future__ import annotations

import pytest

from backend.domain.errors import InvalidField
from backend.domain.signatures import checked_signature, sign_off


def test_a_signature_is_kept_with_its_line_ends_and_blanks_tidied():
    assert checked_signature("\r\n  Ada  \r\nAcme\rSupport \n\n") == "  Ada\nAcme\nSupport"
    assert checked_signature(" \n\n ") is None
    assert checked_signature("") is None


@pytest.mark.parametrize("bad", ["a\x00b", "a\x7fb", "a\x85b", "a\u2029b", "\x1b[1mbold"])
def test_a_control_character_is_refused_by_its_code(bad: str):
    with pytest.raises(InvalidField) as refused:
        checked_signature(bad)
    assert refused.value.field == "signature"
    assert f"U+{ord(next(c for c in bad if not c.isprintable())):04X}" in refused.value.message


def test_the_limits_are_exactly_500_characters_and_8_lines():
    assert checked_signature("x" * 500) == "x" * 500
    assert checked_signature("\n".join("x" * 8)) == "\n".join("x" * 8)
    for bad in ("x" * 501, "\n".join("x" * 9)):
        with pytest.raises(InvalidField):
            checked_signature(bad)


def test_the_sign_off_fills_the_placeholders_once_or_falls_back_to_the_names():
    assert sign_off("{agent}\n{mailbox}", "Ada", "Acme") == "Ada\nAcme"
    # a name that itself reads "{mailbox}" is not filled in again
    assert sign_off("{agent} · {mailbox}", "{mailbox}", "Acme") == "{mailbox} · Acme"
    assert sign_off("{agent} of {mailbox}", None, None) == " of "
    assert sign_off(None, "Ada", "Acme Support") == "Ada\nAcme Support"
    assert sign_off(None, "Ada", None) == "Ada"
    assert sign_off("  ", None, "Acme") == "Acme"
