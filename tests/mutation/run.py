"""``make mutate``: mutation testing of the critical rules with mutmut, one module group
at a time, each against the tests that check it; writes ``tests/mutation/results.md``.

``python -m tests.mutation.run [target …]`` (default: every target; ``--report`` only
rewrites results.md from the saved outcomes; ``--again GLOB …`` re-runs only the mutants
named, with the current tests, in the target's last copy; ``--resume`` runs, in it, the
mutants an interrupted run left unchecked, with the current tests; ``--collect`` only reads its verdicts;
``TARGET --alone MUTANT … [--tests TEST …]`` runs each named survivor alone against the
current tests and counts those a test fails on as killed in the saved outcome;
``TARGET --only GLOB …`` mutates today's code in a fresh copy and runs only the mutants
matching (the functions changed since the saved outcome), every other mutant keeping its
saved verdict; ``--resume`` and ``--collect`` go on with such a run). Each
target runs in a copy of the project under ``.mutation/<target>/`` (mutmut writes ``mutants/`` there),
so targets can use different tests and never touch the work tree. Each target's outcome
is saved in ``tests/mutation/outcomes/<target>.json`` (committed): results.md shows the
latest outcome of every target, whichever were run this time (a target with no saved
outcome keeps what the previous results.md showed of it: another work tree ran it). One mutmut worker unless
``MUTATE_CHILDREN`` says more (the machine is shared). A survivor that is
equivalent (no behaviour can tell it apart), or a gap worth naming, is explained in
``EXPLAINED`` below; any other survivor is listed as a gap.

Not part of ``make test``: a target takes from seconds (a pure domain module) to many
minutes (modules whose tests start a backend).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CASE_ONLY = "case only"  # an outcome's count of mutants skipped as equivalent by construction
WORK = ROOT / ".mutation"
RESULTS = Path(__file__).resolve().parent / "results.md"
OUTCOMES = Path(__file__).resolve().parent / "outcomes"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    files: tuple[str, ...]
    tests: tuple[str, ...]  # pytest arguments: test files or ids (and options, e.g. -k)


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
        ("backend/whatsapp/webhook.py",),
        (
            "tests/whatsapp/test_inbound_webhook.py",
            # numbers out of range read as missing fields (added after the last run)
            "tests/whatsapp/test_hostile_webhooks.py::"
            "test_numbers_out_of_range_leave_that_field_invalid_and_the_message_stored",
        ),
    ),
    # without the megabyte inputs: under mutmut's tracing one takes ~45 s, and a survivor
    # runs every test that covers it (checked by hand against the gaps left; see NOTES)
    "policy": Target(
        ("backend/domain/policy.py",),
        ("tests/domain/test_policy.py", "-k", "not a_megabyte_of_hostile_text"),
    ),
    "statuses": Target(
        ("backend/store/statuses.py",),
        (
            "tests/whatsapp/test_statuses.py",
            "tests/whatsapp/test_status_rules.py",
            "tests/whatsapp/test_pricing.py",
            # where the daily counts of what statuses price show (added after the last run)
            "tests/whatsapp/test_usage_month.py",
            # the days a daily count is kept under, read back per day
            "tests/whatsapp/test_reports.py::"
            "test_cost_per_day_adds_up_to_the_month_with_the_allowance",
            # a status below sent ends an ambiguous send's "checking" (added after the last run)
            "tests/whatsapp/test_outbound_faults.py::"
            "test_a_status_below_sent_naming_an_ambiguous_send_ends_checking",
        ),
    ),
    "events_replay": Target(
        ("backend/store/events.py", "backend/api/ws.py"),
        (
            "tests/backend/test_live_push.py",
            "tests/backend/test_sql_events.py",
            "tests/backend/test_engine.py::test_seq_never_reused_after_pruning_everything",
        ),
    ),
    # the list's rules (paging, the cursor's bounds, retries, reloads, the hold), kept apart
    # from the widget that draws them (``tui/widgets/thread_list.py``, checked by the pilot
    # tests of ``tests/tui/test_thread_list*.py``), against their own plain tests
    "thread_list": Target(("tui/thread_pages.py",), ("tests/tui/test_thread_pages.py",)),
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
            # the leases through the worker: renewal, its sweep of a dead neighbour's sends
            "tests/whatsapp/test_outbox_leases.py",
            # a row queued before migration 0024 sent with its old body (added after the run)
            "tests/whatsapp/test_graph_bodies.py::"
            "test_sends_queued_by_an_older_version_go_out_as_they_were_built",
        ),
    ),
    "outbox_store": Target(
        ("backend/store/outbox.py",),
        (
            "tests/whatsapp/test_outbox_retries.py",
            "tests/whatsapp/test_outbox_sends.py",
            "tests/whatsapp/test_outbound_faults.py",
            "tests/whatsapp/test_outbound_send.py",
            # the leases (on both engines: PostgreSQL is the one with several processes),
            # which sends are due, and the rows queued before 0024 or unreadable
            "tests/whatsapp/test_outbox_leases.py",
            "tests/backend/test_outbox_leases.py",
            "tests/backend/test_outbox_due.py",
            "tests/whatsapp/test_graph_bodies.py::"
            "test_sends_queued_by_an_older_version_go_out_as_they_were_built",
            "tests/whatsapp/test_graph_bodies.py::"
            "test_a_queued_request_that_cannot_be_read_fails_and_the_queue_goes_on",
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
    **{
        f"backend.whatsapp.webhook.{name}": "equivalent: the codec name `UTF-8` is `utf-8`"
        for name in ("x_signature_valid__mutmut_33", "x_handshake_answer__mutmut_14")
    },
    **{
        f"backend.whatsapp.webhook.x_handshake_answer__mutmut_{n}": (
            "equivalent: the encoding's error handler is never called — aiohttp refuses a "
            "query holding raw bytes that are not ASCII (400) and yarl decodes "
            "percent-encoded bytes that are not UTF-8 as U+FFFD, so a query value always "
            "encodes (tried against aiohttp 3.14: `%ED%A0%80` reads as three U+FFFD)"
        )
        for n in (5, 15, 16)
    },
    "backend.whatsapp.webhook.x_handshake_answer__mutmut_12": (
        'equivalent: a missing token reads as "XXXX" instead of the empty text, refused '
        "all the same unless the desk's verify token were that very text (the empty one is "
        "refused before)"
    ),
    "backend.whatsapp.webhook.x_receive__mutmut_29": (
        "equivalent but for time: the one-pass reading is a shortcut — `parse_notification` "
        "reads every body, the commonest shape too, into the same changes "
        "(`tests/whatsapp/test_plain_text.py`)"
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
    **{
        f"backend.domain.policy.x__links__mutmut_{n}": (
            "equivalent: an IPv6 literal host, cut at its first colon or not, is never a brand, "
            "a shortener or a listed domain"
        )
        for n in (13, 24)
    },
    **{
        f"backend.domain.policy.x__links__mutmut_{n}": (
            "equivalent: outside brackets a host has at most one colon (its port), so every "
            "split keeps the same first part"
        )
        for n in (17, 18, 20)
    },
    "backend.domain.policy.x__links__mutmut_57": (
        "equivalent: `has_scheme=None` — it is only read as a truth value, as False"
    ),
    **{
        f"backend.domain.policy.x__rules_that_could_fire__mutmut_{n}": (
            "equivalent: the quick test only lets more rules through to their full patterns, "
            "which decide (it is a necessary condition, for speed)"
        )
        for n in (3, 30, 31, 32, 36, 55)
    },
    "backend.domain.policy.xǁContentPolicyǁ_link_rule__mutmut_10": (
        "equivalent: `shortener_seen = None` — only read as a truth value, as False"
    ),
    "backend.domain.policy.xǁContentPolicyǁ_link_rule__mutmut_16": (
        "equivalent: with the shortener rule off, a shortener seen returns that rule (None), "
        "as not looking does"
    ),
    "backend.domain.policy.x__normalize_domain__mutmut_4": (
        'equivalent: `rstrip("XX.XX")` — the name is lowercased first, so only dots go'
    ),
    "backend.domain.policy.x__rules_that_could_fire__mutmut_70": (
        "equivalent: the quick test only lets more rules through to their full patterns, "
        "which decide (it is a necessary condition, for speed)"
    ),
    "backend.domain.policy.xǁContentPolicyǁcheck__mutmut_4": (
        "equivalent: `decode()` decodes UTF-8 by default"
    ),
    "backend.domain.policy.xǁContentPolicyǁcheck__mutmut_8": (
        "equivalent: the codec name `UTF-8` is `utf-8`"
    ),
    "backend.domain.policy.xǁContentPolicyǁcheck__mutmut_16": (
        "equivalent: the link rules run on text the quick test would have ruled out, and find "
        "no link there (it is a necessary condition, for speed)"
    ),
    # ---- statuses
    **{
        f"backend.store.statuses.{name}": (
            "equivalent: a status kept aside is replayed by its wamid, which its message "
            "carries by then: its opaque data is never read again"
        )
        for name in (
            "x__early_json__mutmut_6",
            "x__early_json__mutmut_7",
            *(f"x__early_record__mutmut_{n}" for n in (4, 11, 21, 22, 23)),
        )
    },
    **{
        f"backend.store.statuses.{name}": (
            "equivalent: the default of `loads` stands for an empty value, and a kept status "
            "is always written as a JSON object"
        )
        for name in (
            "x__keep_early__mutmut_15",
            "x__keep_early__mutmut_17",
            "x__replay_early__mutmut_21",
            "x__replay_early__mutmut_23",
            "x_prune_early_statuses__mutmut_26",
            "x_prune_early_statuses__mutmut_28",
        )
    },
    **{
        f"backend.store.statuses.x__replay_early__mutmut_{n}": (
            "equivalent: a kept record is always written with its `statuses`"
        )
        for n in (28, 30)
    },
    **{
        f"backend.store.statuses.x__apply_to_message__mutmut_{n}": (
            "equivalent: `=` for `+=` — the lists are still empty in the failed branch"
        )
        for n in (34, 42)
    },
    "backend.store.statuses.x__apply_to_message__mutmut_17": (
        "equivalent: a status WhatsApp has no rank for at -2 rather than -1 — both are below "
        "sending, so it still reads sending on a send being checked"
    ),
    "backend.store.statuses.x__apply_to_message__mutmut_18": (
        "equivalent: `<=` for `<` — a sending status on a send being checked reads sending "
        "either way"
    ),
    "backend.store.statuses.x_apply_status__mutmut_49": (
        "equivalent: `attached = None` — only read as a truth value, as False"
    ),
    "backend.store.statuses.x_apply_status__mutmut_164": (
        "equivalent: `created=None` — only read as a truth value, as False"
    ),
    "backend.store.statuses.x__apply_pricing__mutmut_16": (
        "equivalent: only the case of SQL names changes (`C.COUNTRY`), which SQLite ignores"
    ),
    "backend.store.statuses.x__apply_to_message__mutmut_67": (
        "equivalent: `>=` for `>` — two states of one rank are the same state (a queued status "
        "on a send being checked reads sending first), so the UPDATE writes the state it has "
        "and `before == after` answers unchanged, as with no UPDATE"
    ),
    "backend.store.statuses.x__apply_to_message__mutmut_73": (
        'equivalent: `current or "XXXX"` — neither "" nor "XXXX" is a state, so both rank -1'
    ),
    "backend.store.statuses.x__apply_to_message__mutmut_75": (
        "equivalent: a state with no rank at -2 rather than -1 — every status ranks 0 or more"
    ),
    "backend.store.statuses.x__apply_to_message__mutmut_131": (
        "equivalent: the message exists in this transaction, so `before` and `after` are rows"
    ),
    "backend.store.statuses.x__apply_pricing__mutmut_6": (
        "equivalent: a failure reaches here at most once per wamid (a repeat is dropped by its "
        "receipt) and always changes the message (its state and error, or after delivered or "
        "read its empty `failed_at`), so `changed` is True whatever pricing answers"
    ),
    **{
        f"backend.store.statuses.x__apply_pricing__mutmut_{n}": (
            "equivalent: `apply_status` prices only the outbound message it has just read in "
            "this transaction (an inbound one is `not_ours` before, the opaque data's lookup "
            "asks for an outbound one), so the row is there and outbound"
        )
        for n in (26, 31)
    },
    **{
        f"backend.store.statuses.x__apply_pricing__mutmut_{n}": (
            "equivalent: a 3-tuple never equals a 2-tuple, so a repricing that keeps category "
            "and billable is counted too: -1 and +1 on the same day's row (its day, number and "
            "market were fixed at the first pricing), no change"
        )
        for n in (74, 76)
    },
    "backend.store.statuses.x_prune_early_statuses__mutmut_33": (
        'equivalent: `""` sorts before every time, so an unreadable record is forgotten as '
        "with None"
    ),
}

# events_replay (mutb)
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
        f"backend.api.ws.x__write__mutmut_{n}": (
            "equivalent but for time: drained, the writer waits for a client that stopped "
            "reading to take the close frame (or for SLOW_CLIENT_ABORT_SECONDS to cut it) "
            "before waiting for its answer; not drained, it waits for that answer at most "
            "aiohttp's close timeout and closes the transport, which still hands the client "
            "the resync and the close when it reads. The client reads the same frames, and "
            "the hub let go of it at the overflow either way"
        )
        for n in (10, 13, 17)
    },
}

# thread_list (mutlist4): the rules of ``tui/thread_pages.py``
_PAGES = "tui.thread_pages.xǁThreadPagesǁ"
_TRUTH_ONLY = "equivalent: `None` for `False` — the flag is only read as a truth value"
EXPLAINED |= {
    f"{_PAGES}__init____mutmut_12": (
        "equivalent: the first generation numbered 1, not 0 — a generation is only compared "
        "with the one its request was made in"
    ),
    # (listrace) the live changes are only numbered to be compared with one another and with
    # the number a page was asked at: where they start and their step change no comparison
    **{
        f"{_PAGES}{name}": (
            "equivalent: the live changes numbered from another start, or by another step "
            "— a number is only compared with the others"
        )
        for name in ("__init____mutmut_26", "thread_changed__mutmut_3")
    },
    **{
        f"{_PAGES}{name}": _TRUTH_ONLY
        for name in (
            "__init____mutmut_21",
            "__init____mutmut_23",
            "reload_due__mutmut_1",
            "hold_ended__mutmut_1",
        )
    },
}
# outbox_store (mutobox4)
_STORE_SENT = "backend.store.outbox.xǁOutboxStoreǁoutbox_sent__mutmut_"
EXPLAINED |= {
    **{
        f"{_STORE_SENT}{n}": (
            "equivalent: only the case of a column or table name in the UPDATE `tx.update` "
            "builds (unquoted: SQLite ignores case, PostgreSQL folds it); the key is read "
            "nowhere else"
        )
        for n in (46, 69, 79)
    },
    **{
        f"{_STORE_SENT}{n}": (
            "equivalent: `messages.content` is NOT NULL DEFAULT '{}' (migration 0001) and "
            "always written as a JSON object, so `loads` never falls back to its default"
        )
        for n in (53, 55)
    },
    **{
        f"backend.store.outbox.xǁOutboxStoreǁ{name}": (
            'equivalent: the claim clause\'s alias `"O"` — SQLite adds no clause, PostgreSQL '
            "folds the unquoted alias to `o`"
        )
        for name in ("resolve_ambiguous__mutmut_20", "claim_outbox__mutmut_53")
    },
    "backend.store.outbox.xǁOutboxStoreǁresolve_ambiguous__mutmut_22": (
        "equivalent: the answer and every status settle the outbox row in the transaction "
        "that writes the wamid or the state (`settle_outbox_row`), and a settled row is never "
        "made ambiguous again, so a row still ambiguous when its wait ends has neither: the "
        "check is defensive, false with `or` as with `and`"
    ),
    **{
        f"backend.store.outbox.xǁOutboxStoreǁresolve_ambiguous__mutmut_{n}": (
            "equivalent: the settling branch at the wait's end is never taken — the answer and "
            "every status settle the outbox row in the transaction that writes the wamid or "
            "the state, so a row still ambiguous then has neither (the check is defensive)"
        )
        for n in (28, 29, 30, 31, 32)
    },
    **{
        f"backend.store.outbox.xǁOutboxStoreǁclaim_outbox__mutmut_{n}": (
            "equivalent: only the case of SQL keywords, names and aliases changes: SQLite "
            "ignores it (and `sqlite3.Row` finds `MEDIA_PATH` as `media_path`), PostgreSQL "
            "folds unquoted names and aliases to lower case"
        )
        for n in (13, 14)
    },
    **{
        name: (
            "equivalent: only the case of the SQL keywords `AND` and `IN` changes (the quoted "
            "states stay), which SQLite and PostgreSQL ignore"
        )
        for name in (
            "backend.store.outbox.xǁOutboxStoreǁnext_outbox_due__mutmut_15",
            "backend.store.outbox.xǁOutboxStoreǁclaim_outbox__mutmut_46",
            "backend.store.outbox.x__checking__mutmut_10",
        )
    },
    **{
        name: "equivalent: `created=None` — only read as a truth value, as False"
        for name in (
            f"{_STORE_SENT}109",
            "backend.store.outbox.x__fail_message__mutmut_45",
            "backend.store.outbox.x__checking__mutmut_14",
        )
    },
}
EXPLAINED["backend.store.outbox.xǁOutboxStoreǁclaim_outbox__mutmut_95"] = (
    "equivalent: `OutboxJob.thread_id=None` — nothing reads a job's thread (the worker keys "
    "each send by its message id)"
)
EXPLAINED["backend.store.outbox.xǁOutboxStoreǁclaim_outbox__mutmut_131"] = (
    "equivalent: a job's `legacy_body` is read only when it has no `request` (the worker "
    "builds the body from the request first), so filling it for every row changes nothing"
)
EXPLAINED["backend.store.outbox.xǁOutboxStoreǁclaim_outbox__mutmut_133"] = (
    "equivalent: a row queued before 0024 always has its Graph body in `payload` (only "
    "rows queued since leave it empty, and they have a `request`), so `loads` never "
    "falls back to its default"
)
EXPLAINED["backend.store.outbox.xǁOutboxStoreǁclaim_outbox__mutmut_135"] = (
    "equivalent: `loads`' default dropped (None for {}) — as `_133`: a row queued before "
    "0024 always has its body in `payload`, so the default is never used"
)
# outbox_worker (mutate)
_WORKER = "backend.whatsapp.outbox.xǁOutboxWorkerǁ"
EXPLAINED |= {
    **{
        f"{_WORKER}_uploaded__mutmut_{n}": (
            "equivalent: a media send is refused unless its file is an agent's upload whose "
            "type maps to a WhatsApp kind (`media_kind`), so the type is never empty and the "
            "fallback never used"
        )
        for n in (25, 26)
    },
    f"{_WORKER}_send__mutmut_64": (
        "equivalent: `upload=None` — only read as a truth value, as False"
    ),
    f"{_WORKER}_send__mutmut_71": (
        "equivalent: the Graph client always answers a dict (a JSON answer that is not an "
        'object comes wrapped in one, `{"data": ...}`), so the check always holds'
    ),
    f"{_WORKER}__init____mutmut_1": (
        "equivalent: the default ambiguous wait (60 → 61 s) — the app's worker always gets "
        "the setting (`whatsapp_ambiguous_wait`, tested), so the default is never used"
    ),
    **{
        f"{_WORKER}start__mutmut_{n}": (
            "equivalent: the loop task's name — nothing reads it (it only labels the task "
            "in a debugging dump)"
        )
        for n in (17, 19, 20, 21)  # 14, 16-18 before recover_outbox took the time
    },
    **{
        f"{_WORKER}__init____mutmut_{n}": (
            "equivalent: the lease keeper's clock left to its default — the app's worker "
            "runs on the system clock (no caller passes another), the keeper's default"
        )
        for n in (28, 35)
    },
    **{
        f"{_WORKER}run_once__mutmut_{n}": (
            "equivalent: a send task's name — nothing reads it (it only labels the task in a "
            "debugging dump)"
        )
        for n in (24, 26)  # 22 and 24 before the claim took the lease
    },
    f"{_WORKER}_now__mutmut_1": (
        "equivalent: `astimezone(None)` — the time is aware either way, and every use "
        "subtracts aware times or stores them through `iso`, which turns them into UTC"
    ),
    **{
        f"{_WORKER}_idle_time__mutmut_{n}": (
            "equivalent but for time: the idle time only decides when the loop looks at the "
            "queue again (at most a poll later; a new send or a finished one wakes it at "
            "once), and each look claims whatever is due, so the same sends go, sooner or later"
        )
        for n in (1, 5, 6, 7, 8, 20)
    },
    f"{_WORKER}run_once__mutmut_14": (
        "equivalent: `free < 0` — with no room left the claim asks for 0 rows (`LIMIT 0`) "
        "and gets none, as returning does"
    ),
    f"{_WORKER}stop__mutmut_1": (
        "equivalent: the default grace (5 → 6 s) — the app stops its worker with its own "
        "`STOP_GRACE`, and no other caller leaves a send on the wire when it stops"
    ),
    f"{_WORKER}_uploaded__mutmut_3": (
        "equivalent: a job reaches the upload only with its token (`_send` fails it without "
        "one) and its file (only an upload with a path can be sent): the assertion never "
        "fails, so `or` holds as `and` does"
    ),
    **{
        f"backend.whatsapp.outbox.xǁ_UploadFailedǁ__init____mutmut_{n}": (
            "equivalent: a failed upload's own text is never read, only the Graph error it "
            "carries (`.error`)"
        )
        for n in (1, 2)
    },
}

# survivors of a partial run that a test added since kills when the mutant is run alone
# against it (``MUTANT_UNDER_TEST``), not yet re-measured with ``--again``: still gaps here
KILLED_SINCE: dict[str, str] = {}

# a change of case only in SQL text is equivalent: SQLite's keywords and names ignore case,
# PostgreSQL folds unquoted names to lower case (quoted SQL literals, ``'note'``, are
# compared as written: they must not change). A change of case of a column name read from a
# row is equivalent on both engines: ``sqlite3.Row`` finds a column whatever the case, and
# so does the PostgreSQL store's ``Row`` (store/postgres.py; tests/backend/test_row_names.py
# on both engines), and the same store code runs on both.
SQL_TEXT = re.compile(
    r"\?|\b(select|insert|update|delete|from|where|coalesce|null|join|order by|values)\b"
    r"|\b\w+\.\w+ as \w+\b",  # a column named with its table's alias, and its own alias
    re.IGNORECASE,
)
# the names that hold a ``sqlite3.Row`` in the mutated modules (a dict's keys do not ignore case)
ROW_NAMES = ("row", "latest", "ticket", "updated", "before", "after", "found", "existing")
_LITERAL = re.compile(r'(\w+\[)?"([^"\\]*)"')
_SQL_QUOTED = re.compile(r"'[^']*'")


def _case_only_kind(diff: str) -> str | None:
    """``"sql"`` or ``"row"`` when the mutant changes only the case of SQL text or of a
    ``Row`` key; None otherwise."""
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-")]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+")]
    if len(removed) != 1 or len(added) != 1:
        return None
    old, new = removed[0], added[0]
    if old == new or old.lower() != new.lower():
        return None
    changed = [
        (a.group(1), a.group(2), b.group(2))
        for a, b in zip(_LITERAL.finditer(old), _LITERAL.finditer(new), strict=False)
        if a.group(2) != b.group(2)
    ]
    if not changed:
        return None
    if all(
        SQL_TEXT.search(text) and _SQL_QUOTED.findall(text) == _SQL_QUOTED.findall(mutated)
        for _, text, mutated in changed
    ):
        return "sql"
    if all(owner and owner[:-1] in ROW_NAMES for owner, _, _ in changed):
        return "row"
    return None


def explanation(mutant: str, diff: str) -> str:
    """Why a survivor survives: ``EXPLAINED``, or a change of case SQLite cannot see."""
    if mutant in EXPLAINED:
        return EXPLAINED[mutant]
    kind = _case_only_kind(diff)
    if kind == "sql":
        return "equivalent: only the case of SQL keywords and names changes, which SQLite ignores"
    if kind == "row":
        return (
            "equivalent: only the case of a row's column name changes: `sqlite3.Row` and the "
            "PostgreSQL store's `Row` both find a column whatever the case "
            "(`tests/backend/test_row_names.py`, both engines)"
        )
    if mutant in KILLED_SINCE:
        return (
            f"gap until re-measured: a test added since in `{KILLED_SINCE[mutant]}` kills it "
            "when the mutant is run alone against it"
        )
    return "gap: no test kills it yet"


# what a reader of results.md should know about a target's figures (issue 19), by target
NOTES: dict[str, str] = {
    "webhook_signature": (
        "86 % → 100 %: re-measured after the test of a counter that cannot be written, which "
        "kills the six survivors on its log line; the two left are equivalent. Then "
        "(mutreplay6) re-measured whole on today's code: 158 mutants, 58 when measured (the "
        "handshake's and the answers' decisions came here from the HTTP handlers, the "
        "one-pass reading of the commonest notification since): 126 killed, 32 survived "
        "(80 %), 7 of them equivalent (the encoding's error handler, never called: tried "
        "against aiohttp's parser; the codec's name; a missing token's stand-in text; the "
        "one-pass shortcut; `rpartition`). The 25 gaps — the words of the 401, the 400 (not "
        "JSON, or why not a notification) and the 500 and its code, a handshake with no "
        "token (a 500 on two mutants), out-of-range numbers read as missing fields, the "
        "failure's log line with its cause — all killed, each run alone (`--alone`), by "
        "`test_inbound_webhook.py`'s answers checked word for word, its handshake with no "
        "token and its failed processing's log record, and `test_hostile_webhooks.py`'s "
        "numbers out of range, which joined the target's tests: 0 gaps."
    ),
    "policy": (
        'run without the megabyte inputs (`-k "not a_megabyte_of_hostile_text"`): under '
        "mutmut's tracing one takes ~45 s, and a survivor runs every test that covers it; "
        "measured in one run and `--again` over the 13 mutants its last tests kill. Before: a "
        "first run stopped at "
        "369 of 582 mutants with 50 survivors (86 % so far), most of them in "
        "`ContentPolicy.__init__`, unseen because the tests used a policy built at import. "
        "Tests added since: look-alikes by substitution, insertion, containment, `vv`/`rn` "
        "(also in a brand too short for the typo rule), a port is not part of the host, a "
        "domain before an at-sign hides the real host, IBANs and NIEs at the ends of the "
        "alphabet, 4-character passwords."
    ),
    "thread_list": (
        "the list's rules now live in `tui/thread_pages.py` (`ThreadPages`, no Textual, the "
        "clock injected: which pages to fetch and keep, the page cache's bound, the cursor's "
        "bounds, the failed-page retry, reloads and the cursor following its thread, which "
        "live updates and pushed counts reload, the hold), and the widget "
        "(`tui/widgets/thread_list.py`) draws them, takes the keys and runs the fetches and "
        "timers the model asks for; the target is that module, against its plain tests "
        "(`tests/tui/test_thread_pages.py`, ~4 s), measured whole in one run. The pilot tests "
        "(`test_thread_list*.py`, `test_find_your_way.py`) stay as the widget's integration "
        "tests. Before (mutc): the target was the whole widget, 1,019 mutants, mostly drawing, "
        "each checked by Textual pilots taking seconds (~3 h a run); a partial run stopped "
        "after 208 with 45 %. The 5 survivors left are equivalent. A bug found on the way: "
        "a reload that came before the previous reload's pages landed blanked the rows (the "
        "cursor on no thread) until page 0 came back; the rows now stay. Then (listrace) "
        "re-measured whole after a page no longer takes a row back to an older state than a "
        "live change brought (396 mutants): 7 survivors, all equivalent (two new: where the "
        "live changes' numbering starts and its step). On the way, 8 survivors of the undone "
        "close's return to its thread (ea15bbf, not measured since): killed by a plain test "
        "of `after_page` with `return_id` (and `moved`, `reset` forgetting it)."
    ),
    "outbox_store": (
        "87 % of 89 checked (mutc, on older code) → 99 % of 365 checked (mutobox4), the store "
        "as today (leases, requests, `next_outbox_due`: 573 mutants). One run of 79 min "
        "(MUTATE_CHILDREN=1, load 6-13 on 2 cores) stopped at the cut-off (20:20 UTC) with "
        "208 not checked: 94 skipped by construction (63 change only the case of SQL text: "
        "equivalent; 31 of a `Row` key: a KeyError on PostgreSQL only, see statuses), and 114 "
        "for want of time — mutmut takes the cheapest first, so what is left is the costliest: "
        "most of `claim_outbox`, `outbox_retry_later`, `outbox_ambiguous`, `outbox_failed`, "
        "`resolve_ambiguous`, `outbox_state` and `mark_channel_unhealthy`, and "
        "`_make_ambiguous`, `recover_outbox`, the leases' calls. The target's tests gained "
        "the lease tests (both engines), `test_outbox_due.py` and the upgrade and "
        "unreadable-request tests of `test_graph_bodies.py`. Of 35 survivors, 15 are killed "
        "by tests written during the run (each run alone against them, `--alone`): the answer "
        "after the send was taken for ambiguous, or after a lenient `sending` status, makes it "
        "sent; the answer alone makes the message and its ticket sent, with its time; a "
        "template Meta accepted keeps no message status, one held keeps its template; the "
        "clients are told of a change, never of a new message, when a send is answered, "
        "refused or taken for ambiguous. The 2 called equivalent before (`sending` never "
        "stored) were not: a status webhook can store it. 19 equivalent; 1 gap left: the "
        "recovery's reason in its outbox row (`_make_ambiguous__mutmut_19`, its quoted text "
        "upper-cased). Cost: each test starts a backend (0.4-0.9 s of "
        "set-up, most of a survivor's ~1-2 min under load); the timeouts (0.5-3 s) are few; "
        "`fastest_first` already orders each mutant's tests. Not cut further this time. "
        "Then (mutobox5) the 12 functions that run had not finished (`claim_outbox`, "
        "`outbox_retry_later`, `outbox_ambiguous`, `outbox_failed`, `resolve_ambiguous`, "
        "`outbox_state`, `mark_channel_unhealthy`, `_make_ambiguous`, `recover_outbox`, and "
        "the leases' three calls: 304 mutants, the 114 left among them) run again whole "
        "(MUTATE_CHILDREN=1, 22:10-23:25 UTC, load 7-13 on 2 cores), but for the six "
        "survivors of the first run that are explained (`resolve_ambiguous__mutmut_29`-`32`, "
        "`claim_outbox__mutmut_13`, `14`: kept as they were); the other five functions as "
        "that run left them (every mutant checked). Of the 304, 279 checked (19 of `claim_outbox`'s last, the costliest, not reached by the cut-off): 15 survivors: 6 change only the case of the `AS` aliases (now counted case only), 8 equivalent, and `claim_outbox__mutmut_74` (`continue` → `break` after a request it cannot read), which a test written during the run kills, run alone: a claim goes on past such a row to the sends queued after it in other threads (`test_outbox_leases.py`, both engines). "
        "The case-only mutants (102: of SQL text, now also a column named with its "
        "table's alias `AS` its own, which the first run ran as survivors; and the 31 "
        "`Row` keys) are counted equivalent, not run: evidence for the `Row` keys — "
        "`_fail_message__mutmut_15`, `claim_outbox__mutmut_123` and `outbox_sent__mutmut_16` "
        "run against the outbox's PostgreSQL tests (`--all-engines -m postgresql`, 31 tests "
        "of four modules) pass them with the new `Row`; with the old one the first failed "
        "them (mutobox4). `_make_ambiguous__mutmut_19` is killed by the recovery's reason "
        "checked word for word (`tests/backend/test_outbox_leases.py`, both engines). Cost: a "
        "test's set-up is no longer it (0.2-0.3 s since `LiveBackend` starts on a copy of a "
        "migrated template); a backend shared per module would carry one test's rows, "
        "clock and sends into the next, so it was not done. Per mutant, a worker collects "
        "the target's tests again, and a killer on PostgreSQL starts a server of its own "
        "(initdb): `fastest_first` now runs a killer's SQLite twin before it and the "
        "PostgreSQL tests last; a mutant only PostgreSQL tests kill (the two-process "
        "ambiguous judgement) still costs ~1 min. Then (coordinator, 23:33-23:47 UTC) the "
        "19 not reached run with `--only` (`claim_outbox__mutmut_135`-`162`): 17 killed, "
        "`_135` equivalent (as `_133`), and `_160` (a file's Meta id reused for a send from "
        "another number) killed, run alone, by a test that sends one file from two numbers "
        "(`test_outbound_send.py`): every mutant checked."
    ),
    "events_replay": (
        "mutb's run (bc3aacc): 96 %, 11 gaps accepted, all in `_drop_slow_client`: which "
        "error the resync or the close meets at the drop. Then (mutreplay5) 96 % → 98 %, 6 "
        "gaps: its changed functions run again with `--only` (`_drop_slow_client`; "
        "`websocket`, decorated, and `newest_event_seq` give no mutants), the rest kept "
        "from that run. Read against aiohttp 3.14: `send_str` raises RuntimeError only before "
        "`prepare`, and `close` raises nothing but a cancel (it keeps any other error and "
        "closes the transport), so those branches went (7 mutants fewer: 313); the close's "
        "time limit and its suppression are killed. The 6 left: a ConnectionError at the "
        "resync (a close landing in the few loop turns between the overflow and the drop's "
        "first write) and the time limits (only a frame crossing aiohttp's 64 KiB drain mark "
        "waits, which depends on every frame's size before it). Driving the first found a "
        "bug: a shutdown waited for the socket of a client that stopped reading to drain "
        "(forever), and if that client's queue overflowed meanwhile, cancelling its writer "
        "cancelled aiohttp's drain waiter, which the shutdown's close shares: CancelledError "
        "out of `close_websockets`, the rest of the cleanup skipped. The shutdown now closes "
        "without draining (`test_live_push.py`: the server shuts down without waiting for a "
        "client that stopped reading; it hung on the old code)."
        " Then (mutreplay6) the 6 gaps looked at again: `writer_limit=0` (every "
        "frame written while the socket is full waits for it to drain, not only the one "
        "crossing the 64 KiB mark) would make the resync's and the close's waits certain, "
        "but aiohttp 3.14 keeps one drain waiter per connection, shared by every writer and "
        "awaited unshielded, so cancelling any task waiting on it (the live writer at the "
        "overflow, a time limit, the heartbeat's ping at a close) cancels the future every "
        "later frame waits on, and that frame raises CancelledError at once. Tried: the "
        "drop's resync raised it and no close frame went out (`test_live_push.py`'s client "
        "that stops reading waited in vain for the 4000), and the shutdown's close waited "
        "for the full socket to drain (its test hung). Today only the frame crossing the "
        "mark waits, and the crossing resets the count: after the live writer's wait the "
        "drop's small frames cannot wait; whether they cross after a replay or a burst "
        "depends on every frame's bytes and the kernel's buffers. The close's limit "
        "(`_12`) is equivalent but for time (aiohttp's own close timeout bounds the wait for "
        "the client's answer); 5 gaps left, each entry saying what it would break."
        " Then (coordinator, twelfth session) 98 % → 100 %, 0 gaps, by making the drop "
        "need none of it: what the gaps guarded was a second task writing to the socket "
        "(the drop) while the first (the live writer) was cancelled mid-wait. Now one task "
        "writes a connection's frames: an overflowed queue holds one marker, on which the "
        "writer itself sends the resync and closes (the hub lets go of the client and its "
        "cut is scheduled at the overflow, as before), and the answer to a message the server "
        "cannot read is queued like the rest. The drop, `_push`, their time limits and "
        "suppressions went (313 → 269 mutants). The writer's ConnectionError (a client that "
        "resets its connection while the server waits on its full socket) is killed by "
        "`test_live_push.py`'s reset test, which drives that wait with aiohttp's own drain "
        "waiter and checks nothing is logged. Run: ws.py's functions with `--only` (45 min, "
        "load 5-9), then `_write` again after a last change (4 min); `events.py` kept from "
        "mutb's run. The close's `drain=False` mutants (`_write` 10, 13, 17) are equivalent "
        "but for time."
    ),
    "outbox_worker": (
        "91 % of 62 checked → 98 % of all 399 (mutate), the worker's code as on main "
        "at 9d7b28c (before pglease's leases reach it). One run in four parts, ~85 "
        "min of wall time on a machine at load 10-16 on 2 cores: the first was stopped after "
        "158 mutants to cut the cost, then `--again` over the mutants not checked, the last "
        "time with the survivors that tests written during the run kill (all killed). Cost "
        "cut: each mutant's tests run those that killed its function's earlier mutants "
        "first, then quickest first (`tests/mutation/fastest_first.py`; mutmut ran them in no "
        "order with `-x`, so a mutant a 0.2 s test kills waited for the seconds-long timeout "
        "tests: the exception path's mutants went from ~110 s to ~2 s each), and the tests' "
        "HTTP clients share one TLS context (httpx read the CA bundle for each client, "
        "0.1-0.3 s each on this machine). Tests added: the give-up sentence checked whole, "
        "and a refusal that promised no retry keeping Meta's words; a token error's sentence "
        "on the message and on the channel; an upload's 5xx retried from 500 itself; an "
        "ambiguous 5xx's reason in its outbox row; an unknown code's details kept; a message "
        "status other than accepted in Meta's answer kept. Gaps left: the loop's failure log "
        "line; the send of a row queued before migration 0024 (killed, each mutant run alone, "
        "by `test_graph_bodies.py`'s upgrade test, which joined the target's tests after the "
        "run). Then (mutobox4) 0 gaps: the six of the row queued before 0024 run alone against "
        "that test (killed); the log line's three (`_run__mutmut_3`-`5` today: the loop's fix "
        "added `_run__mutmut_2` before them) killed by a test that makes the store fail "
        "under the running worker — which found a bug: a failure of the idle time's store "
        "call after a failed pass ended the loop, and no send went out until a restart; the "
        "fix's own two mutants (`idle = None`) run alone: killed. The worker's code as today "
        "(leases since) has 429 mutants: not re-measured whole. Then (mutreplay5) the "
        "functions changed since 9d7b28c (`__init__`, `start`, `stop`, `_sweep`, `_run`, "
        "`run_once`: 116 mutants) run with `--only`, the rest kept from that run: the "
        "lease sweep had no test among the target's (its 5 mutants *no tests*), and the "
        "lease keeper's renew and sweep and the holder's name none that failed: "
        "`tests/whatsapp/test_outbox_leases.py` joined the target's tests and now checks the "
        "holder names the channel, host and process (the 8 killed, each run alone). "
        "Survivors: the task names and `free < 0` as before (renumbered), the keeper's "
        "default clock (equivalent), and the start-up recovery's time, a gap on PostgreSQL "
        "only (as the `Row` keys). Then (mutreplay6) 0 gaps: the recovery's time "
        "(`start__mutmut_3`, `recover_outbox(…, None)`: every send on the wire taken, a live "
        "neighbour's too) killed, run alone, by `test_outbox_leases.py`'s worker starting "
        "beside a live neighbour on PostgreSQL, which leaves its send alone (the test asks "
        "for the PostgreSQL server itself, so the target runs it without `--all-engines`; "
        "none of the module's tests on both engines started a worker beside a live lease)."
    ),
    "statuses": (
        "64 % → 97 %. Before: 600 mutants against `test_statuses.py` alone, SQL-case survivors "
        "counted as gaps. Now 750 (pricing came since), measured in parts: a run stopped "
        "after 333 mutants, then `--again` over the rest with the tests as they grew (so the "
        "minutes are not known: ~70 on this loaded machine). The 78 mutants that change only "
        "the case of SQL text or of a `Row` key were left unchecked: equivalent by "
        "construction, and each costs a full run of its tests. Added: `test_status_rules.py` "
        "(what `apply_status` answers, statuses of numbers not served, kept-aside statuses "
        "keeping their time, staying aside for another wamid and pruned after two days — and "
        "only they, a failure after read, a read or played after a failure, the checking "
        "rank, a status below the state changing nothing, which message moves the ticket and "
        "that it tells, template updates by id before name and their event, a price that "
        "does not say billable); `test_pricing.py` joined the target, `test_usage_month.py` "
        "after the run. Gaps left: `_apply_pricing` (a status for a message that is not an "
        "outbound one, the market and day of a daily count, a repricing's bucket), and "
        "`settle_ticket_delivery` telling the ticket again when its status did not change. "
        "A bug found on the way: a status below the message's with no time to fill "
        "(`queued`, `sending`) built an empty `UPDATE` and the webhook answered 500. Measured "
        "before main's merge added billable-message counting to `_apply_pricing`. "
        "Then (mutobox4) 97 % → 99 %: the 17 gaps run alone (`--alone`) "
        "against the current tests: 12 killed (`test_usage_month.py`: a repricing moves the "
        "count in the market first priced, the allowance on a tie with an unknown market; "
        "`test_status_rules.py`: a price-only change tells the message, not the ticket; "
        "`test_reports.py`'s cost per day, which joined the target, for the day a count is "
        "kept under), 5 equivalent. `_apply_pricing__mutmut_111` of the run is `_128` today "
        "(the same `return True` → `False`, renumbered by the billable counting added before "
        "it); that counting's own mutants (today's 111-127) were never run. The 78 *not "
        "checked* are skipped by the runner by construction: they change only the case of SQL "
        "text or of a `Row` key. The SQL ones are equivalent (SQLite ignores the case of "
        "keywords and names, PostgreSQL folds unquoted names to lower case); the `Row` ones "
        "only on SQLite: the PostgreSQL store's `Row` (`store/postgres.py`) reads names as "
        "written, so there they raise KeyError (checked: outbox_store's "
        "`_fail_message__mutmut_15` fails `test_outbox_leases.py`'s PostgreSQL test). They "
        "are gaps on PostgreSQL that these SQLite tests cannot see (in today's statuses.py 42 "
        "of the 127 case-only mutants are `Row` keys), counted unchecked, not equivalent; the "
        "8 gaps left are such `Row` keys, run in the first part before the runner skipped "
        "them, once called equivalent: they are not, on PostgreSQL. Then (mutreplay5) the "
        "billable counting's 17 (`_apply_pricing__mutmut_111`-`127`) run with `--only` (a "
        "fresh copy of today's code, only the mutants named run; every other mutant keeps "
        "its verdict from the saved outcome): 11 killed or skipped by construction, 6 "
        "survived — the ticket's `billable_messages` was checked only by "
        "`test_reports.py`'s desk, not in the target, and never on a repricing; all 6 killed "
        "(`--alone`) by `test_pricing.py`'s ticket counting its billable messages as they "
        "are priced and repriced (billable, free, billable again). Caveat: the functions "
        "that changed since the b24e0ec run (`apply_status`, `_keep_early`, "
        "`_replay_early`, `_early_json`, `_early_record`: 317 mutants today) keep that "
        "run's verdicts by name; their survivors were re-checked alone at 0764658, their "
        "killed mutants were not re-run on today's code. Then (mutstat6) `_apply_to_message` "
        "run again with `--only` after polish5's change (a status below sending naming a "
        '"checking" send reads "sending"; `HELD_RANK` ranks "checking" with queued, '
        "a module-level constant mutmut does not mutate): 136 mutants, 18 skipped by "
        "construction (case only), 107 killed, 11 survived, the old ones renumbered (+20 "
        "by the lines added). 3 gaps — a delivery or a failure naming a send being checked "
        'was never tested, so the new rule could swallow them as "sending" — killed '
        "(`--alone`) by `test_status_rules.py`'s send being checked settled by a delivery "
        "and by a failure; 3 new equivalents (an unranked status at -2, `<=`, and `>=` "
        "against `HELD_RANK`: one rank is one state once checking has been rewritten). The "
        'target now runs polish5\'s test of a status below sent ending "checking" too.'
    ),
}

# the case mutants of a row's column name, on both engines (mutobox5)
NOTES["statuses"] += (
    " Then (mutobox5) those `Row`-key mutants are equivalent on both engines: the PostgreSQL "
    "store's `Row` now finds a column whatever the case, as `sqlite3.Row` does (the first "
    "column equal to it ignoring case; `tests/backend/test_row_names.py` reads one row by "
    "every case on both engines, and fails on PostgreSQL before), so the case-only mutants "
    "the runner skips are equivalent (counted *case only* by a run or `--collect` with "
    "this runner; the saved outcome, from another work tree's run, still says not checked) "
    "and the 8 `Row`-key survivors equivalent. "
    "Evidence: three of outbox_store's `Row`-key mutants run against the outbox's "
    "PostgreSQL tests (`--all-engines -m postgresql`) pass them with the new `Row`; with the "
    "old one the first of them failed them (see outbox_store). Then (mutreplay6) the "
    "caveat above was real: the five functions changed since b24e0ec (`apply_status`, "
    "`_keep_early`, `_replay_early`, `_early_json`, `_early_record`: 317 mutants) run with "
    "`--only` on today's code (7 min, MUTATE_CHILDREN=1): 260 killed, 39 case only, 18 "
    "survived. Six survivors' names meant other changes today (renumbered: `attached = None` "
    "is `apply_status__mutmut_49`, not `_34`, `created=None` `_164`, not `_149`, and "
    "`_keep_early`'s four SQL-case ones one up), and the seven equivalents of the opaque "
    "data kept aside are `_early_json`'s and `_early_record`'s since `StatusRecord`'s "
    "`to_json`/`from_json` moved there. 3 gaps came to light — what `apply_status` answers "
    "for a status naming a customer's message (`not_ours` and that message, `_43`, `_44`, "
    "`_46`) — killed (`--alone`) by `test_status_rules.py`'s answers test, which now asks "
    "it too. The 91 *not checked* are now counted *case only*: an `--only` run counted the "
    "carried mutants the runner skips (and its own) as not checked (fixed in `_carry`), "
    "then `--collect`. Every other target's survivors name the same change today, but "
    "webhook_signature's: `backend/whatsapp/webhook.py` has 158 mutants today, 58 when "
    "measured (36e9a9a; the one-pass plain-text notification and the store's face came "
    "since), so that target's figures are of older code."
)


@dataclass
class Outcome:
    target: str
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[tuple[str, str]] = field(default_factory=list)  # (name (status), diff)
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
    def equivalent(self) -> int:
        return self.case_only + sum(
            explanation(name.split(" ")[0], diff).startswith("equivalent")
            for name, diff in self.survivors
        )

    @property
    def unchecked(self) -> int:
        return self.counts.get("not checked", 0)

    @property
    def case_only(self) -> int:
        """Mutants not run because they change only the case of SQL text or of a row's
        column name: equivalent by construction (``_case_only_kind``)."""
        return self.counts.get(CASE_ONLY, 0)

    @property
    def score(self) -> float:
        """Killed, of the mutants checked that some behaviour can tell from the original."""
        telling = self.total - self.unchecked - self.equivalent
        return 100.0 * self.killed / telling if telling else 0.0


def _config(target: Target) -> str:
    def toml_list(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{item}"' for item in items) + "]"

    roots = sorted({file.split("/")[0] for file in target.files})
    return (
        "\n[tool.mutmut]\n"
        f"source_paths = {toml_list(tuple(roots))}\n"
        f"only_mutate = {toml_list(target.files)}\n"
        f"pytest_add_cli_args_test_selection = {toml_list(target.tests)}\n"
        # each mutant's tests quickest first: with -x, a mutant a quick test kills is done
        'pytest_add_cli_args = ["-p", "tests.mutation.fastest_first"]\n'
    )


def _prepare(name: str, target: Target) -> Path:
    place = WORK / name
    shutil.rmtree(place, ignore_errors=True)
    place.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".data")
    for folder in ("backend", "tui", "tests"):
        shutil.copytree(ROOT / folder, place / folder, ignore=ignore)
    _write_config(place, target)
    return place


def _write_config(place: Path, target: Target) -> None:
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + _config(target)
    (place / "pyproject.toml").write_text(config, encoding="utf-8")


def _refresh_tests(place: Path) -> None:
    """The current tests into a target's last copy (and mutmut's copy of it)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".data")
    for copy in (place / "tests", place / "mutants" / "tests"):
        if copy.is_dir():
            shutil.copytree(ROOT / "tests", copy, ignore=ignore, dirs_exist_ok=True)


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


_DIFFS = """
import json, sys
from mutmut.__main__ import get_diff_for_mutant, find_mutant
print(json.dumps({name: get_diff_for_mutant(name, path=find_mutant(name).path)
                  for name in sys.argv[1:]}))
"""


_GENERATE = """
import json
from pathlib import Path
import mutmut.__main__ as m
m.set_mutant_under_test("mutant_generation")
Path("mutants").mkdir(exist_ok=True)
m.copy_src_dir()
m.copy_also_copy_files()
m.setup_source_paths()
m.store_lines_covered_by_tests()
m.create_mutants(1)
"""


def _generate(place: Path) -> list[str]:
    """Only write the mutants (no test runs): every mutant's name."""
    subprocess.run([sys.executable, "-c", _GENERATE], cwd=place, check=True, capture_output=True)
    listing = _mutmut(place, "results", "--all", "true")
    return re.findall(r"^\s*(\S+__mutmut_\d+): ", listing, re.MULTILINE)


def _diffs(place: Path, mutants: list[str]) -> dict[str, str]:
    """Each mutant's diff, read in one process (``mutmut show`` starts one per mutant)."""
    if not mutants:
        return {}
    done = subprocess.run(
        [sys.executable, "-c", _DIFFS, *mutants],
        cwd=place,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def _unchecked(place: Path) -> list[str]:
    listing = _mutmut(place, "results", "--all", "true")
    return re.findall(r"^\s*(\S+__mutmut_\d+): not checked$", listing, re.MULTILINE)


def _worth_running(place: Path, names: list[str]) -> list[str]:
    """The mutants but those that change only the case of SQL text or of a ``Row`` key,
    equivalent by construction on both engines (see ``SQL_TEXT``): each would cost a run of
    every test that covers it, for a verdict known in advance (they are counted "case
    only", as equivalent, and not run)."""
    diffs = _diffs(place, names)
    return [name for name in names if _case_only_kind(_changed_lines(diffs[name])) is None]


def _changed_lines(diff: str) -> str:
    """A unified diff's removed and added lines (without its headers)."""
    return "\n".join(
        text
        for text in diff.splitlines()
        if text[:1] in "+-" and not text.startswith(("+++", "---"))
    )


def run_target(
    name: str,
    children: int,
    again: list[str] | None = None,
    *,
    resume: bool = False,
    collect: bool = False,
    only: list[str] | None = None,
) -> Outcome:
    """Mutate a target from scratch, or (``again``) re-run only the mutants matching those
    globs in its last copy, with the current tests, or (``resume``) run the mutants its last
    copy has not checked yet, or (``collect``) run nothing, or (``only``) mutate it from
    scratch but run only the mutants matching those globs (the functions that changed since
    the saved outcome: the others keep its verdicts, see ``_carry``); then read every
    mutant's status (a mutant left "not checked" is counted, not listed)."""
    target = TARGETS[name]
    outcome = Outcome(name, measured=_measured())
    place = WORK / name
    previous = load_outcome(name)
    if only and previous is None:  # measured in another work tree: as results.md shows it
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
        previous = previous_outcomes(text).get(name)
    if previous is not None and (collect or resume or again):
        outcome.seconds = previous.seconds
    chosen = list(again or [])
    started = time.monotonic()
    if only:
        outcome.seconds = previous.seconds if previous is not None else 0.0
        if previous is None:
            raise SystemExit(f"--only needs a saved outcome of {name} to carry the rest from")
        place = _prepare(name, target)
        outcome.measured += f" (only: {' '.join(only)}; the rest as {previous.measured})"
        (place / "carried.json").write_text(
            json.dumps({"only": only, "outcome": previous.__dict__, "measured": outcome.measured}),
            encoding="utf-8",
        )
        chosen = _worth_running(place, _matching(_generate(place), only))
    elif collect:
        if (place / "carried.json").is_file():  # an ``only`` run's: as it was started
            carried = json.loads((place / "carried.json").read_text(encoding="utf-8"))
            outcome.measured = carried.get("measured", outcome.measured)
        elif previous is not None:
            outcome.measured = previous.measured
    elif resume:
        outcome.measured += " (resumed)"
        _refresh_tests(place)
        _write_config(place, target)
        chosen = _unchecked(place)
        if (place / "carried.json").is_file():
            carried = json.loads((place / "carried.json").read_text(encoding="utf-8"))
            chosen = _matching(chosen, carried["only"])
        chosen = _worth_running(place, chosen)
    elif again:
        _refresh_tests(place)
        _write_config(place, target)
        named = " ".join(again) if len(again) <= 3 else f"{len(again)} mutants"
        outcome.measured += f" (again: {named})"
    else:
        place = _prepare(name, target)
        chosen = _worth_running(place, _generate(place))
    log = ""
    if not collect and chosen:
        log = _mutmut(place, "run", "--max-children", str(children), *chosen)
        if not again:
            outcome.seconds += time.monotonic() - started
        (place / "run.log").write_text(log, encoding="utf-8")
    listing = _mutmut(place, "results", "--all", "true")
    survivors = []
    left = re.findall(r"^\s*(\S+__mutmut_\d+): not checked$", listing, re.MULTILINE)
    left_diffs = _diffs(place, left)
    for line in listing.splitlines():
        found = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if found is None:
            continue
        mutant, status = found.groups()
        if status == "not checked" and _case_only_kind(_changed_lines(left_diffs[mutant])):
            status = CASE_ONLY  # skipped by construction: equivalent
        outcome.counts[status] = outcome.counts.get(status, 0) + 1
        if status not in ("killed", "timeout", "not checked", CASE_ONLY):
            survivors.append((mutant, status))
    diffs = _diffs(place, [mutant for mutant, _ in survivors])
    for mutant, status in survivors:
        outcome.survivors.append((f"{mutant} ({status})", _changed_lines(diffs[mutant])))
    if (place / "carried.json").is_file() and outcome.counts:
        _carry(place, outcome, listing)
    if not outcome.counts:
        outcome.error = log[-2000:]
    else:
        OUTCOMES.mkdir(exist_ok=True)
        text = json.dumps(outcome.__dict__, indent=1, ensure_ascii=False) + "\n"
        (OUTCOMES / f"{name}.json").write_text(text, encoding="utf-8")
    return outcome


def _matching(names: list[str], globs: list[str]) -> list[str]:
    return [name for name in names if any(fnmatch.fnmatchcase(name, glob) for glob in globs)]


def _carry(place: Path, outcome: Outcome, listing: str) -> None:
    """After an ``only`` run: every mutant outside its globs takes its verdict from the
    outcome saved before the run (the same function unchanged makes the same mutants under
    the same names): a survivor it lists stays one, a mutant the runner skips by
    construction is counted case only (equivalent) if that run skipped them, any other was
    killed."""
    carried = json.loads((place / "carried.json").read_text(encoding="utf-8"))
    globs, before = carried["only"], carried["outcome"]
    names = re.findall(r"^\s*(\S+__mutmut_\d+): ", listing, re.MULTILINE)
    rest = [name for name in names if name not in set(_matching(names, globs))]
    outcome.counts = {}
    outcome.survivors = [
        pair for pair in outcome.survivors if pair[0].split(" ")[0] not in set(rest)
    ]
    ran = [name for name in names if name not in set(rest)]
    unchecked = re.findall(r"^\s*(\S+__mutmut_\d+): not checked$", listing, re.MULTILINE)
    unchecked = [name for name in unchecked if name in set(ran)]
    skipped_now = set(unchecked) - set(_worth_running(place, unchecked))
    for line in listing.splitlines():
        found = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if found is not None and found.group(1) not in set(rest):
            status = CASE_ONLY if found.group(1) in skipped_now else found.group(2)
            outcome.counts[status] = outcome.counts.get(status, 0) + 1
    listed = {pair[0].split(" ")[0]: pair for pair in before["survivors"]}
    skipped = (
        set(rest) - set(_worth_running(place, rest))
        if before["counts"].get("not checked")
        else set()
    )
    for name in rest:
        if name in listed:
            status = listed[name][0].split(" ", 1)[1].strip("()")
            outcome.survivors.append(tuple(listed[name]))
        else:
            status = CASE_ONLY if name in skipped else "killed"
        outcome.counts[status] = outcome.counts.get(status, 0) + 1


def run_alone(name: str, mutants: list[str], tests: list[str]) -> Outcome:
    """Run each named survivor of a target's saved outcome alone (``MUTANT_UNDER_TEST``) in
    the target's copy (made, without running mutmut, if there is none), with the current
    tests (``tests``, or the target's): one a test fails on is counted killed in the saved
    outcome, the others stay as they were. For survivors that tests written after the
    target's run kill, without re-running the whole target."""
    target = TARGETS[name]
    outcome = load_outcome(name) or previous_outcomes(
        RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else ""
    ).get(name)
    if outcome is None:
        raise SystemExit(f"{name} has no saved outcome")
    place = WORK / name
    if (place / "mutants").is_dir():
        _refresh_tests(place)
    else:
        place = _prepare(name, target)
        _generate(place)
    arguments = tests or list(target.tests)
    killed: list[str] = []
    for mutant in mutants:
        found = [pair for pair in outcome.survivors if pair[0].split(" ")[0] == mutant]
        if not found:
            print(f"  {mutant}: not a survivor of {name}'s saved outcome", flush=True)
            continue
        # the module may have changed since the run: the same name must be the same change
        if found[0][1] and _changed_lines(_diffs(place, [mutant])[mutant]) != found[0][1]:
            print(f"  {mutant}: now another change than the survivor's (code changed)")
            continue
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *arguments],
            cwd=place / "mutants",
            env={**os.environ, "MUTANT_UNDER_TEST": mutant},
            capture_output=True,
            text=True,
            check=False,
        )
        # 1: a test failed; 0: all passed; anything else (no tests, an error) decides nothing
        verdict = {0: "survived", 1: "killed"}.get(done.returncode, f"error {done.returncode}")
        print(f"  {mutant}: {verdict}", flush=True)
        if done.returncode == 1:
            killed.append(mutant)
            outcome.survivors.remove(found[0])
            status = found[0][0].split(" ", 1)[1].strip("()")
            outcome.counts[status] -= 1
            outcome.counts["killed"] = outcome.counts.get("killed", 0) + 1
        elif done.returncode != 0:
            print(done.stdout[-1500:] + done.stderr[-1500:], flush=True)
    if killed:
        outcome.counts = {key: value for key, value in outcome.counts.items() if value}
        outcome.measured += f"; {len(killed)} killed since, each run alone at {_measured()}"
        OUTCOMES.mkdir(exist_ok=True)
        text = json.dumps(outcome.__dict__, indent=1, ensure_ascii=False) + "\n"
        (OUTCOMES / f"{name}.json").write_text(text, encoding="utf-8")
    return outcome


def load_outcome(name: str) -> Outcome | None:
    path = OUTCOMES / f"{name}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    data["survivors"] = [tuple(pair) for pair in data["survivors"]]
    return Outcome(**data)


_ROW = re.compile(r"\| (\w+) \| `.*?` \| (\d+) \| (.*) \|$")
_HEADING = re.compile(r"## (\w+): survivors(?: \(measured (.*)\))?$")
_SURVIVOR = re.compile(r"- `(\S+ \([^)]+\))` — ")


def previous_outcomes(text: str) -> dict[str, Outcome]:
    """The targets a results.md shows (any version of its table), rebuilt from its rows and
    survivors: what another work tree measured survives a run of other targets here."""
    outcomes: dict[str, Outcome] = {}
    current: Outcome | None = None
    diff: list[str] | None = None
    for line in text.splitlines():
        row = _ROW.match(line)
        if row is not None and row.group(1) in TARGETS:
            cells = [cell.strip() for cell in row.group(3).split("|")]
            unchecked = 0
            numbers = [int(cell) if cell.isdigit() else 0 for cell in cells]
            total = int(row.group(2))
            if len(cells) == 5:  # killed, survived, no tests, score, minutes
                killed, untested, minutes = numbers[0], numbers[2], cells[4]
            elif len(cells) == 6:  # killed, equivalent, gaps, no tests, score, minutes
                killed, untested, minutes = numbers[0], numbers[3], cells[5]
            else:  # killed, equivalent, gaps, no tests, not checked, score, minutes
                killed, untested, minutes = numbers[0], numbers[3], cells[6]
                unchecked = numbers[4]
            counts = {"killed": killed, "survived": total - killed - untested - unchecked}
            counts["no tests"] = untested
            counts["not checked"] = unchecked
            outcomes[row.group(1)] = Outcome(
                row.group(1),
                counts={k: v for k, v in counts.items() if v},
                seconds=float(minutes) * 60,
            )
            continue
        heading = _HEADING.match(line)
        if heading is not None:
            current = outcomes.get(heading.group(1))
            if current is not None:
                current.measured = heading.group(2) or current.measured
            continue
        if line.startswith("## "):
            current = None
        if current is None:
            continue
        survivor = _SURVIVOR.match(line)
        if survivor is not None:
            current.survivors.append((survivor.group(1), ""))
        elif line.strip() == "```diff":
            diff = []
        elif line.strip() == "```" and diff is not None:
            name, _ = current.survivors[-1]
            current.survivors[-1] = (name, "\n".join(diff))
            diff = None
        elif diff is not None:
            diff.append(line[2:])
    return outcomes


def saved_outcomes() -> list[Outcome]:
    """The latest outcome of every target: saved here (``tests/mutation/outcomes/``), or
    else as the previous results.md showed it."""
    previous = previous_outcomes(RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "")
    outcomes = []
    for name in TARGETS:
        outcome = load_outcome(name) or previous.get(name)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def write_results(outcomes: list[Outcome]) -> None:
    by_name = {outcome.target: outcome for outcome in outcomes}
    lines = [
        "# Mutation testing of the critical rules",
        "",
        "`make mutate` (mutmut, `tests/mutation/run.py`): each target's latest run (saved in",
        "`tests/mutation/outcomes/`, or kept from this file when another work tree ran it;",
        "each survivors heading says when and at which commit). Each module group is mutated",
        "alone and checked against its own tests (listed in `TARGETS`); a mutant is killed",
        "when a test fails (or hangs: timeout). A survivor is *equivalent* when no behaviour",
        "can tell it from the original (each says why); the score is killed of the mutants",
        "that are not equivalent. Target: 90 % per module, every survivor equivalent.",
        "*Equivalent* includes the mutants that change only the case of SQL text or of a",
        "row's column name, not run: both engines read them the same (`_case_only_kind`).",
        "Before issue 19's work a hand-made run (81 mutants over these rules) killed 60 %.",
        "",
        "| target | modules | mutants | killed | equivalent | gaps | no tests | not checked "
        "| score | minutes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, target in TARGETS.items():
        files = ", ".join(f"`{f}`" for f in target.files)
        outcome = by_name.get(name)
        if outcome is None:
            lines.append(f"| {name} | {files} | not run | | | | | | | |")
            continue
        untested = outcome.counts.get("no tests", 0)
        gaps = len(outcome.survivors) - outcome.equivalent + outcome.case_only
        lines.append(
            f"| {name} | {files} | {outcome.total} | {outcome.killed} | {outcome.equivalent} | "
            f"{gaps} | {untested} | {outcome.unchecked} | {outcome.score:.0f} % | "
            f"{outcome.seconds / 60:.1f} |"
        )
    notes = [(name, NOTES[name]) for name in TARGETS if name in NOTES]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- **{name}**: {note}" for name, note in notes]
    for name in TARGETS:
        outcome = by_name.get(name)
        if outcome is None:
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
            lines += [f"- `{mutant}` — {explanation(mutant.split(' ')[0], diff)}", "", "  ```diff"]
            lines += [f"  {text}" for text in diff.splitlines()]
            lines += ["  ```", ""]
    RESULTS.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    # one worker: the machine is shared; MUTATE_CHILDREN=n to use more
    children = int(os.environ.get("MUTATE_CHILDREN", "1"))
    if "--alone" in argv:  # run.py TARGET --alone MUTANT … [--tests TEST …]
        rest = argv[argv.index("--alone") + 1 :]
        tests = rest[rest.index("--tests") + 1 :] if "--tests" in rest else []
        mutants = rest[: len(rest) - len(tests) - (1 if "--tests" in rest else 0)]
        name = argv[0]
        if name not in TARGETS or not mutants:
            print("usage: run.py TARGET --alone MUTANT … [--tests TEST …]")
            return 2
        run_alone(name, mutants, tests)
        write_results(saved_outcomes())
        return 0
    again = argv[argv.index("--again") + 1 :] if "--again" in argv else []
    argv = argv[: len(argv) - len(again)]
    only = argv[argv.index("--only") + 1 :] if "--only" in argv else []
    argv = argv[: len(argv) - len(only)]
    if ("--again" in argv and not again) or ("--only" in argv and not only):
        # with no mutant named, either ran the whole target from scratch
        print("usage: run.py TARGET --again GLOB … (or --only GLOB …): name the mutants")
        return 2
    if only and len([arg for arg in argv if not arg.startswith("-")]) != 1:
        print("usage: run.py TARGET --only GLOB …")
        return 2
    wanted = [arg for arg in argv if not arg.startswith("-")] or list(TARGETS)
    unknown = [name for name in wanted if name not in TARGETS]
    if unknown:
        print(f"unknown targets: {', '.join(unknown)}; known: {', '.join(TARGETS)}")
        return 2
    resume = "--resume" in argv
    collect = "--collect" in argv
    if (again or resume or collect) and (
        len(wanted) != 1 or not (WORK / wanted[0] / "mutants").is_dir()
    ):
        print("--again, --resume and --collect need one target that has been run before")
        return 2
    outcomes = []
    if "--report" in argv:  # only rewrite results.md from the saved outcomes
        wanted = []
    for name in wanted:
        print(f"mutating {name} …", flush=True)
        outcome = run_target(name, children, again, resume=resume, collect=collect, only=only)
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
