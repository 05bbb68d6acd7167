"""Phone numbers and WhatsApp identities."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber

# Longer than any phone number anyone types, separators included.
_MAX_RAW_LENGTH = 64
_SEPARATORS = re.compile(r"[\s().\-/]")
_BSUID = re.compile(r"[A-Z]{2}\.(?:ENT\.)?[A-Za-z0-9]{1,128}")


def _parse_valid(text: str, region: str | None) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize_phone(raw: str, default_region: str | None = None) -> str | None:
    """E.164 form of `raw` ("+34612345678"), or None when it is not a valid number.

    Digits without a plus (a WhatsApp wa_id such as "34612345678") are tried as an
    international number first, then as a national number of `default_region`.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    text = raw.strip()
    if not text:
        return None
    compact = _SEPARATORS.sub("", text)
    number: PhoneNumber | None = None
    if compact.startswith("+"):
        number = _parse_valid(compact, None)
    elif compact.startswith("00") and compact.isdigit():
        number = _parse_valid("+" + compact[2:], None)
    elif compact.isdigit():
        number = _parse_valid("+" + compact, None)
    if number is None and default_region and not compact.startswith("+"):
        number = _parse_valid(text, default_region.upper())
    if number is None:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def possible_phone(raw: str) -> str | None:
    """E.164 form of `raw` written with its country code ("+44 7700 900555", "0044…")
    when it *can* be a phone number (its length fits its country), whether or not the
    phone library knows its range: a range allocated after the library's metadata is
    still someone's number (WhatsApp's ids are the authority, SPEC §3). None when it
    cannot be one. Try ``normalize_phone`` first: this says nothing of validity."""
    if not isinstance(raw, str) or len(raw) > _MAX_RAW_LENGTH:
        return None
    compact = _SEPARATORS.sub("", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.startswith("+") or not compact[1:].isdigit():
        return None
    try:
        number = phonenumbers.parse(compact, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_of(e164: str) -> str | None:
    """The ISO country code of a number ("ES"), or None when it has none."""
    if not isinstance(e164, str) or len(e164) > _MAX_RAW_LENGTH:
        return None
    number = _parse_valid(e164.strip(), None)
    if number is None:
        return None
    region = phonenumbers.region_code_for_number(number)
    # "001" marks non-geographic numbers (e.g. +800), "ZZ" an unknown region.
    if not region or region in ("001", "ZZ"):
        return None
    return region


def is_bsuid(value: object) -> bool:
    """Whether `value` is a business-scoped user id: "US.1349…" or the parent form "US.ENT.…"."""
    return isinstance(value, str) and _BSUID.fullmatch(value) is not None
