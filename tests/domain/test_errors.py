from datetime import date

import pytest

from backend.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidField,
    LimitReached,
    Malformed,
    NotFound,
    SessionExpired,
    Upstream,
    UpstreamTimeout,
    UsageLimitReached,
)


@pytest.mark.parametrize(
    ("error_class", "status"),
    [
        (Malformed, 400),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (InvalidField, 422),
        (LimitReached, 429),
        (Upstream, 502),
        (UpstreamTimeout, 504),
        (SessionExpired, 409),
        (UsageLimitReached, 429),
    ],
)
def test_each_error_class_carries_its_http_status(
    error_class: type[DomainError], status: int
) -> None:
    assert issubclass(error_class, DomainError)
    assert error_class.status == status


def test_error_keeps_code_message_and_field() -> None:
    error = NotFound("No thread 42.", code="thread_not_found", field="thread_id")
    assert (error.code, error.message, error.field) == (
        "thread_not_found",
        "No thread 42.",
        "thread_id",
    )
    assert str(error) == "No thread 42."


def test_error_has_default_code_and_message() -> None:
    error = Forbidden()
    assert error.code == "forbidden"
    assert error.message.endswith(".")
    assert error.field is None


def test_to_dict_leaves_out_an_absent_field() -> None:
    assert Conflict("Already closed.").to_dict() == {
        "code": "conflict",
        "message": "Already closed.",
    }


def test_to_dict_includes_the_field() -> None:
    body = InvalidField("Too long.", field="subject").to_dict()
    assert body == {"code": "invalid_field", "message": "Too long.", "field": "subject"}


def test_invalid_field_requires_a_field() -> None:
    with pytest.raises(ValueError):
        InvalidField("Bad.", field="")


def test_session_expired_tells_the_agent_to_send_a_template() -> None:
    error = SessionExpired()
    assert error.code == "session_expired"
    assert "template" in error.message
    assert isinstance(error, Conflict)


def test_usage_limit_reached_names_the_reset_date() -> None:
    error = UsageLimitReached(date(2025, 3, 28), limit=1000)
    assert error.code == "usage_limit_reached"
    assert error.resets_on == date(2025, 3, 28)
    assert "2025-03-28" in error.message
    assert "1,000" in error.message
    assert isinstance(error, LimitReached)


def test_upstream_timeout_is_an_upstream_error() -> None:
    assert isinstance(UpstreamTimeout(), Upstream)
    assert UpstreamTimeout().code == "upstream_timeout"
