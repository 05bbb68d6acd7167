import pytest

from backend.domain.phones import is_bsuid, normalize_phone, possible_phone, region_of


@pytest.mark.parametrize(
    "raw",
    ["+34 612 34 56 78", "+34612345678", "0034 612 345 678", "0034612345678", "34612345678",
     "(+34) 612-34-56-78"],
)  # fmt: skip
def test_normalize_phone_accepts_international_forms(raw: str) -> None:
    assert normalize_phone(raw) == "+34612345678"


def test_normalize_phone_reads_a_national_number_with_a_default_region() -> None:
    assert normalize_phone("612 34 56 78", "ES") == "+34612345678"


def test_normalize_phone_needs_a_region_for_a_national_number() -> None:
    assert normalize_phone("612 34 56 78") is None


def test_normalize_phone_tries_bare_digits_as_international_first() -> None:
    assert normalize_phone("12025550123", "ES") == "+12025550123"


def test_normalize_phone_falls_back_to_region_for_trunk_prefixed_number() -> None:
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"


@pytest.mark.parametrize(
    "raw", ["", "   ", "abc", "+34 123", "0034", "+", "1" * 80, "+34 612 34 56 78 99 99"]
)
def test_normalize_phone_returns_none_for_invalid_input(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_normalize_phone_returns_none_for_non_string() -> None:
    assert normalize_phone(None) is None  # type: ignore[arg-type]


def test_region_of_a_spanish_mobile() -> None:
    assert region_of("+34612345678") == "ES"


def test_region_of_a_us_number() -> None:
    assert region_of("+12025550123") == "US"


@pytest.mark.parametrize("value", ["", "not a number", "+34123", "+80012345678"])
def test_region_of_returns_none_without_a_country(value: str) -> None:
    assert region_of(value) is None


@pytest.mark.parametrize(
    "value", ["US.13491208655302741918", "ES.1502576394655843", "US.ENT.118157992128868", "US.a"]
)
def test_is_bsuid_accepts_user_ids(value: str) -> None:
    assert is_bsuid(value)


@pytest.mark.parametrize(
    "value",
    ["34612345678", "+34612345678", "us.1349", "USA.1349", "US.", "US.13-49", "US.ENT.",
     "US." + "1" * 129, "ES.1502576394655843\n", None, 1234],
)  # fmt: skip
def test_is_bsuid_refuses_other_values(value: object) -> None:
    assert not is_bsuid(value)


def test_is_bsuid_accepts_128_characters() -> None:
    assert is_bsuid("US." + "1" * 128)


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("+44 7700 900555", "+447700900555"), ("0044 7700 900555", "+447700900555"),
     ("+34 612 34 56 78", "+34612345678")],
)  # fmt: skip
def test_possible_phone_keeps_a_number_the_library_does_not_know(raw: str, e164: str) -> None:
    assert possible_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", ["", "+", "+44 12", "7700 900555", "call me", "+44 7700 900555 555 555", None]
)
def test_possible_phone_refuses_what_cannot_be_a_number(raw: str) -> None:
    assert possible_phone(raw) is None  # type: ignore[arg-type]
