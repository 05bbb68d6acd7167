"""The ``ttydesk`` command: admin commands on the database, serve's settings check, the TUI
default."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from backend import cli, schemas


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray ./ttydesk.toml
    monkeypatch.delenv("TTYDESK_CONFIG_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TTYDESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_agent_add_prints_the_token_once_and_list_shows_no_token(data_dir, capsys):
    assert cli.main(["admin", "agent", "add", "Zoe", "--role", "admin", "--skills", "a,b"]) == 0
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1].split()[-1]
    assert token.startswith("ttd_")
    assert cli.main(["admin", "agent", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    agents = json.loads(listed)
    assert [(a["name"], a["role"], a["skills"]) for a in agents] == [("Zoe", "admin", ["a", "b"])]
    assert token not in listed
    assert cli.main(["admin", "agent", "token", "Zoe", "--json"]) == 0
    rotated = json.loads(capsys.readouterr().out)["token"]
    assert rotated.startswith("ttd_") and rotated != token
    assert cli.main(["admin", "agent", "add", "Zoe"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert cli.main(["admin", "agent", "token", "Nobody"]) == 1
    assert cli.main(["admin", "agent", "add", ""]) == 2


def test_contacts_import_reports_bad_rows_by_line_and_imports_good_ones(data_dir, capsys):
    csv_file = data_dir.parent / "contacts.csv"
    csv_file.write_text(
        "first_name,last_name,email,phone,mobile_phone,country,company,tier\n"
        "Ann,Lee,ann@example.com,612345678,,ES,Acme,gold\n"
        "Bad,Phone,,12,,,,\n"
        "No,Mail,nope,,,,,\n"
        ",,,,,,,\n"
        "Cid,Roe,,+34 622 000 111,,,Acme,\n"
        ",,,,,FR,,\n"
        "Too,Many,,,,,,,extra\n"
        "Ann,Lee-Smith,ANN@example.com,,+34 633 000 111,,,\n",
        encoding="utf-8",
    )
    assert cli.main(["admin", "contacts", "import", str(csv_file), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["imported"], report["updated"]) == (2, 1)
    assert [(e["line"], e["field"]) for e in report["errors"]] == [
        (3, "phone"),
        (4, "email"),
        (7, None),
        (8, None),
    ]
    assert cli.main(["admin", "contacts", "import", str(data_dir / "missing.csv")]) == 2


def test_imported_contacts_are_normalised_and_associated(data_dir, capsys, tmp_path):
    import asyncio

    from backend.store.sqlite import SqliteStore

    csv_file = tmp_path / "c.csv"
    csv_file.write_text("first_name,phone,country,company\nAnn,612345678,ES,Acme\n")
    assert cli.main(["admin", "contacts", "import", str(csv_file)]) == 0
    assert "Imported 1 new" in capsys.readouterr().out

    async def check():
        store = SqliteStore(data_dir / "ttydesk.db")
        await store.open()
        try:
            contact = (await store.list_contacts()).items[0]
            detail = await store.get_contact(contact.id)
            audit = await store.list_audit()
        finally:
            await store.close()
        return detail, audit

    detail, audit = asyncio.run(check())
    assert detail.phone == "+34612345678"
    assert [c.name for c in detail.companies] == ["Acme"]
    assert audit.items[0].action == "contacts.imported"


def test_usage_prints_the_meter(data_dir, capsys):
    assert cli.main(["admin", "usage", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)
    assert usage["used"] == 0 and usage["limit"] == 1000


def test_serve_with_a_bad_setting_is_one_line_and_exit_2(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("TTYDESK_PORT", "not-a-port")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "port" in err[0]


def test_serve_without_an_app_secret_refuses_to_start_with_one_line(data_dir, capsys, monkeypatch):
    from aiohttp import web

    served = []
    monkeypatch.setattr(web, "run_app", lambda app, **kw: served.append(app))
    monkeypatch.delenv("TTYDESK_WHATSAPP_APP_SECRET", raising=False)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "TTYDESK_WHATSAPP_APP_SECRET" in err[0]
    assert served == []
    monkeypatch.setenv("TTYDESK_WHATSAPP_APP_SECRET", "s3cr3t")
    assert cli.main(["serve"]) == 0
    assert len(served) == 1


def test_no_subcommand_starts_the_tui_lazily(monkeypatch):
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run", lambda server, token: calls.append((server, token)) or 0)
    assert cli.main([]) == 0
    assert cli.main(["tui", "--server", "http://x:1", "--token", "t"]) == 0
    assert calls == [(None, None), ("http://x:1", "t")]


def test_the_readmes_command_starts_the_tui_with_server_and_token(monkeypatch):
    """README: `ttydesk --server URL --token T` (no `tui`), and `--server` alone, whose
    token then comes from the environment, the saved config or the login prompt."""
    import tui.app

    calls = []
    monkeypatch.setattr(tui.app, "run", lambda server, token: calls.append((server, token)) or 0)
    assert cli.main(["--server", "http://support-box:8580", "--token", "ttd_x"]) == 0
    assert cli.main(["--server", "http://support-box:8580"]) == 0
    assert calls == [("http://support-box:8580", "ttd_x"), ("http://support-box:8580", None)]


def test_serve_settles_the_garbage_collector_after_start_up(data_dir, monkeypatch):
    from aiohttp import web

    from backend.app import GC_THRESHOLDS, settle_gc

    served = []
    monkeypatch.setattr(web, "run_app", lambda app, **kw: served.append(app))
    monkeypatch.setenv("TTYDESK_WHATSAPP_APP_SECRET", "s3cr3t")
    assert cli.main(["serve"]) == 0
    (app,) = served
    assert app.on_startup[-1] is settle_gc  # after the store and the services
    # process-wide, so seen in a process of its own
    script = (
        "import asyncio, gc; from backend.app import settle_gc; "
        "asyncio.run(settle_gc(None)); print(gc.get_threshold(), gc.get_freeze_count() > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"{GC_THRESHOLDS} True"


@pytest.mark.parametrize(
    "argv",
    [
        ["--server", "http://desk:8580", "tui"],
        ["--server=http://desk:8580", "tui", "--token", "ttd_x"],
        ["tui", "--server", "http://desk:8580"],
        ["--token", "ttd_x", "--server", "http://elsewhere:1", "tui", "--server=http://desk:8580"],
    ],
)
def test_the_inbox_options_reach_tui_before_or_after_the_command(argv):
    """``ttydesk --server URL tui`` is ``ttydesk tui --server URL`` (the command's own value
    wins when both are given): the subcommand's defaults must not wipe the top level's."""
    args = cli.parse_args(argv)
    assert args.command == "tui" and args.server == "http://desk:8580"
    assert args.token == ("ttd_x" if "ttd_x" in " ".join(argv) else None)


@pytest.mark.parametrize("command", [["serve"], ["admin", "agent", "list"]])
def test_the_inbox_options_before_another_command_are_refused_plainly(command, data_dir, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--server", "http://desk:8580", *command])
    assert exited.value.code == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert "--server and --token are the inbox's options" in error and command[0] in error


def test_admin_migrate_copies_the_sqlite_database_into_postgresql(data_dir, capsys, postgresql_url):
    """``admin migrate --to``: the threads, messages and agents of the SQLite database are
    served by the PostgreSQL store afterwards; a second copy into the now full database is
    refused in one line, and so is a target that is not PostgreSQL."""
    import asyncio

    from backend.store import PostgresStore
    from backend.store import conversations as conv
    from backend.store.sqlite import SqliteStore
    from tests.backend.seed import seed_threads

    async def fill() -> tuple[list[int], list[tuple[int, str]]]:
        store = SqliteStore(data_dir / "ttydesk.db")
        await store.open()
        try:
            await store.create_agent(schemas.AgentCreate(name="Ada", role=schemas.Role.admin))
            seeded = await seed_threads(store, 3, text="Hello there")

            def snapshots(tx) -> None:  # as ingest logs them: a type and a row
                for thread_id in seeded:
                    conv.emit_thread_snapshot(tx, thread_id)
                conv.emit_message_snapshot(tx, 1, created=True)

            await store.write(snapshots)
            return seeded, await store.events_after(0)
        finally:
            await store.close()

    data_dir.mkdir(parents=True)
    seeded, replay = asyncio.run(fill())
    assert cli.main(["admin", "migrate", "--to", postgresql_url]) == 0
    out = capsys.readouterr().out
    assert "3 threads, 3 messages" in out and "checked" in out

    async def read() -> tuple[list[int], list[str], list[str], list[tuple[int, str]]]:
        store = PostgresStore(postgresql_url)
        await store.open()
        try:
            threads = await store.list_threads(limit=10)
            messages = await store.list_messages(seeded[0])
            agents = await store.list_agents()
            return (
                sorted(thread.id for thread in threads.items),
                [message.text or "" for message in messages.items],
                [agent.name for agent in agents],
                await store.events_after(0),
            )
        finally:
            await store.close()

    thread_ids, texts, names, replayed = asyncio.run(read())
    # the log's snapshot events (logged as a type and a row) replay as SQLite replays them
    assert len(replay) > 3 and replayed == replay
    assert thread_ids == sorted(seeded)
    assert texts == ["Hello there #0"]  # the first thread's message
    assert names == ["Ada"]
    assert cli.main(["admin", "migrate", "--to", postgresql_url]) == 1
    err = capsys.readouterr().err
    assert "not empty" in err and "\n" not in err.strip()
    assert cli.main(["admin", "migrate", "--to", "mysql://x/y"]) == 2


def _imported(importtime_log: str) -> set[str]:
    """The modules a ``python -X importtime`` run loaded, from its stderr."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in importtime_log.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def _heavy(modules: set[str]) -> set[str]:
    """What a command on SQLite has no use for: psycopg, and the TUI's Textual."""
    return {
        name for name in modules if name.split(".")[0] in ("psycopg", "psycopg_pool", "textual")
    }


def test_help_loads_neither_psycopg_nor_the_tui(data_dir):
    """Every ``ttydesk`` subprocess (the tests start hundreds) paid ~2 s for psycopg and
    the server stack before it even read its command line."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "backend.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "serve" in run.stdout
    modules = _imported(run.stderr)
    assert "argparse" in modules  # the log is read as meant
    assert _heavy(modules) == set()
    assert "backend.store" not in modules and "backend.config" not in modules


def test_serve_on_sqlite_never_loads_psycopg(data_dir, tmp_path):
    import os
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = os.environ | {"TTYDESK_PORT": str(port), "TTYDESK_HOST": "127.0.0.1"}
    env["TTYDESK_WHATSAPP_APP_SECRET"] = "s3cr3t"
    log = tmp_path / "importtime.log"
    with log.open("w") as stderr:
        serve = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "backend.cli", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        give_up = time.monotonic() + 60
        while True:
            assert serve.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < give_up, "serve never answered /healthz"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.05)
    finally:
        serve.terminate()
        serve.wait(timeout=30)
    modules = _imported(log.read_text())
    assert "backend.app" in modules and "backend.store.sqlite" in modules
    assert _heavy(modules) == set()
