"""Agents: tokens (stored hashed), roles, skills, availability and notification choice."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from typing import Any

from backend import schemas
from backend.domain.errors import Conflict, InvalidField, NotFound
from backend.domain.signatures import checked_signature
from backend.store.base import StoreBase, loads
from backend.store.engine import Tx, dumps, parse_dt

TOKEN_PREFIX = "ttd_"

AGENT_COLUMNS = """a.id, a.name, a.email, a.role, a.skills, a.team, a.availability, a.notify,
    a.bell, a.created_at, a.open_tickets, a.signature"""


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a plain digest is as strong as a slow hash here.
    return hashlib.sha256(token.encode()).hexdigest()


def agent_from_row(row: sqlite3.Row | dict[str, Any]) -> schemas.Agent:
    return schemas.Agent(
        id=row["id"],
        name=row["name"],
        email=row["email"],
        role=row["role"],
        skills=loads(row["skills"], []),
        team=row["team"],
        availability=row["availability"],
        notify=row["notify"],
        bell=bool(row["bell"]),
        open_tickets=row["open_tickets"],
        created_at=parse_dt(row["created_at"]),
        signature=row["signature"],
    )


def load_agent(tx: Tx, agent_id: int) -> schemas.Agent:
    row = tx.one(f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.id = ?", (agent_id,))
    if row is None:
        raise NotFound("There is no such agent.", code="agent_not_found")
    return agent_from_row(row)


def agent_event(agent: schemas.Agent) -> dict[str, Any]:
    """An ``agent.updated`` event, pushed to every client: without the signature, which
    only the agent and admins may read (it may hold a direct line)."""
    return agent.model_dump(mode="json", exclude={"signature"})


class AgentsStore(StoreBase):
    async def create_agent(self, spec: schemas.AgentCreate) -> schemas.AgentCreated:
        token = new_token()

        def create(tx: Tx) -> schemas.Agent:
            if tx.one("SELECT 1 FROM agents WHERE name = ?", (spec.name,)):
                raise Conflict(f"An agent named {spec.name!r} exists already.", code="agent_exists")
            agent_id = tx.insert(
                "agents",
                {
                    "name": spec.name,
                    "email": spec.email,
                    "role": spec.role.value,
                    "skills": dumps(sorted(set(spec.skills))),
                    "team": spec.team,
                    "token_hash": hash_token(token),
                    "created_at": tx.now_iso,
                    "updated_at": tx.now_iso,
                },
            )
            agent = load_agent(tx, agent_id)
            tx.emit(schemas.EventType.agent_updated, agent_event(agent))
            return agent

        agent = await self.write(create)
        return schemas.AgentCreated(agent=agent, token=token)

    async def rotate_token(self, agent_id: int) -> str:
        token = new_token()

        def rotate(tx: Tx) -> None:
            load_agent(tx, agent_id)
            tx.execute(
                "UPDATE agents SET token_hash = ?, updated_at = ? WHERE id = ?",
                (hash_token(token), tx.now_iso, agent_id),
            )

        await self.write(rotate)
        return token

    async def agent_for_token(self, token: str) -> schemas.Agent | None:
        row = await self.readers.one(
            f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.token_hash = ? AND a.disabled = 0",
            (hash_token(token),),
        )
        return None if row is None else agent_from_row(row)

    async def get_agent(self, agent_id: int) -> schemas.Agent:
        row = await self.readers.one(
            f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.id = ?", (agent_id,)
        )
        if row is None:
            raise NotFound("There is no such agent.", code="agent_not_found")
        return agent_from_row(row)

    async def find_agent(self, name_or_id: str) -> schemas.Agent:
        row = await self.readers.one(
            f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.name = ? OR CAST(a.id AS TEXT) = ?",
            (name_or_id, name_or_id),
        )
        if row is None:
            raise NotFound(f"There is no agent {name_or_id!r}.", code="agent_not_found")
        return agent_from_row(row)

    async def list_agents(self) -> list[schemas.Agent]:
        rows = await self.readers.all(
            f"SELECT {AGENT_COLUMNS} FROM agents a WHERE a.disabled = 0 ORDER BY a.name, a.id"
        )
        return [agent_from_row(row) for row in rows]

    async def update_agent(self, agent_id: int, change: schemas.MeUpdate) -> schemas.Agent:
        values: dict[str, Any] = {}
        if change.availability is not None:
            values["availability"] = change.availability.value
        if change.notify is not None:
            values["notify"] = change.notify.value
        if change.bell is not None:
            values["bell"] = int(change.bell)
        if change.name is not None:
            values["name"] = change.name
        if change.signature is not None:
            values["signature"] = checked_signature(change.signature)

        def update(tx: Tx) -> schemas.Agent:
            load_agent(tx, agent_id)
            if "name" in values and tx.one(
                "SELECT 1 FROM agents WHERE name = ? AND id != ?", (values["name"], agent_id)
            ):
                raise InvalidField("Another agent has that name.", field="name")
            if values:
                tx.update("agents", agent_id, {**values, "updated_at": tx.now_iso})
            agent = load_agent(tx, agent_id)
            tx.emit(schemas.EventType.agent_updated, agent_event(agent))
            return agent

        return await self.write(update)
