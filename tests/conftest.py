"""Fixtures shared by every test folder."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from tests.pg_cluster import Cluster, ClusterError, start_cluster
from tests.support import LiveBackend

POSTGRESQL_FIXTURES = {"postgresql_server", "postgresql_url"}
_database_numbers = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the PostgreSQL server is marked ``postgresql`` (``-m "not postgresql"``
    leaves the server out of a quick run), whether or not its module says so."""
    for item in items:
        if POSTGRESQL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture
async def live_backend(tmp_path) -> AsyncIterator[LiveBackend]:
    """A real backend on 127.0.0.1 with a fresh SQLite file, an admin and an agent."""
    backend = LiveBackend(data_dir=tmp_path / "data")
    await backend.start()
    await backend.seed_agents()
    try:
        yield backend
    finally:
        await backend.stop()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[Cluster]:
    """A throwaway PostgreSQL server for the session (tests/pg_cluster.py). Without
    PostgreSQL's binaries the tests that use it fail, saying what to install."""
    try:
        cluster = start_cluster()
    except ClusterError as exc:
        pytest.fail(f"the test PostgreSQL server cannot start: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgresql_url(postgresql_server: Cluster) -> Iterator[str]:
    """The URL of a new, empty database of its own on the session's server."""
    name = f"test_{next(_database_numbers)}"
    with psycopg.connect(postgresql_server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgresql_server.url(name)
    finally:
        with psycopg.connect(postgresql_server.url(), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
