"""Agents: who they are, and what they may change of themselves."""

from datetime import datetime

from pydantic import Field

from backend.schemas.base import ResponseModel, WireModel
from backend.schemas.enums import Availability, NotificationChoice, Role


class Agent(ResponseModel):
    id: int
    name: str
    email: str | None = None
    role: Role
    skills: list[str] = []
    availability: Availability
    notify: NotificationChoice
    bell: bool = False
    team: str | None = None
    open_tickets: int = 0
    created_at: datetime
    # the agent's own e-mail signature (None: a mail is signed with the agent's name and
    # the mailbox's); {agent} and {mailbox} are filled in when the mail is sent
    signature: str | None = None


class MeUpdate(WireModel):
    availability: Availability | None = None
    notify: NotificationChoice | None = None
    bell: bool | None = None
    name: str | None = Field(default=None, min_length=1, max_length=120)
    # plain text of a few lines (domain/signatures.py); "" removes it
    signature: str | None = Field(default=None, max_length=4000)


class AgentCreate(WireModel):
    name: str = Field(min_length=1, max_length=120)
    email: str | None = None
    role: Role = Role.agent
    skills: list[str] = []
    team: str | None = None


class AgentCreated(ResponseModel):
    agent: Agent
    token: str  # shown once; only its hash is stored
