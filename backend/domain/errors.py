"""Domain errors. The API maps each to an HTTP status in one place, via `status`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar


class DomainError(Exception):
    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "domain_error"
    default_message: ClassVar[str] = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field: str | None = None,
    ) -> None:
        self.code: str = code or self.default_code
        self.message: str = message or self.default_message
        self.field: str | None = field
        super().__init__(self.message)

    def to_dict(self) -> dict[str, str | int]:
        """The body of the API's error envelope: {"error": to_dict()}."""
        body: dict[str, str | int] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, field={self.field!r})"


class Malformed(DomainError):
    status = 400
    default_code = "malformed"
    default_message = "The request could not be read."


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    status = 404
    default_code = "not_found"
    default_message = "That was not found."


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
    default_message = "That cannot be done in the current state."


class DraftOutdated(Conflict):
    """A draft save not newer than a send or the draft kept; it names the newest revision
    so that a client whose clock is behind another terminal's can save past it."""

    default_code = "draft_outdated"

    def __init__(self, message: str, *, newest_revision: int) -> None:
        super().__init__(message)
        self.newest_revision = newest_revision

    def to_dict(self) -> dict[str, str | int]:
        return {**super().to_dict(), "newest_revision": self.newest_revision}


class InvalidField(DomainError):
    status = 422
    default_code = "invalid_field"
    default_message = "A field has an invalid value."

    def __init__(self, message: str | None = None, *, field: str, code: str | None = None) -> None:
        if not field:
            raise ValueError("InvalidField needs the name of the field")
        super().__init__(message, code=code, field=field)


class LimitReached(DomainError):
    status = 429
    default_code = "limit_reached"
    default_message = "A limit has been reached."


class Upstream(DomainError):
    status = 502
    default_code = "upstream_error"
    default_message = "WhatsApp returned an error."


class UpstreamTimeout(Upstream):
    status = 504
    default_code = "upstream_timeout"
    default_message = "WhatsApp did not answer in time."


class SessionExpired(Conflict):
    default_code = "session_expired"
    default_message = (
        "The 24-hour session with this contact has ended; send an approved template instead."
    )


class UsageLimitReached(LimitReached):
    default_code = "usage_limit_reached"

    def __init__(self, resets_on: date, *, limit: int | None = None) -> None:
        self.resets_on = resets_on
        self.limit = limit
        what = (
            f"the monthly limit of {limit:,} conversation{'' if limit == 1 else 's'}"
            if limit is not None
            else ("the monthly conversation limit")
        )
        super().__init__(
            f"This message would pass {what}; it was not sent. "
            f"The limit resets on {resets_on.isoformat()}."
        )

    def to_dict(self) -> dict[str, str | int]:
        return {**super().to_dict(), "resets_on": self.resets_on.isoformat()}
