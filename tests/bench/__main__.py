"""``python -m tests.bench [name …]``: run the benchmarks, print one table, write results.md.

A benchmark is a module of this folder whose ``main`` is annotated to return a list of
rows (``async def main() -> list[Row]`` or ``def main() -> list[Row]``; rows as built by
``tests.bench.common.row``). Helper modules whose ``main`` returns None (servers, load
generators, data generators) are skipped. Name modules on the command line to run only
those.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"
COLUMNS = ("benchmark", "figure", "value", "unit", "target", "baseline", "ratio", "ok")


def benchmark_modules(wanted: list[str]) -> list[str]:
    names = sorted(
        path.stem
        for path in HERE.glob("*.py")
        if not path.stem.startswith("_") and path.stem != "common"
    )
    if wanted:
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            raise SystemExit(f"no benchmark module named {', '.join(unknown)}")
        names = [name for name in names if name in wanted]
    found = []
    for name in names:
        module = importlib.import_module(f"tests.bench.{name}")
        main = getattr(module, "main", None)
        if main is None:
            continue
        returns = inspect.signature(main).return_annotation
        if str(returns).replace("typing.", "").startswith(("list", "List")):
            found.append(name)
    return found


def run_one(name: str) -> tuple[list[dict[str, Any]], float]:
    module = importlib.import_module(f"tests.bench.{name}")
    started = time.perf_counter()
    result = module.main()
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    return list(result), time.perf_counter() - started


def cell(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "ok"
    if value is False:
        return "MISSED"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[cell(r.get(column)) for column in COLUMNS] for r in rows]


def plain(rows: list[dict[str, Any]]) -> str:
    cells = [list(COLUMNS), *table(rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(line) + " |" for line in table(rows)]
    return "\n".join(lines)


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    with_model = Path("/proc/cpuinfo")
    if with_model.exists():
        for line in with_model.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for package in ("aiohttp", "aiosqlite", "websockets", "pydantic", "textual", "httpx"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return [
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.node()} · {cpu} · {os.cpu_count()} cores · {platform.platform()}",
        f"- Python {platform.python_version()} · SQLite {sqlite3.sqlite_version} · "
        + " · ".join(versions),
    ]


def main(argv: list[str]) -> int:
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for name in benchmark_modules(argv):
        print(f"running {name} …", file=sys.stderr, flush=True)
        try:
            found, seconds = run_one(name)
        except Exception as exc:  # one broken benchmark does not hide the others' figures
            print(f"{name} failed: {exc!r}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"{name}: {seconds:.1f} s", file=sys.stderr)
        rows += found
    print(plain(rows))
    text = ["# Benchmark results", "", *machine(), "", markdown(rows), ""]
    if failed:
        text += [f"Failed: {', '.join(failed)}", ""]
    RESULTS.write_text("\n".join(text), encoding="utf-8")
    print(
        f"\nwritten to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
