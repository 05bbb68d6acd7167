"""The SQLite library's process-wide settings: allocation statistics off in `serve`."""

from __future__ import annotations

import json
import subprocess
import sys

# run in a fresh interpreter: the setting is taken only before the first connection
PROBE = """
import ctypes, _sqlite3, json, sqlite3, sys
from backend.store.sqlite_library import memory_statistics_off
took = memory_statistics_off() if sys.argv[1] == "off" else None
conn = sqlite3.connect(sys.argv[2])
conn.execute("CREATE TABLE t (x TEXT)")
conn.executemany("INSERT INTO t VALUES (?)", [("x" * 200,)] * 2000)
conn.commit()
rows = conn.execute("SELECT count(*) FROM t").fetchone()[0]
used, highest = ctypes.c_int(), ctypes.c_int()
ctypes.CDLL(_sqlite3.__file__).sqlite3_status(
    0, ctypes.byref(used), ctypes.byref(highest), 0)  # SQLITE_STATUS_MEMORY_USED
print(json.dumps({"took": took, "rows": rows, "counted": highest.value}))
"""


def probe(tmp_path, mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, str(tmp_path / f"{mode}.db")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_allocation_statistics_are_off_and_sqlite_works_the_same(tmp_path):
    default = probe(tmp_path, "default")
    off = probe(tmp_path, "off")
    assert default["counted"] > 100_000  # by default every allocation is counted
    assert off["took"] is True and off["rows"] == 2000
    assert off["counted"] < 1_000  # what initialising counted before the setting


def test_serve_turns_the_statistics_off_before_it_opens_anything():
    import inspect

    from backend import cli

    source = inspect.getsource(cli.cmd_serve)
    assert source.index("memory_statistics_off()") < source.index("create_app(")
