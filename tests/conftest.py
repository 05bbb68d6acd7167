"""Fixtures shared by every test folder."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest

from tests.pg_cluster import Cluster, ClusterError, start_cluster
from tests.support import LiveBackend

POSTGRESQL_FIXTURES = {"postgresql_server", "postgresql_url"}
# Test modules whose backend fixtures (live_backend, and tests/backend's and
# tests/whatsapp's ``backend``) run on both engines: the PostgreSQL store's suite, run
# whole by ``make test-postgresql`` (pytest --all-engines). ``make test`` runs those of
# IN_EVERY_RUN on both, and the rest on SQLite only.
IN_EVERY_RUN = frozenset(
    {
        "tests.backend.test_smoke_api",
        "tests.backend.test_threads_api",
        "tests.whatsapp.test_inbound_webhook",
    }
)
ALL_ENGINES_OPTION = "--all-engines"
ON_BOTH_ENGINES = frozenset(
    {
        "tests.backend.test_api_properties",
        "tests.backend.test_drafts_api",
        "tests.backend.test_errors_and_openapi",
        "tests.backend.test_hostile_requests",
        "tests.backend.test_live_push",
        "tests.backend.test_records_api",
        "tests.backend.test_search_api",
        "tests.backend.test_smoke_api",
        "tests.backend.test_snooze_api",
        "tests.backend.test_thread_sorts",
        "tests.backend.test_threads_api",
        "tests.backend.test_tickets_api",
        "tests.backend.test_views_api",
        "tests.backend.test_views_counts_cache",
        "tests.whatsapp.test_channels",
        "tests.whatsapp.test_channels_cli",
        "tests.whatsapp.test_graph_bodies",
        "tests.whatsapp.test_hostile_webhooks",
        "tests.whatsapp.test_inbound_calls",
        "tests.whatsapp.test_inbound_common_case",
        "tests.whatsapp.test_inbound_echoes",
        "tests.whatsapp.test_inbound_edits",
        "tests.whatsapp.test_inbound_groups",
        "tests.whatsapp.test_inbound_identity",
        "tests.whatsapp.test_inbound_late",
        "tests.whatsapp.test_inbound_one_customer",
        "tests.whatsapp.test_inbound_parse",
        "tests.whatsapp.test_inbound_quarantine",
        "tests.whatsapp.test_inbound_reactions",
        "tests.whatsapp.test_inbound_referrals",
        "tests.whatsapp.test_inbound_shapes",
        "tests.whatsapp.test_inbound_shapes_simulator",
        "tests.whatsapp.test_inbound_simulator",
        "tests.whatsapp.test_inbound_types",
        "tests.whatsapp.test_inbound_webhook",
        "tests.whatsapp.test_media",
        "tests.whatsapp.test_one_open_conversation",
        "tests.whatsapp.test_outbound_faults",
        "tests.whatsapp.test_outbound_graph",
        "tests.whatsapp.test_outbound_send",
        "tests.whatsapp.test_outbox_leases",
        "tests.whatsapp.test_outbox_retries",
        "tests.whatsapp.test_outbox_sends",
        "tests.whatsapp.test_pricing",
        "tests.whatsapp.test_private_files",
        "tests.whatsapp.test_pywa_samples",
        "tests.whatsapp.test_read_receipts",
        "tests.whatsapp.test_reports",
        "tests.whatsapp.test_send_price",
        "tests.whatsapp.test_status_rules",
        "tests.whatsapp.test_statuses",
        "tests.whatsapp.test_templates",
        "tests.whatsapp.test_uploads",
        "tests.whatsapp.test_usage",
        "tests.whatsapp.test_usage_month",
    }
)
# modules run only by ``make test-postgresql`` (--all-engines), which .ci/run runs after
# ``make test``: several ``serve`` processes each (tests/multiprocess.py), minutes a run;
# and the test servers' own clean-up (two servers of their own)
ALL_ENGINES_ONLY = frozenset(
    {
        "tests.backend.test_multiprocess",
        "tests.backend.test_multiprocess_sends",
        "tests.backend.test_pg_cluster",
    }
)
_database_numbers = itertools.count(1)


# tests of ON_BOTH_ENGINES that do not pass on PostgreSQL yet, and why
NOT_YET_ON_POSTGRESQL = {
    "test_hostile_query_values_and_crafted_cursors_are_refused": (
        "a crafted cursor's value of the wrong type (a number for a text column) is a "
        "PostgreSQL type error, a 500; SQLite compares any two values"
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test on the PostgreSQL server is marked ``postgresql`` (``-m "not postgresql"``
    leaves the server out of a quick run), whether or not its module says so. The
    modules of ALL_ENGINES_ONLY are skipped without --all-engines."""
    all_engines = config.getoption(ALL_ENGINES_OPTION)
    for item in items:
        module = getattr(item, "module", None)
        if not all_engines and module is not None and module.__name__ in ALL_ENGINES_ONLY:
            item.add_marker(
                pytest.mark.skip(reason=f"several serve processes: run with {ALL_ENGINES_OPTION}")
            )
        if POSTGRESQL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgresql)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_engine") == "postgresql":
            reason = NOT_YET_ON_POSTGRESQL.get(getattr(item, "originalname", item.name))
            if reason is not None:
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        ALL_ENGINES_OPTION,
        action="store_true",
        help="run every module of ON_BOTH_ENGINES on PostgreSQL too (make test-postgresql)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The modules of ``IN_EVERY_RUN`` (with --all-engines: of ``ON_BOTH_ENGINES``) run
    their backend tests on SQLite and again on PostgreSQL (marked ``postgresql``)."""
    if "database_engine" not in metafunc.fixturenames:
        return
    chosen = ON_BOTH_ENGINES if metafunc.config.getoption(ALL_ENGINES_OPTION) else IN_EVERY_RUN
    if metafunc.module.__name__ in chosen:
        metafunc.parametrize(
            "database_engine",
            ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
            indirect=True,
        )


@pytest.fixture
def database_engine(request: pytest.FixtureRequest) -> str:
    """The engine of a test's backend: SQLite unless its module is in ON_BOTH_ENGINES."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, database_engine: str) -> str | None:
    """A new PostgreSQL database's URL for a test on PostgreSQL; None for SQLite."""
    if database_engine == "postgresql":
        return request.getfixturevalue("postgresql_url")
    return None


@pytest.fixture
async def live_backend(tmp_path, database_url) -> AsyncIterator[LiveBackend]:
    """A real backend on 127.0.0.1 with a fresh database (a SQLite file, or PostgreSQL for
    the modules of ON_BOTH_ENGINES), an admin and an agent."""
    backend = LiveBackend(data_dir=tmp_path / "data", database=database_url)
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
