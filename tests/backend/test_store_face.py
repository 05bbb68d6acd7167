"""``SqliteStore`` against ``Store``, the store's written face: every member with the same
signature, and no public method outside it but the few named here. The checklist a
second store (PostgreSQL) is held to."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from backend.store import PostgresStore, SqliteStore, Store

# SqliteStore's public methods that are not on the face, and why
NOT_ON_THE_FACE = {
    "write": "runs a transaction function: SQLite's own, for the store's tests",
    "count_threads": "takes the SQLite readers pool; the face counts through view_counts",
    "live_view_counts": "called by cached_live_view_counts",
    "mine_counts": "called by the view counts",
    "next_count_change": "takes the SQLite readers pool; called by the view counts cache",
    "priced_counts": "called by usage_month",
}
# and the PostgreSQL store's own, beside those
POSTGRESQL_ONLY = {
    "copy_from_sqlite": "admin migrate --to: fills a new PostgreSQL database",
    "start": "the second half of open, after startup.open_postgresql opened the pool",
}


def _members(cls: type) -> dict[str, object]:
    return {
        name: value
        for name, value in inspect.getmembers(cls)
        if not name.startswith("_") and callable(value)
    }


def _shape(function: object) -> tuple[bool, list[tuple[str, object, object, object]], object]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    parameters = [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]
    return inspect.iscoroutinefunction(function), parameters, signature.return_annotation


FACE = _members(Store)


@pytest.mark.parametrize("name", sorted(FACE))
def test_sqlite_store_has_each_member_of_the_face_with_its_signature(name: str) -> None:
    implementation = getattr(SqliteStore, name, None)
    assert implementation is not None, f"SqliteStore has no {name}"
    assert _shape(implementation) == _shape(FACE[name])


def test_every_public_method_of_the_sqlite_store_is_on_the_face_or_said_why_not() -> None:
    public = set(_members(SqliteStore))
    assert public - set(FACE) - set(NOT_ON_THE_FACE) == set()
    assert set(NOT_ON_THE_FACE) <= public


def test_the_face_names_the_clock_and_the_sqlite_store_has_one(tmp_path: Path) -> None:
    assert "clock" in Store.__annotations__
    assert SqliteStore(tmp_path / "face.db").clock is not None


@pytest.mark.parametrize("name", sorted(FACE))
def test_postgres_store_has_each_member_of_the_face_with_its_signature(name: str) -> None:
    implementation = getattr(PostgresStore, name, None)
    assert implementation is not None, f"PostgresStore has no {name}"
    assert _shape(implementation) == _shape(FACE[name])


def test_every_public_method_of_the_postgres_store_is_on_the_face_or_said_why_not() -> None:
    public = set(_members(PostgresStore))
    assert public - set(FACE) - set(NOT_ON_THE_FACE) - set(POSTGRESQL_ONLY) == set()
