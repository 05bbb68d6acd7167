"""The test PostgreSQL servers: one whose run was killed before its teardown (a time
limit, a signal, a mutation run's worker) is stopped and removed by the next start, never
left running; one whose run is alive is left alone. A port taken between its pick and the
server's start is given up for another, not a failed run."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pg_cluster
from tests.pg_cluster import reap_orphans, start_cluster

pytestmark = pytest.mark.postgresql

ROOT = Path(__file__).resolve().parents[2]
START_AND_DIE = (
    "import os; from tests.pg_cluster import start_cluster; c = start_cluster(); "
    "print(c.folder, c.port, flush=True); os._exit(0)"
)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return True
    except OSError:
        return False


def test_a_server_whose_run_died_is_stopped_and_removed_by_the_next_start():
    child = subprocess.run(
        [sys.executable, "-c", START_AND_DIE],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    folder, port = child.stdout.split()
    orphan = Path(folder)
    assert _accepts(int(port))  # its process is gone, its server runs on
    cluster = start_cluster()
    try:
        assert not orphan.exists()
        assert not _accepts(int(port))
        # a server whose process is alive (this one's) is left alone
        assert reap_orphans(cluster.bin_dir, cluster.as_user) == []
        assert cluster.folder.exists() and _accepts(cluster.port)
    finally:
        cluster.stop()


def test_a_port_taken_before_the_server_listens_on_it_is_given_up_for_another(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # the race made certain: the first port picked is one another process holds
        picks = iter([port])
        pick_free = pg_cluster._free_port
        monkeypatch.setattr(pg_cluster, "_free_port", lambda: next(picks, None) or pick_free())
        cluster = start_cluster()
        try:
            assert cluster.port != port and _accepts(cluster.port)
        finally:
            cluster.stop()
