"""A pytest plugin for mutmut's runs (``-p tests.mutation.fastest_first``, added by
``run.py``): each mutant's tests run in the order most likely to end soonest.

mutmut runs a mutant's tests with ``-x`` in no particular order, so a mutant that a
0.2 s test kills often waited first for tests that take seconds (the outbox's timeouts
and ambiguous waits). Here the tests that killed an earlier mutant of the same function
run first (mutmut runs a function's mutants one after another, and one test often kills
most of them), the newest killer first; then the rest, quickest first, by the durations
mutmut measured in its clean run (``mutmut-stats.json``); a test on SQLite before its
PostgreSQL twin, and the tests on PostgreSQL last (the server's start is no test's duration). The same tests run, in
another order: a survivor still runs them all.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

# mutmut runs a mutant's tests in its ``mutants`` folder, its clean runs beside it
STATS = next(
    (
        path
        for path in (Path("mutmut-stats.json"), Path("mutants") / "mutmut-stats.json")
        if path.is_file()
    ),
    Path("mutmut-stats.json"),
)
KILLERS = STATS.with_name("killers.txt")  # "function<TAB>test id" lines, oldest first


def _function() -> str:
    """The mutated function of this run (empty outside a mutant's run)."""
    return re.sub(r"__mutmut_\d+$", "", os.environ.get("MUTANT_UNDER_TEST", ""))


def _killers(function: str) -> list[str]:
    """The tests that killed this function's earlier mutants, newest first."""
    if not function or not KILLERS.is_file():
        return []
    found: list[str] = []
    for line in reversed(KILLERS.read_text(encoding="utf-8").splitlines()):
        name, _, test = line.partition("\t")
        if name == function and test not in found:
            found.append(test)
    return found


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not STATS.is_file():  # mutmut's own first run, which measures them
        return
    durations = json.loads(STATS.read_text(encoding="utf-8")).get("duration_by_test", {})
    killers: dict[str, int] = {}
    for rank, test in enumerate(_killers(_function())):
        killers.setdefault(_on_sqlite(test), rank)
    items.sort(
        key=lambda item: (
            killers.get(_on_sqlite(item.nodeid), len(killers)),
            item.get_closest_marker("postgresql") is not None,
            durations.get(item.nodeid, 0.0),
        )
    )


def _on_sqlite(test: str) -> str:
    """A test's SQLite twin: a test on PostgreSQL first starts the session's server (seconds,
    counted in no test's duration), so the twin of a killer runs first, and the tests on
    PostgreSQL after the others; a mutant only they kill is still killed."""
    return test.replace("[postgresql]", "[sqlite]").replace("[postgresql-", "[sqlite-")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    function = _function()
    if report.failed and function and STATS.is_file():
        with KILLERS.open("a", encoding="utf-8") as killers:  # one short line: appended whole
            killers.write(f"{function}\t{report.nodeid}\n")
