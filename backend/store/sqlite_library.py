"""Process-wide settings of the SQLite library, made before the process's first connection.

SQLite keeps allocation statistics (``sqlite3_status``) by default: every ``malloc`` and
``free`` it makes takes and releases a global mutex to count itself. Nothing here reads
those statistics, and on the ingest path that lock/unlock pair was ~8 % of the writer
thread's CPU (``perf``: ``pthread_mutex_lock``/``unlock`` under ``sqlite3Malloc`` and
``sqlite3_free``), so ``ttydesk serve`` turns them off (``SQLITE_CONFIG_MEMSTATUS``).

The library takes such a setting only while it is not initialised, and Python's
``sqlite3`` initialises it on import; ``sqlite3_config`` is not in that module either. So
it is called through ``ctypes`` on the library the module is linked with, between
``sqlite3_shutdown`` and ``sqlite3_initialize``, which is allowed only while the process
has no connection open and no other thread uses SQLite: call this first thing in a
process's main, never in a process that may have opened a connection (the tests, which
build apps in one process, leave the statistics on). Where the library's symbols cannot
be reached, the statistics stay on: the same behaviour, a little slower.
"""

from __future__ import annotations

import _sqlite3
import ctypes

SQLITE_OK = 0
SQLITE_CONFIG_MEMSTATUS = 9  # sqlite3.h: one int, a boolean


def memory_statistics_off() -> bool:
    """Turn the allocation statistics off; True if the library took the setting. Only
    before the process's first connection (see the module's note)."""
    try:
        library = ctypes.CDLL(_sqlite3.__file__)
        shutdown, config = library.sqlite3_shutdown, library.sqlite3_config
        initialize = library.sqlite3_initialize
    except (OSError, AttributeError):
        return False
    for function in (shutdown, config, initialize):
        function.restype = ctypes.c_int
    if shutdown() != SQLITE_OK:
        return False
    took = config(ctypes.c_int(SQLITE_CONFIG_MEMSTATUS), ctypes.c_int(0)) == SQLITE_OK
    initialize()
    return took
