"""What start-up checks, and its failures as one line that names the cause and the fix.

``ttydesk serve`` and the admin commands show a ``StartupError`` as that line, never a
traceback: a folder they cannot write, a database they cannot read, a port in use, or a
second ``serve`` on a database another one is serving.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import re
import socket
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from backend.private_files import FILE_MODE, private_dir

if TYPE_CHECKING:
    from backend.config import Settings
    from backend.domain.clock import Clock
    from backend.store import SqliteStore, Store
    from backend.store.pg_engine import PgEngine

PG_CONNECT_TIMEOUT_SECONDS = 10


class StartupError(Exception):
    """Start-up cannot go on: ``str()`` is the one line to show (cause, then fix)."""


class DatabaseInUse(StartupError):
    """Another process holds the database's ``ServingLock`` (``holder``: its pid, if known)."""

    def __init__(self, message: str, holder: int | None) -> None:
        super().__init__(message)
        self.holder = holder


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def prepare_folders(data_dir: Path, database: Path) -> None:
    """The data folder (``0700`` when made here) and the database's folder, writable."""
    for folder in dict.fromkeys((data_dir, database.parent)):
        try:
            private_dir(folder)
            writable = os.access(folder, os.W_OK | os.X_OK)
        except OSError as exc:
            raise StartupError(
                f"the data folder {folder} cannot be created ({_reason(exc)}): "
                "choose another with TTYDESK_DATA_DIR or fix the path"
            ) from None
        if not writable:
            raise StartupError(
                f"the data folder {folder} is not writable by this user: fix its "
                "permissions or choose another with TTYDESK_DATA_DIR"
            )


def store_for(settings: Settings, clock: Clock | None = None) -> Store:
    """The store the settings name, not yet open: PostgreSQL for a ``postgresql://`` URL,
    else the SQLite file."""
    if settings.database_url is not None:
        from backend.store import PostgresStore

        return PostgresStore(settings.database_url, clock=clock)
    from backend.store import SqliteStore

    return SqliteStore(settings.database_path, clock=clock)


async def open_configured_store(settings: Settings, store: Store) -> None:
    """Open ``store`` (from ``store_for``), its failures as a ``StartupError``. The data
    folder is made in both cases (media files live there); the database's folder only for
    SQLite."""
    from backend.store import SqliteStore

    if isinstance(store, SqliteStore):
        prepare_folders(settings.data_dir, settings.database_path)
        await open_store(store)
        return
    from backend.store import PostgresStore  # psycopg: loaded only for PostgreSQL

    assert isinstance(store, PostgresStore)
    prepare_folders(settings.data_dir, settings.data_dir / "ttydesk.db")
    await open_postgresql(store.engine)
    await store.start()


async def open_store(store: SqliteStore) -> None:
    """``store.open()``, with a database it cannot use as a ``StartupError``."""
    try:
        await store.open()
    except sqlite3.DatabaseError as exc:
        await _close_quietly(store)
        message = str(exc)
        if "not a database" in message or "malformed" in message or "corrupt" in message:
            raise StartupError(
                f"the database {store.path} cannot be read ({message}): it is not a ttydesk "
                "database or it is damaged; restore it from a backup or set TTYDESK_DATABASE"
            ) from None
        raise StartupError(
            f"the database {store.path} cannot be opened ({message}): check that this user "
            "can read and write it and its folder"
        ) from None
    except OSError as exc:
        await _close_quietly(store)
        raise StartupError(
            f"the database {store.path} cannot be opened ({_reason(exc)}): check that this "
            "user can read and write it and its folder"
        ) from None


async def _close_quietly(opened: SqliteStore | PgEngine) -> None:
    try:
        await opened.close()
    except Exception:  # noqa: BLE001 - half-open after the error being reported
        pass


def postgresql_where(url: str) -> str:
    """``database on user@host:port`` of a PostgreSQL URL: never its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a URL libpq cannot read: named without its parts
        return "the PostgreSQL database of TTYDESK_DATABASE"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"the PostgreSQL database {parts.get('dbname') or '(default)'} on {user}{host}:{port}"


def _pg_reason(exc: Exception) -> str:
    """libpq's reason: its first line, after its last "failed:", without FATAL (the lines
    after are hints such as "Is the server running…" and the statement quoted)."""
    lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    text = " ".join(lines[0].split()).rsplit("failed: ", 1)[-1]
    return re.sub(r"^(FATAL|ERROR):\s*", "", text).removesuffix(".")


async def open_postgresql(engine: PgEngine) -> None:
    """``engine.open()``, with a server it cannot reach or a database it cannot use as a
    ``StartupError``. One connection is made first: the pool alone would wait out its
    timeout and say only that it timed out."""
    import psycopg

    where = postgresql_where(engine.url)
    try:
        probe = await asyncio.to_thread(
            psycopg.connect, engine.url, connect_timeout=PG_CONNECT_TIMEOUT_SECONDS
        )
        probe.close()
        await engine.open()
    except psycopg.OperationalError as exc:
        await _close_quietly(engine)
        reason = _pg_reason(exc)
        if "does not exist" in reason and "database" in reason:
            fix = "create it (createdb), or fix the URL in TTYDESK_DATABASE"
        elif "authentication" in reason or "role" in reason or "password" in reason:
            fix = "fix the user or password in TTYDESK_DATABASE"
        else:
            fix = "check that PostgreSQL runs there, or fix the URL in TTYDESK_DATABASE"
        raise StartupError(f"{where} cannot be opened ({reason}): {fix}") from None
    except psycopg.Error as exc:
        await _close_quietly(engine)
        raise StartupError(
            f"{where} cannot be migrated ({_pg_reason(exc)}): the user of TTYDESK_DATABASE "
            "must own the database, or be allowed to create tables in it"
        ) from None


class ServingLock:
    """One ``serve`` per database: an exclusive ``flock`` on ``<database>.lock``, held for the
    life of the process (the kernel releases it when the process dies, however it dies).

    A second ``serve`` would otherwise start beside the first and, at its start-up, mark the
    first one's sends in flight as ambiguous. Admin commands do not take it: they read and
    write through SQLite's own locking while ``serve`` runs.
    """

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise StartupError(
                f"the lock file {self.path} cannot be created ({_reason(exc)}): check that "
                "this user can write the database's folder"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            by = f" (pid {holder})" if holder.isdigit() else ""
            raise DatabaseInUse(
                f"the database {self.database} is already served by another "
                f"ttydesk serve{by}: stop that one first, or give this one its own "
                "TTYDESK_DATA_DIR",
                int(holder) if holder.isdigit() else None,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def check_port(host: str, port: int) -> None:
    """Bind ``host:port`` once, as the server will, before anything is opened."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupError(
            f"cannot listen on {host}:{port} ({exc.strerror}): set TTYDESK_HOST to an "
            "address of this machine"
        ) from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise listen_error(exc, host, port) from None


def listen_error(exc: OSError, host: str, port: int) -> StartupError:
    if exc.errno == errno.EADDRINUSE:
        return StartupError(
            f"port {port} on {host} is in use by another program: stop it, or choose "
            "another port with --port or TTYDESK_PORT"
        )
    if exc.errno == errno.EACCES:
        return StartupError(
            f"not allowed to listen on port {port}: choose a port above 1023 with --port "
            "or TTYDESK_PORT"
        )
    return StartupError(
        f"cannot listen on {host}:{port} ({_reason(exc)}): check --host/TTYDESK_HOST and "
        "--port/TTYDESK_PORT"
    )
