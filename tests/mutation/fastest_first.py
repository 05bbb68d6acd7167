"""A pytest plugin for mutmut's runs (``-p tests.mutation.fastest_first``, added by
``run.py``): each mutant's tests run quickest first, by the durations mutmut measured
in its clean run (``mutants/mutmut-stats.json``).

mutmut runs a mutant's tests with ``-x`` in no particular order, so a mutant that a
0.2 s test kills often waited first for tests that take seconds (the outbox's timeouts
and ambiguous waits). The same tests run, in another order: a survivor still runs all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STATS = Path("mutants") / "mutmut-stats.json"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not STATS.is_file():  # mutmut's own first run, which measures them
        return
    durations = json.loads(STATS.read_text(encoding="utf-8")).get("duration_by_test", {})
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
