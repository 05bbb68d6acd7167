from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest

from backend.domain.errors import InvalidField
from backend.domain.views import (
    BUILTIN_VIEWS,
    OPERATORS,
    PROPERTIES,
    Condition,
    compile_filters,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ME = 7


def compile_one(
    property_name: str, operator: str, values: list[object] | None = None
) -> list[Condition]:
    raw = {"property": property_name, "operator": operator, "values": values or []}
    return compile_filters([raw], me=ME, now=NOW)


def invalid(filters: list[object]) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        compile_filters(filters, me=ME, now=NOW)  # type: ignore[arg-type]
    return caught.value


def test_operators() -> None:
    assert OPERATORS == (
        "is_any_of",
        "is_none_of",
        "is_known",
        "is_unknown",
        "contains",
        "before",
        "after",
        "within",
        "at_least",
        "at_most",
    )


def test_catalogue_lists_the_spec_properties() -> None:
    assert {
        "original_channel_type", "status", "priority", "owner", "business_number", "session_state",
        "unread", "last_message_at", "last_message_direction", "subject", "contact_name",
    } <= PROPERTIES.keys()  # fmt: skip


def test_catalogue_entries_use_known_operators() -> None:
    for spec in PROPERTIES.values():
        assert set(spec.operators) <= set(OPERATORS), spec.name


def test_no_filters_compile_to_no_conditions() -> None:
    assert compile_filters([], me=ME, now=NOW) == []


def test_the_whatsapp_view_normalises_the_channel_type() -> None:
    assert compile_one("original_channel_type", "is_any_of", ["WhatsApp"]) == [
        Condition("original_channel_type", "is_any_of", ("WHATSAPP",))
    ]


def test_labels_are_accepted_for_property_and_operator() -> None:
    assert compile_one("Original channel type", "is any of", ["whatsapp"]) == [
        Condition("original_channel_type", "is_any_of", ("WHATSAPP",))
    ]


def test_unknown_channel_type_is_refused() -> None:
    error = invalid(
        [{"property": "original_channel_type", "operator": "is_any_of", "values": ["SMS"]}]
    )
    assert error.field == "filters[0].values[0]"
    assert "WHATSAPP" in error.message


def test_status_values_are_normalised_and_deduplicated() -> None:
    assert compile_one("status", "is_none_of", ["Closed", "closed", "Waiting on us"]) == [
        Condition("status", "is_none_of", ("closed", "waiting_on_us"))
    ]


def test_unknown_property_is_refused_naming_its_index() -> None:
    good = {"property": "status", "operator": "is_any_of", "values": ["new"]}
    error = invalid([good, {"property": "colour", "operator": "is_any_of", "values": ["red"]}])
    assert error.field == "filters[1].property"
    assert "colour" in error.message


def test_operator_not_allowed_for_the_property_is_refused() -> None:
    error = invalid([{"property": "status", "operator": "before", "values": ["new"]}])
    assert error.field == "filters[0].operator"


def test_unknown_operator_is_refused() -> None:
    error = invalid([{"property": "status", "operator": "equals", "values": ["new"]}])
    assert error.field == "filters[0].operator"


def test_is_any_of_needs_values() -> None:
    error = invalid([{"property": "status", "operator": "is_any_of", "values": []}])
    assert error.field == "filters[0].values"


def test_is_known_takes_no_values() -> None:
    error = invalid([{"property": "owner", "operator": "is_known", "values": ["1"]}])
    assert error.field == "filters[0].values"


def test_values_must_be_a_list() -> None:
    error = invalid([{"property": "status", "operator": "is_any_of", "values": "new"}])
    assert error.field == "filters[0].values"


def test_a_filter_that_is_not_an_object_is_refused() -> None:
    assert invalid(["status=new"]).field == "filters[0]"


def test_too_many_filters_are_refused() -> None:
    many = [{"property": "status", "operator": "is_known"}] * 21
    assert invalid(many).field == "filters"


def test_owner_me_becomes_the_agent_id() -> None:
    assert compile_one("owner", "is_any_of", ["me", "3", 4]) == [
        Condition("owner", "is_any_of", (ME, 3, 4))
    ]


def test_owner_is_unknown_means_unassigned() -> None:
    assert compile_one("owner", "is_unknown") == [Condition("owner", "is_unknown", ())]


@pytest.mark.parametrize("value", ["bob", "-1", 0, True, None])
def test_owner_refuses_values_that_are_not_agent_ids(value: object) -> None:
    error = invalid([{"property": "owner", "operator": "is_any_of", "values": [value]}])
    assert error.field == "filters[0].values[0]"


def test_open_session_becomes_expiry_after_now() -> None:
    assert compile_one("session_state", "is_any_of", ["open"]) == [
        Condition("session_expires_at", "after", (NOW,))
    ]


def test_expired_session_becomes_expiry_before_now_or_unknown() -> None:
    assert compile_one("session_state", "is_any_of", ["Expired"]) == [
        Condition("session_expires_at", "before_or_unknown", (NOW,))
    ]


def test_session_state_none_of_open_is_expired() -> None:
    assert compile_one("session_state", "is_none_of", ["open"]) == [
        Condition("session_expires_at", "before_or_unknown", (NOW,))
    ]


def test_session_state_any_of_both_matches_everything() -> None:
    assert compile_one("session_state", "is_any_of", ["open", "expired"]) == []


def test_session_state_none_of_both_matches_nothing() -> None:
    assert compile_one("session_state", "is_none_of", ["open", "expired"]) == [
        Condition("session_expires_at", "is_any_of", ())
    ]


def test_unknown_session_state_is_refused() -> None:
    error = invalid([{"property": "session_state", "operator": "is_any_of", "values": ["closing"]}])
    assert error.field == "filters[0].values[0]"


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("No", False), (True, True)])
def test_unread_values_become_booleans(value: object, expected: bool) -> None:
    assert compile_one("unread", "is_any_of", [value]) == [
        Condition("unread", "is_any_of", (expected,))
    ]


def test_unread_refuses_other_values() -> None:
    error = invalid([{"property": "unread", "operator": "is_any_of", "values": ["maybe"]}])
    assert error.field == "filters[0].values[0]"


def test_datetime_with_offset_becomes_utc() -> None:
    [condition] = compile_one("last_message_at", "before", ["2025-05-01T10:00:00+02:00"])
    assert condition.values == (datetime(2025, 5, 1, 8, 0, tzinfo=UTC),)


def test_datetime_with_z_suffix_is_read() -> None:
    [condition] = compile_one("last_message_at", "after", ["2025-05-01T10:00:00Z"])
    assert condition.values == (datetime(2025, 5, 1, 10, 0, tzinfo=UTC),)


def test_naive_datetime_is_taken_as_utc() -> None:
    [condition] = compile_one("last_message_at", "after", ["2025-05-01T10:00:00"])
    assert condition.values[0].tzinfo == UTC


def test_date_before_means_before_the_day_starts() -> None:
    [condition] = compile_one("last_message_at", "before", ["2025-05-01"])
    assert condition.values == (datetime(2025, 5, 1, tzinfo=UTC),)


def test_date_after_means_after_the_day_ends() -> None:
    [condition] = compile_one("last_message_at", "after", ["2025-05-01"])
    assert condition.values == (datetime(2025, 5, 2, tzinfo=UTC) - timedelta(microseconds=1),)


def test_datetime_objects_are_accepted() -> None:
    moment = datetime(2025, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    [condition] = compile_one("last_message_at", "before", [moment])  # type: ignore[list-item]
    assert condition.values == (datetime(2025, 5, 1, 17, 0, tzinfo=UTC),)


@pytest.mark.parametrize("value", ["yesterday", "2025-13-01", "", 20250501])
def test_bad_dates_are_refused(value: object) -> None:
    error = invalid([{"property": "last_message_at", "operator": "before", "values": [value]}])
    assert error.field == "filters[0].values[0]"


def test_before_takes_exactly_one_value() -> None:
    error = invalid(
        [
            {
                "property": "last_message_at",
                "operator": "before",
                "values": ["2025-01-01", "2025-02-01"],
            }
        ]
    )
    assert error.field == "filters[0].values"


def test_contains_keeps_the_text_stripped() -> None:
    assert compile_one("subject", "contains", ["  refund "]) == [
        Condition("subject", "contains", ("refund",))
    ]


def test_contains_refuses_blank_text() -> None:
    error = invalid([{"property": "contact_name", "operator": "contains", "values": ["   "]}])
    assert error.field == "filters[0].values[0]"


def test_contains_refuses_text_that_is_too_long() -> None:
    error = invalid([{"property": "subject", "operator": "contains", "values": ["x" * 201]}])
    assert error.field == "filters[0].values[0]"


def test_condition_like_objects_are_accepted() -> None:
    @dataclass
    class Filter:
        property: str
        operator: str
        values: list[str]

    assert compile_filters([Filter("priority", "is_any_of", ["HIGH"])], me=ME, now=NOW) == [
        Condition("priority", "is_any_of", ("high",))
    ]


def test_compile_filters_refuses_naive_now() -> None:
    with pytest.raises(ValueError):
        compile_filters([], me=ME, now=datetime(2025, 1, 1))


def test_builtin_views_in_order() -> None:
    assert [(v.key, v.name) for v in BUILTIN_VIEWS] == [
        ("all_open", "All open"),
        ("assigned_to_me", "Assigned to me"),
        ("unassigned", "Unassigned"),
        ("sent", "Sent"),
        ("all_closed", "All closed"),
    ]


def test_builtin_views_unpack_as_triples() -> None:
    key, name, filters = BUILTIN_VIEWS[0]
    assert (key, name) == ("all_open", "All open")
    assert filters


def test_builtin_assigned_to_me_compiles_for_the_agent() -> None:
    view = BUILTIN_VIEWS[1]
    assert compile_filters(list(view.filters), me=ME, now=NOW) == [
        Condition("owner", "is_any_of", (ME,)),
        Condition("status", "is_none_of", ("closed",)),
        Condition("snoozed", "is_none_of", (True,)),
    ]


def test_builtin_unassigned_compiles() -> None:
    assert compile_filters(list(BUILTIN_VIEWS[2].filters), me=ME, now=NOW) == [
        Condition("owner", "is_unknown", ()),
        Condition("status", "is_none_of", ("closed",)),
        Condition("snoozed", "is_none_of", (True,)),
    ]


def test_builtin_sent_filters_on_the_last_message_direction() -> None:
    assert compile_filters(list(BUILTIN_VIEWS[3].filters), me=ME, now=NOW) == [
        Condition("last_message_direction", "is_any_of", ("out",))
    ]


def test_builtin_all_closed_compiles() -> None:
    assert compile_filters(list(BUILTIN_VIEWS[4].filters), me=ME, now=NOW) == [
        Condition("status", "is_any_of", ("closed",))
    ]


def test_session_expires_within_hours_is_open_and_ending_before_then() -> None:
    assert compile_one("session_expires", "within", ["4"]) == [
        Condition("session_expires_at", "after", (NOW,)),
        Condition("session_expires_at", "before", (NOW + timedelta(hours=4),)),
    ]
    assert compile_one("session_expires", "within", [1.5])[1] == Condition(
        "session_expires_at", "before", (NOW + timedelta(minutes=90),)
    )
    assert compile_one("session_expires", "within", ["24h"])[1].values == (
        NOW + timedelta(hours=24),
    )


@pytest.mark.parametrize("value", ["0", "-2", "25", "soon", "nan", True, None])
def test_session_expires_within_needs_hours_of_a_session(value: object) -> None:
    error = invalid([{"property": "session_expires", "operator": "within", "values": [value]}])
    assert error.field == "filters[0].values[0]"
    assert "hours" in error.message


def test_session_expires_takes_one_value_and_only_within() -> None:
    two = invalid([{"property": "session_expires", "operator": "within", "values": ["1", "2"]}])
    assert two.field == "filters[0].values"
    other = invalid([{"property": "session_expires", "operator": "before", "values": ["1"]}])
    assert other.field == "filters[0].operator"


def test_the_channel_filters_name_email_beside_whatsapp() -> None:
    assert compile_one("channel_type", "is_any_of", ["Email"]) == [
        Condition("channel_type", "is_any_of", ("EMAIL",))
    ]
    assert compile_one("original_channel_type", "is_none_of", ["email", "whatsapp"]) == [
        Condition("original_channel_type", "is_none_of", ("EMAIL", "WHATSAPP"))
    ]
