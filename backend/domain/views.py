"""View filters (SPEC §7): validated and normalised here, so the store only maps
property → column and operator → SQL.

Operators the store receives: the public OPERATORS, plus `before_or_unknown`
(column IS NULL OR column <= value), the exact complement of `after` (column > value).
`before` is column < value. `is_any_of` with a bool matches the property being true/false.
`within` (session expires within N hours) becomes after now AND before now + N hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, NamedTuple

from backend.domain.errors import InvalidField
from backend.domain.numbers import INT64_MAX, positive_id
from backend.domain.tickets import TicketPriority, TicketStatus

PropertyKind = Literal["enum", "text", "datetime", "agent", "bool", "hours", "count"]

IS_ANY_OF = "is_any_of"
IS_NONE_OF = "is_none_of"
IS_KNOWN = "is_known"
IS_UNKNOWN = "is_unknown"
CONTAINS = "contains"
BEFORE = "before"
AFTER = "after"
WITHIN = "within"
AT_LEAST = "at_least"  # a count or a number of seconds: column >= value
AT_MOST = "at_most"  # column <= value (an unknown one, e.g. no response yet, is neither)
BEFORE_OR_UNKNOWN = "before_or_unknown"
OPERATORS: tuple[str, ...] = (
    IS_ANY_OF,
    IS_NONE_OF,
    IS_KNOWN,
    IS_UNKNOWN,
    CONTAINS,
    BEFORE,
    AFTER,
    WITHIN,
    AT_LEAST,
    AT_MOST,
)

MAX_FILTERS = 20
MAX_VALUES = 100
MAX_TEXT_LENGTH = 200
SESSION_HOURS = 24  # a customer service window: "expires within" more than that is "open"
ME = "me"


@dataclass(frozen=True, slots=True)
class PropertySpec:
    name: str
    label: str
    kind: PropertyKind
    operators: tuple[str, ...]
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    property: str
    operator: str
    values: tuple[Any, ...] = ()


_ENUM_OPERATORS = (IS_ANY_OF, IS_NONE_OF, IS_KNOWN, IS_UNKNOWN)
_TEXT_OPERATORS = (CONTAINS, IS_ANY_OF, IS_NONE_OF, IS_KNOWN, IS_UNKNOWN)
_DATETIME_OPERATORS = (BEFORE, AFTER, IS_KNOWN, IS_UNKNOWN)
_COUNT_OPERATORS = (AT_LEAST, AT_MOST)
_SECONDS_OPERATORS = (AT_LEAST, AT_MOST, IS_KNOWN, IS_UNKNOWN)

PROPERTIES: dict[str, PropertySpec] = {
    spec.name: spec
    for spec in (
        PropertySpec(
            "original_channel_type",
            "Original channel type",
            "enum",
            _ENUM_OPERATORS,
            ("WHATSAPP", "EMAIL"),
        ),
        # the thread's channel: a ticket's WhatsApp and e-mail threads are told apart
        PropertySpec("channel_type", "Channel", "enum", _ENUM_OPERATORS, ("WHATSAPP", "EMAIL")),
        PropertySpec(
            "status", "Status", "enum", _ENUM_OPERATORS, tuple(s.value for s in TicketStatus)
        ),
        PropertySpec(
            "priority", "Priority", "enum", _ENUM_OPERATORS, tuple(p.value for p in TicketPriority)
        ),
        PropertySpec("owner", "Owner", "agent", _ENUM_OPERATORS),
        PropertySpec("business_number", "Business number", "text", _TEXT_OPERATORS),
        PropertySpec(
            "session_state", "Session state", "enum", (IS_ANY_OF, IS_NONE_OF), ("open", "expired")
        ),
        PropertySpec("session_expires", "Session expires", "hours", (WITHIN,)),
        PropertySpec("unread", "Unread", "bool", (IS_ANY_OF, IS_NONE_OF), ("true", "false")),
        PropertySpec("snoozed", "Snoozed", "bool", (IS_ANY_OF, IS_NONE_OF), ("true", "false")),
        PropertySpec(
            "from_ad", "Came from an ad", "bool", (IS_ANY_OF, IS_NONE_OF), ("true", "false")
        ),
        PropertySpec("last_message_at", "Last message time", "datetime", _DATETIME_OPERATORS),
        PropertySpec(
            "last_message_direction",
            "Last message direction",
            "enum",
            (IS_ANY_OF, IS_NONE_OF),
            ("in", "out"),
        ),
        PropertySpec("subject", "Subject", "text", _TEXT_OPERATORS),
        PropertySpec("contact_name", "Contact name", "text", _TEXT_OPERATORS),
        PropertySpec(
            "first_response_seconds", "First response (seconds)", "count", _SECONDS_OPERATORS
        ),
        PropertySpec("resolution_seconds", "Resolution (seconds)", "count", _SECONDS_OPERATORS),
        PropertySpec("inbound_count", "Messages in", "count", _COUNT_OPERATORS),
        PropertySpec("outbound_count", "Messages out", "count", _COUNT_OPERATORS),
        PropertySpec("billable_messages", "Billable messages", "count", _COUNT_OPERATORS),
    )
}


class BuiltinView(NamedTuple):
    key: str
    name: str
    filters: tuple[dict[str, Any], ...]


def _not_closed() -> dict[str, Any]:
    return {"property": "status", "operator": IS_NONE_OF, "values": ["closed"]}


def _not_snoozed() -> dict[str, Any]:
    """A snoozed ticket leaves the open views until it wakes (it comes back by itself)."""
    return {"property": "snoozed", "operator": IS_NONE_OF, "values": ["true"]}


BUILTIN_VIEWS: tuple[BuiltinView, ...] = (
    BuiltinView("all_open", "All open", (_not_closed(), _not_snoozed())),
    BuiltinView(
        "assigned_to_me",
        "Assigned to me",
        (
            {"property": "owner", "operator": IS_ANY_OF, "values": [ME]},
            _not_closed(),
            _not_snoozed(),
        ),
    ),
    BuiltinView(
        "unassigned",
        "Unassigned",
        (
            {"property": "owner", "operator": IS_UNKNOWN, "values": []},
            _not_closed(),
            _not_snoozed(),
        ),
    ),
    BuiltinView(
        "sent",
        "Sent",
        ({"property": "last_message_direction", "operator": IS_ANY_OF, "values": ["out"]},),
    ),
    BuiltinView(
        "all_closed",
        "All closed",
        ({"property": "status", "operator": IS_ANY_OF, "values": ["closed"]},),
    ),
)

_TRUE_WORDS = frozenset({"true", "yes", "1"})
_FALSE_WORDS = frozenset({"false", "no", "0"})


def _key(value: object) -> str:
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _read_filter(raw: object, index: int) -> tuple[object, object, object]:
    if isinstance(raw, Mapping):
        return raw.get("property"), raw.get("operator"), raw.get("values", ())
    if all(hasattr(raw, name) for name in ("property", "operator")):
        return raw.property, raw.operator, getattr(raw, "values", ())  # type: ignore[attr-defined]
    raise InvalidField(
        "Each filter needs a property, an operator and values.", field=f"filters[{index}]"
    )


def compile_filters(
    filters: Iterable[Mapping[str, Any] | Any] | None, *, me: int, now: datetime
) -> list[Condition]:
    """Validate and normalise a view's filters into conditions on store columns."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    items = list(filters or ())
    if len(items) > MAX_FILTERS:
        raise InvalidField(f"A view may have at most {MAX_FILTERS} filters.", field="filters")
    conditions: list[Condition] = []
    for index, raw in enumerate(items):
        conditions.extend(_compile_one(raw, index, me=me, now=now))
    return conditions


def _compile_one(raw: object, index: int, *, me: int, now: datetime) -> list[Condition]:
    raw_property, raw_operator, raw_values = _read_filter(raw, index)
    where = f"filters[{index}]"

    spec = PROPERTIES.get(_key(raw_property)) if isinstance(raw_property, str) else None
    if spec is None:
        known = ", ".join(PROPERTIES)
        raise InvalidField(
            f"{_short(raw_property)} is not a property a view can filter on; use one of {known}.",
            field=f"{where}.property",
        )
    operator = _key(raw_operator) if isinstance(raw_operator, str) else None
    if operator not in spec.operators:
        allowed = ", ".join(spec.operators)
        raise InvalidField(
            f"{_short(raw_operator)} is not an operator for {spec.label.lower()}; "
            f"use one of {allowed}.",
            field=f"{where}.operator",
        )
    values = _read_values(raw_values, spec, operator, field=f"{where}.values")
    if operator in (IS_KNOWN, IS_UNKNOWN):
        return [Condition(spec.name, operator)]

    normalise = _NORMALISERS[spec.kind]
    normalised = _unique(
        normalise(spec, value, operator, me, f"{where}.values[{i}]")
        for i, value in enumerate(values)
    )
    if spec.name == "session_state":
        return _session_conditions(operator, normalised, now)
    if spec.name == "session_expires":
        (hours,) = normalised
        return [
            Condition("session_expires_at", AFTER, (now,)),
            Condition("session_expires_at", BEFORE, (now + timedelta(hours=hours),)),
        ]
    return [Condition(spec.name, operator, normalised)]


def _read_values(raw: object, spec: PropertySpec, operator: str, *, field: str) -> tuple[Any, ...]:
    if raw is None:
        raw = ()
    if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
        raise InvalidField("Values must be a list.", field=field)
    values = tuple(raw)
    if operator in (IS_KNOWN, IS_UNKNOWN):
        if values:
            raise InvalidField(f"{operator.replace('_', ' ')} takes no values.", field=field)
    elif operator in (CONTAINS, BEFORE, AFTER, WITHIN, AT_LEAST, AT_MOST):
        if len(values) != 1:
            raise InvalidField(
                f"{operator.replace('_', ' ')} takes exactly one value.", field=field
            )
    elif not values:
        raise InvalidField(
            f"{operator.replace('_', ' ')} needs at least one value for {spec.label.lower()}.",
            field=field,
        )
    elif len(values) > MAX_VALUES:
        raise InvalidField(f"A filter may list at most {MAX_VALUES} values.", field=field)
    return values


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def _enum_value(spec: PropertySpec, value: object, operator: str, me: int, field: str) -> str:
    if isinstance(value, str):
        wanted = _key(value)
        for allowed in spec.values:
            if _key(allowed) == wanted:
                return allowed
    raise InvalidField(
        f"{_short(value)} is not a value of {spec.label.lower()}; use one of {', '.join(spec.values)}.",
        field=field,
    )


def _agent_value(spec: PropertySpec, value: object, operator: str, me: int, field: str) -> int:
    if isinstance(value, str) and value.strip().lower() == ME:
        return me
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT64_MAX:
        return value
    agent_id = positive_id(value) if isinstance(value, str) else None
    if agent_id is not None:
        return agent_id
    raise InvalidField(f'{_short(value)} is not an agent id or "me".', field=field)


def _text_value(spec: PropertySpec, value: object, operator: str, me: int, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidField(f"{spec.label} needs some text to compare with.", field=field)
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidField(
            f"Text to compare with is limited to {MAX_TEXT_LENGTH} characters.", field=field
        )
    return text


def _bool_value(spec: PropertySpec, value: object, operator: str, me: int, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise InvalidField(f"{_short(value)} is not true or false.", field=field)


def _datetime_value(
    spec: PropertySpec, value: object, operator: str, me: int, field: str
) -> datetime:
    """An aware UTC datetime. A bare date stands for the whole day: before its start, after its end."""
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = _day_edge(value, operator)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:
                moment = _day_edge(date.fromisoformat(text), operator)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            moment = None
    if moment is None:
        raise InvalidField(
            f"{_short(value)} is not a date (2025-01-31) or a date and time (2025-01-31T09:30:00Z).",
            field=field,
        )
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _day_edge(day: date, operator: str) -> datetime:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    if operator == AFTER:
        return start + timedelta(days=1) - timedelta(microseconds=1)
    return start


def _hours_value(spec: PropertySpec, value: object, operator: str, me: int, field: str) -> float:
    """A number of hours, more than 0 and at most a session's 24 ("4", 4, "1.5")."""
    hours: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        hours = float(value)
    elif isinstance(value, str):
        try:
            hours = float(value.strip().lower().removesuffix("h").strip())
        except ValueError:
            hours = None
    if hours is None or not 0 < hours <= SESSION_HOURS:
        raise InvalidField(
            f"{_short(value)} is not a number of hours from more than 0 to {SESSION_HOURS}.",
            field=field,
        )
    return hours


def _count_value(spec: PropertySpec, value: object, operator: str, me: int, field: str) -> int:
    """A whole number from 0 (a count, or seconds): 3, "3"."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= INT64_MAX:
        raise InvalidField(f"{_short(value)} is not a whole number from 0.", field=field)
    return number


_NORMALISERS = {
    "enum": _enum_value,
    "agent": _agent_value,
    "text": _text_value,
    "bool": _bool_value,
    "datetime": _datetime_value,
    "hours": _hours_value,
    "count": _count_value,
}


def _session_conditions(operator: str, states: tuple[str, ...], now: datetime) -> list[Condition]:
    wanted = set(states) if operator == IS_ANY_OF else {"open", "expired"} - set(states)
    if wanted == {"open", "expired"}:
        return []
    if wanted == {"open"}:
        return [Condition("session_expires_at", AFTER, (now,))]
    if wanted == {"expired"}:
        return [Condition("session_expires_at", BEFORE_OR_UNKNOWN, (now,))]
    # "is none of open, expired" matches no thread at all.
    return [Condition("session_expires_at", IS_ANY_OF, ())]
