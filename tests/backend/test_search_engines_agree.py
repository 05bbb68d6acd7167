"""The same searches find the same threads on both engines, through the API, on the
benchmark's generated data (``tests.bench.generate``, small): a SQLite database, and the
same database copied into PostgreSQL as ``ttydesk admin migrate --to`` copies it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backend.store import PostgresStore, postgres
from tests.bench.corpus import SEARCH_QUERIES
from tests.bench.generate import build
from tests.support import LiveBackend

pytestmark = pytest.mark.postgresql

THREADS = 300
MESSAGES = 3_000
VIEWS = ["builtin:all_open", "builtin:mine", "builtin:unassigned", "builtin:closed", "1"]
PAGES = 2  # pages of each search compared (the second only where the first is full)
WINDOWS = (40, 160, 640)  # messages


async def found_by(backend: LiveBackend, token: str) -> dict[tuple[str, str], Any]:
    """Per query and view: the search hits (what matched, thread, message, snippet) of
    the first pages, and the thread list's ids for the same text."""
    found: dict[tuple[str, str], Any] = {}
    async with backend.client(token) as client:
        for view in VIEWS:
            for q in SEARCH_QUERIES:
                hits: list[tuple[Any, ...]] = []
                cursor = None
                for _ in range(PAGES):
                    params = {"q": q, "view": view, **({"cursor": cursor} if cursor else {})}
                    response = await client.get("/api/v1/search", params=params)
                    assert response.status_code == 200, (q, view, response.text)
                    page = response.json()
                    hits += [
                        (h["matched"], h["thread"]["id"], h["message_id"], h["snippet"])
                        for h in page["items"]
                    ]
                    cursor = page["next_cursor"]
                    if not cursor:
                        break
                listed = await client.get("/api/v1/threads", params={"q": q, "view": view})
                assert listed.status_code == 200, (q, view, listed.text)
                found[(q, view)] = (hits, [t["id"] for t in listed.json()["items"]])
    return found


# the last word searched as the words it begins, and (none taken) as a prefix
@pytest.mark.parametrize("prefix_words", [postgres.MAX_PREFIX_WORDS, 0])
async def test_the_same_queries_find_the_same_threads_on_both_engines(
    tmp_path: Path, postgresql_url: str, monkeypatch: pytest.MonkeyPatch, prefix_words: int
):
    # PostgreSQL searches messages newest window first: windows this small make pages
    # that span several of them (the default's first window holds all 3,000 messages)
    monkeypatch.setattr(postgres, "SEARCH_WINDOWS", WINDOWS)
    monkeypatch.setattr(postgres, "MAX_PREFIX_WORDS", prefix_words)
    meta = build(THREADS, MESSAGES, tmp_path / "generated")
    target = PostgresStore(postgresql_url, pool_size=1)
    await target.open()
    try:
        await target.copy_from_sqlite(Path(meta["db"]))
    finally:
        await target.close()
    token = meta["tokens"]["2"]  # an agent: "mine" is theirs

    found = {}
    for engine, database, overrides in (
        ("sqlite", None, {"database": Path(meta["db"])}),
        ("postgresql", postgresql_url, {}),
    ):
        backend = LiveBackend(tmp_path / engine, database=database, overrides=overrides)
        await backend.start()
        try:
            found[engine] = await found_by(backend, token)
        finally:
            await backend.stop()

    assert sum(len(hits) for hits, _ in found["sqlite"].values()) > 500  # the data is searched
    differences = {
        key: (found["sqlite"][key], found["postgresql"][key])
        for key in found["sqlite"]
        if found["sqlite"][key] != found["postgresql"][key]
    }
    assert differences == {}
