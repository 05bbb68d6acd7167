"""Search results."""

from typing import Literal

from backend.schemas.base import ResponseModel
from backend.schemas.enums import MessageKind
from backend.schemas.threads import Thread


class SearchHit(ResponseModel):
    thread: Thread
    message_id: int | None = None  # the matching message, when the match is in a message
    snippet: str  # plain text around the match
    matched: Literal["message", "contact", "subject"]
    message_kind: MessageKind | None = None  # of the matching message (a note is labelled so)
