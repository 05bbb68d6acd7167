"""Channels (connected WhatsApp Business Accounts) and their phone numbers (SPEC §2).

The access token is a secret: it is written here and read only by ``channel_secret``
(for Graph API calls); no wire shape carries it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from backend import schemas
from backend.domain.errors import Conflict, NotFound
from backend.store.base import StoreBase, loads
from backend.store.conversations import audit
from backend.store.engine import Tx, dumps, parse_dt
from backend.store.types import ChannelSecret

MAX_NUMBERS_PER_CHANNEL = 25

CHANNEL_COLUMNS = (
    "id, type, waba_id, legal_name, display_name, status, status_reason, verified_business, "
    "created_at"
)


def phone_number_from_row(row: sqlite3.Row) -> schemas.PhoneNumber:
    return schemas.PhoneNumber(
        id=row["id"],
        channel_id=row["channel_id"],
        phone_number_id=row["phone_number_id"],
        display_phone_number=row["display_phone_number"],
        verified_name=row["verified_name"],
        code_verification_status=row["code_verification_status"],
        quality_rating=row["quality_rating"],
        destination=row["destination"],
        status=row["status"],
        connected_at=parse_dt(row["connected_at"]),
    )


def channel_from_rows(row: sqlite3.Row, numbers: Sequence[sqlite3.Row]) -> schemas.Channel:
    return schemas.Channel(
        id=row["id"],
        type=row["type"],
        waba_id=row["waba_id"],
        legal_name=row["legal_name"],
        display_name=row["display_name"],
        status=row["status"],
        status_reason=row["status_reason"],
        verified_business=bool(row["verified_business"]),
        phone_numbers=[phone_number_from_row(n) for n in numbers],
        created_at=parse_dt(row["created_at"]),
    )


def load_channel(tx: Tx, channel_id: int) -> schemas.Channel:
    row = tx.one(f"SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?", (channel_id,))
    if row is None:
        raise NotFound("There is no such channel.", code="channel_not_found")
    numbers = tx.all("SELECT * FROM phone_numbers WHERE channel_id = ? ORDER BY id", (channel_id,))
    return channel_from_rows(row, numbers)


def emit_channel(tx: Tx, channel_id: int) -> schemas.Channel:
    channel = load_channel(tx, channel_id)
    tx.emit(schemas.EventType.channel_updated, channel.model_dump(mode="json"))
    return channel


def _refresh_channel_status(tx: Tx, channel_id: int) -> None:
    """connected while a number is connected; pending otherwise (unhealthy stays)."""
    row = tx.one("SELECT status FROM channels WHERE id = ?", (channel_id,))
    if row is None or row["status"] == "unhealthy":
        return
    connected = tx.one(
        "SELECT COUNT(*) FROM phone_numbers WHERE channel_id = ? AND status = 'connected'",
        (channel_id,),
    )[0]
    status = "connected" if connected else "pending"
    if status != row["status"]:
        tx.execute(
            "UPDATE channels SET status = ?, updated_at = ? WHERE id = ?",
            (status, tx.now_iso, channel_id),
        )


class ChannelsStore(StoreBase):
    async def upsert_channel(
        self, spec: schemas.ChannelCreate, *, verified_business: bool, actor_id: int | None
    ) -> schemas.Channel:
        """Store a validated account (a new WABA, or a new token for a known one)."""

        def upsert(tx: Tx) -> schemas.Channel:
            values = {
                "access_token": spec.access_token,
                "legal_name": spec.business.legal_name,
                "display_name": spec.business.display_name,
                "business": dumps(spec.business.model_dump(mode="json")),
                "profile": dumps(spec.profile.model_dump(mode="json")),
                "verified_business": int(verified_business),
                "status_reason": None,
                "updated_at": tx.now_iso,
            }
            row = tx.one("SELECT id, status FROM channels WHERE waba_id = ?", (spec.waba_id,))
            if row is None:
                channel_id = tx.insert(
                    "channels",
                    {
                        **values,
                        "waba_id": spec.waba_id,
                        "status": "pending",
                        "created_at": tx.now_iso,
                    },
                )
            else:
                channel_id = row["id"]
                if row["status"] == "unhealthy":
                    values["status"] = "pending"  # a new token: recomputed just below
                tx.update("channels", channel_id, values)
            _refresh_channel_status(tx, channel_id)
            audit(tx, actor_id, "channel.connect", f"channel:{channel_id}", waba_id=spec.waba_id)
            return emit_channel(tx, channel_id)

        return await self.write(upsert)

    async def list_channels(self) -> list[schemas.Channel]:
        rows = await self.readers.all(f"SELECT {CHANNEL_COLUMNS} FROM channels ORDER BY id")
        numbers = await self.readers.all("SELECT * FROM phone_numbers ORDER BY id")
        by_channel: dict[int, list[sqlite3.Row]] = {}
        for number in numbers:
            by_channel.setdefault(number["channel_id"], []).append(number)
        return [channel_from_rows(row, by_channel.get(row["id"], [])) for row in rows]

    async def get_channel(self, channel_id: int) -> schemas.Channel:
        return await self.write(lambda tx: load_channel(tx, channel_id))

    async def channel_secret(self, channel_id: int) -> ChannelSecret:
        row = await self.readers.one(
            "SELECT id, waba_id, access_token, profile FROM channels WHERE id = ?", (channel_id,)
        )
        if row is None:
            raise NotFound("There is no such channel.", code="channel_not_found")
        return ChannelSecret(
            row["id"], row["waba_id"], row["access_token"], loads(row["profile"], {})
        )

    async def channel_secrets(self) -> list[ChannelSecret]:
        rows = await self.readers.all(
            "SELECT id, waba_id, access_token, profile FROM channels WHERE status != 'disconnected' "
            "ORDER BY id"
        )
        return [
            ChannelSecret(r["id"], r["waba_id"], r["access_token"], loads(r["profile"], {}))
            for r in rows
        ]

    async def get_phone_number(self, channel_id: int, number_id: int) -> schemas.PhoneNumber:
        row = await self.readers.one(
            "SELECT * FROM phone_numbers WHERE id = ? AND channel_id = ?", (number_id, channel_id)
        )
        if row is None:
            raise NotFound("This channel has no such phone number.", code="phone_number_not_found")
        return phone_number_from_row(row)

    async def check_room_for_number(self, channel_id: int, phone_number_id: str | None) -> None:
        """Refuse before anything is done at Meta: the 25-number cap, a number of the
        conversations inbox, a number already connected here."""

        def check(tx: Tx) -> None:
            load_channel(tx, channel_id)
            _check_room(tx, channel_id, phone_number_id)

        await self.write(check)

    async def add_phone_number(
        self, channel_id: int, info: dict[str, Any], *, actor_id: int | None
    ) -> schemas.PhoneNumber:
        """Record a number of the WABA as ``pending`` (picked, or just created at Meta)."""

        def add(tx: Tx) -> schemas.PhoneNumber:
            load_channel(tx, channel_id)
            pnid = str(info["id"])
            _check_room(tx, channel_id, pnid)
            existing = tx.one("SELECT id FROM phone_numbers WHERE phone_number_id = ?", (pnid,))
            values = {
                "channel_id": channel_id,
                "display_phone_number": str(info.get("display_phone_number") or pnid),
                "verified_name": info.get("verified_name"),
                "code_verification_status": info.get("code_verification_status"),
                "quality_rating": info.get("quality_rating"),
                "status": "pending",
                "connected_at": None,
                "disconnected_at": None,
            }
            if existing is None:
                number_id = tx.insert(
                    "phone_numbers",
                    {**values, "phone_number_id": pnid, "created_at": tx.now_iso},
                )
            else:
                number_id = existing["id"]
                tx.update("phone_numbers", number_id, values)
            audit(
                tx, actor_id, "phone_number.add", f"phone_number:{number_id}", phone_number_id=pnid
            )
            emit_channel(tx, channel_id)
            row = tx.one("SELECT * FROM phone_numbers WHERE id = ?", (number_id,))
            return phone_number_from_row(row)

        return await self.write(add)

    async def connect_phone_number(
        self, channel_id: int, number_id: int, *, actor_id: int | None
    ) -> schemas.PhoneNumber:
        """Registered and subscribed at Meta: the number now feeds the help desk."""

        def connect(tx: Tx) -> schemas.PhoneNumber:
            tx.execute(
                "UPDATE phone_numbers SET status = 'connected', connected_at = ?, "
                "disconnected_at = NULL, code_verification_status = 'VERIFIED', "
                "destination = 'help_desk' WHERE id = ? AND channel_id = ?",
                (tx.now_iso, number_id, channel_id),
            )
            _refresh_channel_status(tx, channel_id)
            audit(tx, actor_id, "phone_number.connect", f"phone_number:{number_id}")
            emit_channel(tx, channel_id)
            row = tx.one("SELECT * FROM phone_numbers WHERE id = ?", (number_id,))
            return phone_number_from_row(row)

        return await self.write(connect)

    async def set_code_verification(self, channel_id: int, number_id: int, status: str) -> None:
        def set_status(tx: Tx) -> None:
            tx.execute(
                "UPDATE phone_numbers SET code_verification_status = ? WHERE id = ? AND channel_id = ?",
                (status, number_id, channel_id),
            )
            emit_channel(tx, channel_id)

        await self.write(set_status)

    async def disconnect_phone_number(
        self, channel_id: int, number_id: int, *, actor_id: int | None
    ) -> schemas.Channel:
        """Stop ingestion and sends for the number; its threads and messages stay."""

        def disconnect(tx: Tx) -> schemas.Channel:
            row = tx.one(
                "SELECT status FROM phone_numbers WHERE id = ? AND channel_id = ?",
                (number_id, channel_id),
            )
            if row is None:
                raise NotFound(
                    "This channel has no such phone number.", code="phone_number_not_found"
                )
            tx.execute(
                "UPDATE phone_numbers SET status = 'disconnected', disconnected_at = ? WHERE id = ?",
                (tx.now_iso, number_id),
            )
            _refresh_channel_status(tx, channel_id)
            audit(tx, actor_id, "phone_number.disconnect", f"phone_number:{number_id}")
            return emit_channel(tx, channel_id)

        return await self.write(disconnect)

    async def phone_number_by_external_id(self, phone_number_id: str) -> schemas.PhoneNumber | None:
        row = await self.readers.one(
            "SELECT * FROM phone_numbers WHERE phone_number_id = ?", (phone_number_id,)
        )
        return None if row is None else phone_number_from_row(row)


def _check_room(tx: Tx, channel_id: int, phone_number_id: str | None) -> None:
    if phone_number_id:
        row = tx.one(
            "SELECT channel_id, destination, status, display_phone_number FROM phone_numbers "
            "WHERE phone_number_id = ?",
            (phone_number_id,),
        )
        if row is not None and row["destination"] == schemas.PhoneDestination.inbox:
            raise Conflict(
                f"The number {row['display_phone_number']} is connected to the conversations "
                "inbox. Remove it from the inbox first (Settings → Inbox → remove the number), "
                "then connect it to the help desk.",
                code="number_in_inbox",
            )
        if row is not None and row["status"] == "connected":
            raise Conflict(
                f"The number {row['display_phone_number']} is connected already.",
                code="number_already_connected",
            )
        if row is not None and row["channel_id"] == channel_id and row["status"] != "disconnected":
            return  # a pending number of this channel: continuing its registration
    used = tx.one(
        "SELECT COUNT(*) FROM phone_numbers WHERE channel_id = ? AND status != 'disconnected'",
        (channel_id,),
    )[0]
    if used >= MAX_NUMBERS_PER_CHANNEL:
        raise Conflict(
            f"A WhatsApp Business Account can connect at most {MAX_NUMBERS_PER_CHANNEL} phone "
            "numbers; disconnect one first.",
            code="too_many_numbers",
        )
