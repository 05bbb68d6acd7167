"""The audit log, and message content an admin revealed."""

from datetime import datetime
from typing import Any

from backend.schemas.base import ResponseModel
from backend.schemas.messages import Message


class AuditEntry(ResponseModel):
    id: int
    at: datetime
    actor_id: int | None = None
    action: str
    target: str | None = None
    detail: dict[str, Any] = {}


class RevealedContent(ResponseModel):
    message: Message
    text: str | None = None
