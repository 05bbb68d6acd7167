"""Media rows: received files waiting to be fetched, their outcome, and serving them.

A received attachment is stored as a ``pending`` media row holding Meta's media id;
the fetcher (``backend.whatsapp.media``) downloads it and marks it ``ready`` or, after
its attempts, ``failed``. ``path`` is relative to the media directory (an absolute
path is used as it is).
"""

from __future__ import annotations

import functools

from backend import schemas
from backend.domain.errors import NotFound
from backend.store import conversations as conv
from backend.store.base import StoreBase
from backend.store.engine import Tx, parse_dt
from backend.store.types import MediaFile, MediaJob


async def _pending_media(store: StoreBase, limit: int) -> list[MediaJob]:
    rows = await store.readers.all(
        "SELECT m.id, m.external_id, m.mime_type, m.sha256, m.filename, m.attempts, "
        "m.phone_number_id, m.created_at, c.access_token "
        "FROM media m "
        "LEFT JOIN phone_numbers p ON p.phone_number_id = m.phone_number_id "
        "LEFT JOIN channels c ON c.id = p.channel_id "
        "WHERE m.state = 'pending' AND m.direction = 'in' ORDER BY m.id LIMIT ?",
        (limit,),
    )
    return [
        MediaJob(
            id=row["id"],
            external_id=row["external_id"],
            mime_type=row["mime_type"],
            sha256=row["sha256"],
            filename=row["filename"],
            attempts=row["attempts"],
            phone_number_id=row["phone_number_id"],
            access_token=row["access_token"],
            created_at=parse_dt(row["created_at"]),
        )
        for row in rows
    ]


def _emit_messages_of(tx: Tx, media_id: int) -> None:
    for row in tx.all("SELECT id FROM messages WHERE media_id = ?", (media_id,)):
        conv.emit_message(tx, row["id"], created=False)


def mark_media_ready(
    tx: Tx,
    media_id: int,
    *,
    path: str,
    size: int,
    sha256: str,
    mime_type: str | None,
) -> None:
    tx.execute(
        "UPDATE media SET state = 'ready', path = ?, size = ?, sha256 = ?, "
        "mime_type = COALESCE(?, mime_type), error = NULL, attempts = attempts + 1 "
        "WHERE id = ?",
        (path, size, sha256, mime_type, media_id),
    )
    _emit_messages_of(tx, media_id)


def mark_media_attempt_failed(tx: Tx, media_id: int, *, error: str, final: bool) -> int:
    """Count a failed attempt; ``final`` marks the media failed. Returns the attempts so far."""
    tx.execute(
        "UPDATE media SET attempts = attempts + 1, error = ?, state = ? WHERE id = ?",
        (error[:500], "failed" if final else "pending", media_id),
    )
    row = tx.one("SELECT attempts FROM media WHERE id = ?", (media_id,))
    if final:
        _emit_messages_of(tx, media_id)
    return row["attempts"] if row is not None else 0


def retry_media(tx: Tx, media_id: int) -> None:
    """Put a failed received media back in the queue with fresh attempts."""
    row = tx.one("SELECT state, direction FROM media WHERE id = ?", (media_id,))
    if row is None:
        raise NotFound("There is no such media.", code="media_not_found")
    if row["direction"] != schemas.Direction.inbound or row["state"] == "ready":
        return
    tx.execute(
        "UPDATE media SET state = 'pending', attempts = 0, error = NULL WHERE id = ?", (media_id,)
    )
    _emit_messages_of(tx, media_id)


async def _media_file(store: StoreBase, media_id: int, *, admin: bool) -> MediaFile | None:
    row = await store.readers.one(
        "SELECT md.id, md.path, md.mime_type, md.filename, md.size, md.state, "
        "EXISTS (SELECT 1 FROM messages m WHERE m.media_id = md.id AND m.kind = 'quarantined') "
        "AS quarantined "
        "FROM media md WHERE md.id = ?",
        (media_id,),
    )
    if row is None:
        return None
    return MediaFile(
        id=row["id"],
        path=row["path"],
        mime_type=row["mime_type"],
        filename=row["filename"],
        size=row["size"],
        state=row["state"],
        hidden=bool(row["quarantined"]) and not admin,
    )


class MediaStore(StoreBase):
    async def pending_media(self, limit: int = 50) -> list[MediaJob]:
        """Received media still to fetch, oldest first, with the channel's access token."""
        return await _pending_media(self, limit)

    async def media_ready(
        self, media_id: int, *, path: str, size: int, sha256: str, mime_type: str | None
    ) -> None:
        """A received file is downloaded and checked: its messages show it."""
        await self.write(
            functools.partial(
                mark_media_ready,
                media_id=media_id,
                path=path,
                size=size,
                sha256=sha256,
                mime_type=mime_type,
            )
        )

    async def media_attempt_failed(self, media_id: int, *, error: str, final: bool) -> int:
        """Count a failed download; ``final`` marks the media failed. Returns the attempts."""
        return await self.write(
            functools.partial(
                mark_media_attempt_failed, media_id=media_id, error=error, final=final
            )
        )

    async def retry_media(self, media_id: int) -> None:
        """Put a failed received media back in the queue with fresh attempts."""
        await self.write(functools.partial(retry_media, media_id=media_id))

    async def media_file(self, media_id: int, *, admin: bool) -> MediaFile | None:
        """A media row as it is served (``hidden`` when quarantined and not ``admin``)."""
        return await _media_file(self, media_id, admin=admin)
