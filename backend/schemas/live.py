"""The live push: events, presence and resync."""

from typing import Any, Literal

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import PresenceState


class Presence(ResponseModel):
    agent_id: int
    agent_name: str
    thread_id: int | None = None
    state: PresenceState


class ClientPresence(WireModel):
    """Sent by the client on the WebSocket."""

    type: Literal["presence"]
    thread_id: int | None = None
    state: PresenceState


class Event(ResponseModel):
    """One pushed event: ``{"seq", "type", "data"}``. Presence events carry seq 0 (not logged)."""

    seq: int
    type: str
    data: dict[str, Any] = {}


class Resync(ResponseModel):
    reason: str
    oldest_seq: int | None = None
