"""Opening PostgreSQL, as an operator meets it: a server that is not there or a database
that is missing is one line naming what and the fix, never the URL's password."""

from __future__ import annotations

import psycopg
import pytest

from backend.startup import StartupError, open_postgresql
from backend.store.pg_engine import PgEngine
from tests.support import REFUSED_PORT


async def test_a_server_that_is_not_there_is_one_line_without_the_password():
    engine = PgEngine(f"postgresql://desk:s3cr3t-pw@127.0.0.1:{REFUSED_PORT}/ttydesk")
    with pytest.raises(StartupError) as caught:
        await open_postgresql(engine)
    line = str(caught.value)
    assert f"ttydesk on desk@127.0.0.1:{REFUSED_PORT}" in line
    assert "refused" in line.lower() and "TTYDESK_DATABASE" in line
    assert "s3cr3t-pw" not in line and "\n" not in line


async def test_a_missing_database_is_one_line_saying_to_create_it(postgresql_server):
    engine = PgEngine(postgresql_server.url("no_such_desk"))
    with pytest.raises(StartupError) as caught:
        await open_postgresql(engine)
    line = str(caught.value)
    assert "no_such_desk" in line and "does not exist" in line and "createdb" in line
    assert "\n" not in line


async def test_a_user_who_may_not_create_tables_is_one_line(postgresql_server, postgresql_url):
    database = postgresql_url.rsplit("/", 1)[1]
    with psycopg.connect(postgresql_server.url(database), autocommit=True) as admin:
        admin.execute("CREATE ROLE reader LOGIN")
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    engine = PgEngine(postgresql_url.replace("postgres@", "reader@"))
    try:
        with pytest.raises(StartupError) as caught:
            await open_postgresql(engine)
    finally:
        with psycopg.connect(postgresql_server.url(database), autocommit=True) as admin:
            admin.execute("DROP OWNED BY reader")
            admin.execute("DROP ROLE reader")
    line = str(caught.value)
    assert "cannot be migrated" in line and "permission denied" in line and "\n" not in line


async def test_a_reachable_database_is_opened_and_migrated(postgresql_url):
    engine = PgEngine(postgresql_url)
    await open_postgresql(engine)
    try:
        assert engine.version > 0
    finally:
        await engine.close()
