"""What the server writes is its user's alone: the data folder ``0700``, the database (it
holds quarantined card numbers), its WAL and shared memory, and stored media ``0600``,
whatever the umask; stored media keep a file extension. On a real backend and simulator."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.whatsapp.conftest import rows

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Everything this process creates would be world-writable unless set explicitly."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_folder_database_and_media_are_private(permissive_umask, sim):
    backend = sim.backend
    image = await sim.stored(await sim.customer_sends({"type": "image", "caption": "receipt"}))
    document = await sim.stored(
        await sim.customer_sends({"type": "document", "filename": "invoice.pdf"})
    )

    async def fetched():
        found = await rows(
            backend,
            "SELECT state, path FROM media WHERE id IN (?, ?) ORDER BY id",
            (image.media.id, document.media.id),
        )
        return found if all(row["state"] != "pending" for row in found) else None

    fetched_rows = await sim.until(fetched)
    assert [row["state"] for row in fetched_rows] == ["ready", "ready"]
    async with backend.client(backend.agent_token) as agent:
        response = await agent.post("/api/v1/media", files={"file": ("shot.png", PNG)})
        assert response.status_code == 201, response.text

    settings = backend.settings
    database = settings.database_path
    assert mode(settings.data_dir) == 0o700
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert mode(path) == 0o600, path
    media = sorted(path for path in settings.media_dir.rglob("*") if path.is_file())
    assert sorted(path.suffix for path in media) == [".jpg", ".pdf", ".png"]
    assert {path: mode(path) for path in media} == {path: 0o600 for path in media}
    folders = [
        settings.media_dir,
        *(path for path in settings.media_dir.rglob("*") if path.is_dir()),
    ]
    assert {path: mode(path) for path in folders} == {path: 0o700 for path in folders}
