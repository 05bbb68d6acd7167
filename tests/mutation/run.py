"""``make mutate``: mutation testing of the critical rules with mutmut, one module group
at a time, each against the tests that check it; writes ``tests/mutation/results.md``.

``python -m tests.mutation.run [target …]`` (default: every target; ``--report`` only
rewrites results.md from the saved outcomes; ``--again`` re-runs only the survivors of a
target's last run, against the tests as they are now). Each target runs in
a copy of the project under ``.mutation/<target>/`` (mutmut writes ``mutants/`` there),
so targets can use different tests and never touch the work tree. A survivor that is
equivalent (no behaviour can tell it apart), or a gap worth naming, is explained in
``EXPLAINED`` below; any other survivor is listed as a gap.

Not part of ``make test``: a target takes from seconds (a pure domain module) to many
minutes (modules whose tests start a backend).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".mutation"
RESULTS = Path(__file__).resolve().parent / "results.md"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    files: tuple[str, ...]
    tests: tuple[str, ...]


# the critical rules, smallest (fastest) first, each with the tests that check it
TARGETS: dict[str, Target] = {
    "session": Target(
        ("backend/domain/session.py",),
        ("tests/domain/test_session.py", "tests/whatsapp/test_inbound_types.py"),
    ),
    "templates": Target(("backend/domain/templates.py",), ("tests/domain/test_templates.py",)),
    "usage": Target(
        ("backend/domain/usage.py",), ("tests/domain/test_usage.py", "tests/whatsapp/test_usage.py")
    ),
    "webhook_signature": Target(
        ("backend/whatsapp/webhook.py",), ("tests/whatsapp/test_inbound_webhook.py",)
    ),
    "policy": Target(("backend/domain/policy.py",), ("tests/domain/test_policy.py",)),
    "statuses": Target(("backend/store/statuses.py",), ("tests/whatsapp/test_statuses.py",)),
    "events_replay": Target(
        ("backend/store/events.py", "backend/api/ws.py"),
        (
            "tests/backend/test_live_push.py",
            "tests/backend/test_sql_events.py",
            "tests/backend/test_engine.py::test_seq_never_reused_after_pruning_everything",
        ),
    ),
    "thread_list": Target(
        ("tui/widgets/thread_list.py",),
        ("tests/tui/test_thread_list.py", "tests/tui/test_thread_list_live.py"),
    ),
    # the outbox in two: the worker's rules and the queue's SQL, each against the tests
    # that send through a real backend and the simulator's Graph API
    "outbox_worker": Target(
        ("backend/whatsapp/outbox.py",),
        (
            "tests/whatsapp/test_outbox_retries.py",
            "tests/whatsapp/test_outbox_sends.py",
            "tests/whatsapp/test_outbound_faults.py",
            "tests/whatsapp/test_outbound_graph.py",
            "tests/whatsapp/test_outbound_send.py",
        ),
    ),
    "outbox_store": Target(
        ("backend/store/outbox.py",),
        (
            "tests/whatsapp/test_outbox_retries.py",
            "tests/whatsapp/test_outbox_sends.py",
            "tests/whatsapp/test_outbound_faults.py",
            "tests/whatsapp/test_outbound_send.py",
        ),
    ),
}

# survivors explained (name → why): "equivalent" when no behaviour tells the mutant from the
# original; "gap" when a test could, but none does yet
EXPLAINED: dict[str, str] = {
    "backend.domain.templates.x_placeholders__mutmut_5": (
        'equivalent: `text or "XXXX"` — a stand-in text without placeholders has none, '
        "as the empty text"
    ),
    "backend.domain.usage.x_usage_level__mutmut_2": (
        "equivalent: `limit < 0` — usage is never negative, so a limit of 0 is exhausted by "
        "`used >= limit` all the same"
    ),
    "backend.whatsapp.webhook.x_signature_valid__mutmut_7": (
        "equivalent: `rpartition` — a header is accepted only as `sha256=<hex>`, which has "
        "one `=`, so splitting at the first or the last is the same"
    ),
    "backend.whatsapp.webhook.x_signature_valid__mutmut_33": (
        "equivalent: the codec name `UTF-8` is `utf-8`"
    ),
    **{
        f"backend.domain.policy.x__one_edit_apart__mutmut_{n}": why
        for n, why in {
            1: "equivalent: equal strings fall through to no difference found: False all the same",
            6: "equivalent: lengths two apart fall through to the deletion loop, which finds none",
            17: "equivalent: the padding is read only when there are two or more differences",
            18: "equivalent: the padding is read only when there are two or more differences",
            33: "equivalent: `<=` — equal lengths were answered above",
        }.items()
    },
    "backend.domain.policy.x__luhn_valid__mutmut_16": (
        "equivalent: `value >= 9` — a doubled digit is even, never 9"
    ),
    "backend.domain.policy.x__luhn_valid__mutmut_22": (
        "equivalent: `total -= value` — −t is a multiple of 10 exactly when t is"
    ),
    "backend.domain.policy.x__iban_valid__mutmut_18": (
        "equivalent: the IBAN pattern already requires two digits after the country code"
    ),
    "backend.domain.policy.x__iban_valid__mutmut_20": (
        "equivalent: the IBAN pattern already requires two digits after the country code"
    ),
    "backend.domain.policy.x__iban_valid__mutmut_41": (
        'equivalent: `<= "z"` — the candidate is upper-cased first'
    ),
    "backend.domain.policy.x__iban_valid__mutmut_51": (
        "equivalent: the pattern lets only letters and digits through"
    ),
    "backend.domain.policy.xǁContentPolicyǁ_has_payment_card__mutmut_19": (
        "equivalent: `<= 20` — the card pattern takes at most 19 digits"
    ),
    "backend.domain.policy.xǁContentPolicyǁ_has_national_id__mutmut_12": (
        'equivalent: `rindex` — each of X, Y, Z is once in "XYZ"'
    ),
    "backend.domain.policy.xǁContentPolicyǁ_has_one_time_code__mutmut_16": (
        'gap, accepted: the look-back for a qualifier ("zip code") is 24 characters; 25 '
        "differs only after 21 or more spaces, which no rule speaks of"
    ),
}

# events_replay (backend/store/events.py, backend/api/ws.py)
_TIMING_ONLY = (
    "equivalent but for time: the timer only decides when the bucket is looked at again, and "
    "the look refills and re-checks it, so presence goes out in the same order, sooner or later"
)
EXPLAINED |= {
    "backend.store.events.xǁEventsStoreǁevents_after__mutmut_1": (
        "gap, accepted: `events_after`'s default limit (5000 → 5001) — no product code calls "
        "it (the replay pages with `event_page`); tests read the log with it"
    ),
    "backend.api.ws.xǁPresenceLimiterǁ_flush__mutmut_13": (
        "equivalent: `tokens <= 1` — the bucket refills by the time since its last look, so "
        "it holds exactly 1.0 token only if no time at all passed"
    ),
    "backend.api.ws.xǁPresenceLimiterǁ_flush__mutmut_10": (
        "equivalent but for time: a refill 25 times slower delays the state over the burst, "
        "never loses it (the burst test waits for it; on a slow run it arrives in time)"
    ),
    "backend.api.ws.xǁPresenceLimiterǁ_flush__mutmut_16": _TIMING_ONLY,
    "backend.api.ws.xǁPresenceLimiterǁ_flush__mutmut_17": _TIMING_ONLY,
    "backend.api.ws.xǁPresenceLimiterǁ_flush__mutmut_18": _TIMING_ONLY,
    "backend.api.ws.xǁPresenceLimiterǁ_flush__mutmut_28": (
        'equivalent: `_pending = ""` after a send — `_flush` runs only from `offer`, which '
        "sets a new state first, or from the timer armed while a state waits"
    ),
    "backend.store.events.xǁEventsStoreǁevent_bounds__mutmut_8": (
        "equivalent: `row[1] is None` — MIN and MAX of the log are null together"
    ),
    "backend.api.ws.xǁPresenceLimiterǁ__init____mutmut_6": (
        'equivalent: `_pending = ""` at the start — `offer` sets a state before any `_flush`'
    ),
    "backend.api.ws.xǁPresenceLimiterǁclose__mutmut_2": (
        'equivalent: `_timer = ""` — `close` is the limiter\'s last call'
    ),
    **{
        f"backend.api.ws.x_resync_frame__mutmut_{n}": (
            "equivalent: a resync's fields are a string and a whole number, the same in "
            "pydantic's Python and JSON dumps (any mode but `json` is Python)"
        )
        for n in (2, 7, 8)
    },
    "backend.api.ws.x__limit_send_buffer__mutmut_4": (
        "equivalent: a request being answered always has its transport"
    ),
    "backend.api.ws.x__limit_send_buffer__mutmut_10": (
        "equivalent here: setting SO_SNDBUF on a connected TCP socket does not fail on Linux"
    ),
    **{
        name: (
            "equivalent but for time: the connection's own end unsubscribes it too, once the "
            "close frame is sent or SLOW_CLIENT_CLOSE_SECONDS pass"
        )
        for name in (
            "backend.api.ws.x__push__mutmut_24",
            "backend.api.ws.x__drop_slow_client__mutmut_1",
        )
    },
    **{
        f"backend.api.ws.x__drop_slow_client__mutmut_{n}": (
            "gap, accepted: which error (a connection gone, a closing socket, the time limit) "
            "the resync or the close meets at the moment of the drop depends on the kernel's "
            "buffers at that instant, which no test controls; the abort, tested, ends such a "
            "connection whatever happened"
        )
        for n in (2, 3, 4, 5, 6, 7, 8, 13, 14, 15, 16, 17, 18, 19)
    },
    **{
        f"backend.api.ws.x__drop_slow_client__mutmut_{n}": (
            "equivalent but for time: the close frame waits for the socket at most "
            "SLOW_CLIENT_CLOSE_SECONDS, drained or not"
        )
        for n in (22, 25, 29)
    },
}


@dataclass
class Outcome:
    target: str
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[tuple[str, str]] = field(default_factory=list)  # (name, diff)
    seconds: float = 0.0
    error: str = ""
    measured: str = ""  # when, and at which commit of the work tree

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def killed(self) -> int:
        # a timeout is a mutant the tests noticed (it hung); "no tests" is not killed
        return self.counts.get("killed", 0) + self.counts.get("timeout", 0)

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.total if self.total else 0.0


def _config(target: Target) -> str:
    def toml_list(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    roots = sorted({file.split("/")[0] for file in target.files})
    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(tuple(roots))}\n"
        f"only_mutate = {toml_list(target.files)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(target.tests)}\n"
    )


def _prepare(name: str, target: Target) -> Path:
    place = WORK / name
    shutil.rmtree(place, ignore_errors=True)
    place.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".data")
    for folder in ("backend", "tui", "tests"):
        shutil.copytree(ROOT / folder, place / folder, ignore=ignore)
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + _config(target)
    (place / "pyproject.toml").write_text(config, encoding="utf-8")
    return place


def _measured() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = (
        " with uncommitted changes"
        if git("status", "--porcelain", "backend", "tui", "tests")
        else ""
    )
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC at {commit}{dirty}"


def _mutmut(place: Path, *args: str, timeout: float | None = None) -> str:
    done = subprocess.run(
        [str(MUTMUT), *args],
        cwd=place,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.stdout + done.stderr


def _refresh_tests(name: str) -> list[str]:
    """For ``--again``: the survivors of the target's last run, with today's tests copied
    over its copy of the project (its code and mutants stay as they were measured)."""
    place = WORK / name
    last = json.loads((place / "outcome.json").read_text(encoding="utf-8"))
    shutil.rmtree(place / "tests")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".data")
    shutil.copytree(ROOT / "tests", place / "tests", ignore=ignore)
    return [mutant.split(" ")[0] for mutant, _ in last["survivors"]]


def run_target(name: str, children: int, *, again: bool = False) -> Outcome:
    target = TARGETS[name]
    outcome = Outcome(name, measured=_measured())
    if again and (WORK / name / "outcome.json").is_file():
        place = WORK / name
        survivors = _refresh_tests(name)
        # mutmut keeps the verdict of every mutant not named: killed ones stay killed
        outcome.measured += ", survivors re-run with later tests"
    else:
        place = _prepare(name, target)
        survivors = []
    started = time.monotonic()
    log = _mutmut(place, "run", "--max-children", str(children), *survivors)
    outcome.seconds = time.monotonic() - started
    (place / "run.log").write_text(log, encoding="utf-8")
    listing = _mutmut(place, "results", "--all", "true")
    for line in listing.splitlines():
        found = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if found is None:
            continue
        mutant, status = found.groups()
        outcome.counts[status] = outcome.counts.get(status, 0) + 1
        if status not in ("killed", "timeout"):
            diff = _mutmut(place, "show", mutant)
            changed = [
                text
                for text in diff.splitlines()
                if text[:1] in "+-" and not text.startswith(("+++", "---"))
            ]
            outcome.survivors.append((f"{mutant} ({status})", "\n".join(changed)))
    if not outcome.counts:
        outcome.error = log[-2000:]
    (place / "outcome.json").write_text(json.dumps(outcome.__dict__), encoding="utf-8")
    return outcome


def saved_outcomes() -> list[Outcome]:
    """The latest outcome of every target run so far (``.mutation/<target>/outcome.json``)."""
    outcomes = []
    for name in TARGETS:
        path = WORK / name / "outcome.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("run_at", None)  # written by earlier versions
            data["survivors"] = [tuple(pair) for pair in data["survivors"]]
            outcomes.append(Outcome(**data))
    return outcomes


def _sql_case_only(diff: str) -> str | None:
    """Why a mutant that only changes the case of SQL text is equivalent, or None.

    SQLite reads keywords, table and column names in any case; quoted literals
    (``'pending'``) are compared as written, so they must be unchanged."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    if len(removed) != len(added) or not removed:
        return None
    for before, after in zip(removed, added, strict=True):
        if before == after or before.lower() != after.lower():
            return None
        if not _SQL_WORDS.search(before):
            return None
        if re.findall(r"'[^']*'", before) != re.findall(r"'[^']*'", after):
            return None
    return "equivalent: only the case of SQL keywords and names changes, which SQLite ignores"


_SQL_WORDS = re.compile(r"\b(SELECT|UPDATE|INSERT|DELETE)\b.*\b(FROM|SET|INTO|WHERE)\b", re.I)


def _why(mutant: str, diff: str) -> str:
    name = mutant.split(" ")[0]
    return EXPLAINED.get(name) or _sql_case_only(diff) or "gap: no test kills it yet"


def _kept_sections(text: str) -> tuple[dict[str, str], dict[str, list[str]], list[list[str]]]:
    """From a results.md: each target's table row, each target's survivors section, and the
    other sections (notes) — so a run of some targets keeps what the others last showed."""
    rows: dict[str, str] = {}
    survivors: dict[str, list[str]] = {}
    others: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        row = re.match(r"\| (\w+) \| `", line)
        if row is not None and current is None:
            rows[row.group(1)] = line
            continue
        heading = re.match(r"## (\w+): survivors", line)
        if heading is not None:
            current = survivors.setdefault(heading.group(1), [])
        elif line.startswith("## "):
            current = []
            others.append(current)
        if current is not None:
            current.append(line)
    return rows, survivors, others


def write_results(outcomes: list[Outcome]) -> None:
    """Rewrite results.md: the targets with a saved outcome from it, the others as the
    previous results.md showed them (another work tree may have run them), or "not run"."""
    previous = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    kept_rows, kept_survivors, notes = _kept_sections(previous)
    by_name = {outcome.target: outcome for outcome in outcomes}
    lines = [
        "# Mutation testing of the critical rules",
        "",
        "`make mutate` (mutmut, `tests/mutation/run.py`). Each module group is mutated alone",
        "and checked against its own tests (listed in `TARGETS`); a mutant is killed when a",
        "test fails (or hangs: timeout). Target: 90 % killed per module. A run rewrites the",
        "rows and survivors of the targets it ran and keeps the others'; each target's",
        "survivors heading says when and at which commit it was measured.",
        "",
        "| target | modules | mutants | killed | survived | no tests | score | minutes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, target in TARGETS.items():
        files = ", ".join(f"`{f}`" for f in target.files)
        outcome = by_name.get(name)
        if outcome is None:
            lines.append(kept_rows.get(name, f"| {name} | {files} | not run | | | | | |"))
            continue
        survived = outcome.counts.get("survived", 0)
        untested = outcome.counts.get("no tests", 0)
        lines.append(
            f"| {name} | {files} | {outcome.total} | {outcome.killed} | {survived} | "
            f"{untested} | {outcome.score:.0f} % | {outcome.seconds / 60:.1f} |"
        )
    for section in notes:
        lines += ["", *section]
        while lines[-1] == "":
            lines.pop()
    for name in TARGETS:
        outcome = by_name.get(name)
        if outcome is None:
            if name in kept_survivors:
                lines += ["", *kept_survivors[name]]
                while lines[-1] == "":
                    lines.pop()
            continue
        measured = f" (measured {outcome.measured})" if outcome.measured else ""
        lines += ["", f"## {name}: survivors{measured}", ""]
        if outcome.error:
            lines += ["mutmut did not run:", "", "```", outcome.error, "```"]
            continue
        if not outcome.survivors:
            lines.append("None.")
            continue
        for mutant, diff in outcome.survivors:
            lines += [f"- `{mutant}` — {_why(mutant, diff)}", "", "  ```diff"]
            lines += [f"  {text}" for text in diff.splitlines()]
            lines += ["  ```", ""]
    RESULTS.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    children = 1  # one worker: the machine is shared
    wanted = [arg for arg in argv if not arg.startswith("-")] or list(TARGETS)
    unknown = [name for name in wanted if name not in TARGETS]
    if unknown:
        print(f"unknown targets: {', '.join(unknown)}; known: {', '.join(TARGETS)}")
        return 2
    outcomes = []
    if "--report" in argv:  # only rewrite results.md from the saved outcomes
        wanted = []
    for name in wanted:
        print(f"mutating {name} …", flush=True)
        outcome = run_target(name, children, again="--again" in argv)
        print(
            f"  {outcome.target}: {outcome.killed}/{outcome.total} killed "
            f"({outcome.score:.0f} %) in {outcome.seconds / 60:.1f} min",
            flush=True,
        )
        outcomes.append(outcome)
    write_results(saved_outcomes())  # the targets run now, and the latest run of the others
    return 0 if all(o.score >= 90 for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
