"""The bases of every wire model, the error envelope and the page envelope."""

from datetime import date
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

API_PREFIX = "/api/v1"
# on every answer to an agent: where the event log stood before the request was read
# (backend/api/ws.py); the live stream's first since= is the smallest of a client's reads
EVENT_SEQ_HEADER = "X-Event-Seq"


T = TypeVar("T")


class WireModel(BaseModel):
    """Base of every wire model: unknown request fields are refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid", use_enum_values=False, defer_build=True)


class ResponseModel(BaseModel):
    """Base of response models: tolerant of fields added by a newer server."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class ErrorBody(ResponseModel):
    code: str
    message: str
    field: str | None = None
    # usage_limit_reached: the day the monthly limit resets
    resets_on: date | None = None
    # draft_outdated: the newest revision the server holds for that draft (a send's or a save's)
    newest_revision: int | None = None


class ErrorEnvelope(ResponseModel):
    """Every API error: ``{"error": {"code", "message", "field"?}}``."""

    error: ErrorBody


class Page(ResponseModel, Generic[T]):
    """A keyset-paginated list: pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None  # only when asked for (``with_total=true``): sizes virtual lists


class Health(ResponseModel):
    status: Literal["ok"] = "ok"
    version: str
