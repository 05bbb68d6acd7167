"""A row's columns are read by name whatever the case, on both engines: ``sqlite3.Row``
ignores the case of a name, and the PostgreSQL store's ``Row`` does the same, so the
store's code (one for both engines) reads a row the same on each. PostgreSQL folds an
unquoted name to lower case, SQLite keeps it as written: neither may matter to a reader."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backend.store import PostgresStore, SqliteStore

Store = SqliteStore | PostgresStore

# an unquoted alias in mixed case, a quoted one, and a second column of the same name
COLUMNS = 'SELECT 7 AS Message_Id, \'queued\' AS "Status", 8 AS thread_id, 9 AS "THREAD_ID"'
# names as the store writes them: unquoted, in lower case
LOWER = "SELECT 7 AS message_id, 'queued' AS status, 8 AS thread_id"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
async def store(request, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        opened: Store = SqliteStore(tmp_path / "desk.db")
    else:
        opened = PostgresStore(request.getfixturevalue("postgresql_url"), pool_size=2)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


def read_by_every_case(row: Any) -> list[Any]:
    return [
        [row[name] for name in ("message_id", "MESSAGE_ID", "Message_Id", "message_ID")],
        [row[name] for name in ("status", "STATUS", "Status")],
        # the first column of that name answers, whatever the case asked
        [row[name] for name in ("thread_id", "THREAD_ID", "Thread_Id")],
    ]


async def test_a_column_is_read_by_its_name_in_any_case_by_a_reader_and_in_a_transaction(
    store: Store,
):
    expected = [[7] * 4, ["queued"] * 3, [8] * 3]

    for sql in (COLUMNS, LOWER):
        assert read_by_every_case(await store.readers.one(sql)) == expected
        assert await store.write(lambda tx, sql=sql: read_by_every_case(tx.one(sql))) == expected


async def test_a_name_no_column_has_in_any_case_is_still_an_error(store: Store):
    for sql in (COLUMNS, LOWER):
        row = await store.readers.one(sql)

        with pytest.raises((IndexError, KeyError)):  # sqlite3.Row: IndexError
            row["message"]
        with pytest.raises((IndexError, KeyError)):
            row["MESSAGE_IDS"]
