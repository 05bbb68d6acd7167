"""Start-up, as an operator meets it: one ``serve`` per database, and every reason it cannot
start as one line naming the cause and the fix (never a traceback). Real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

START_TIMEOUT = 60.0


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if not key.startswith("TTYDESK_")}
    values.update(
        TTYDESK_DATA_DIR=str(tmp_path / "data"),
        TTYDESK_CONFIG_FILE=os.devnull,
        TTYDESK_HOST="127.0.0.1",
        TTYDESK_PORT="0",
        TTYDESK_WHATSAPP_APP_SECRET="test-app-secret",  # serve refuses to start without one
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        PYTHONUNBUFFERED="1",
    )
    return values


def ttydesk(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(*args: str, env: dict[str, str], cwd: Path | None = None) -> tuple[int, str, str]:
    process = ttydesk(*args, env=env, cwd=cwd)
    out, err = process.communicate(timeout=START_TIMEOUT)
    return process.returncode, out, err


def serving(env: dict[str, str]) -> subprocess.Popen[str]:
    """``ttydesk serve`` once it listens (it prints its address then)."""
    process = ttydesk("serve", env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "ttydesk backend on" not in line:
        process.kill()
        raise AssertionError(f"serve did not start: {line!r} {process.communicate()[1]}")
    return process


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def assert_one_line(code: int, err: str, *words: str) -> str:
    assert code != 0
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_second_serve_on_the_same_database_is_refused_in_one_line(env):
    first = serving(env)
    try:
        code, _, err = finished("serve", env=env)
        line = assert_one_line(code, err, "already served", str(first.pid))
        assert "ttydesk.db" in line
        # read-only admin commands still work beside the running serve
        code, out, err = finished("admin", "agent", "list", env=env)
        assert code == 0, err
        assert "NAME" in out
        assert first.poll() is None  # the first one is untouched
    finally:
        stop(first)
    # once the first has stopped, the database can be served again
    stop(serving(env))


def test_a_port_in_use_is_one_line_naming_the_port(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env["TTYDESK_PORT"] = str(port)
        code, _, err = finished("serve", env=env)
    assert_one_line(code, err, f"port {port}", "in use", "TTYDESK_PORT")


@pytest.mark.parametrize("command", [("serve",), ("admin", "agent", "list")])
def test_a_data_folder_that_cannot_be_made_is_one_line(env, tmp_path, command):
    (tmp_path / "a-file").write_text("in the way")
    env["TTYDESK_DATA_DIR"] = str(tmp_path / "a-file" / "data")
    code, _, err = finished(*command, env=env)
    assert_one_line(code, err, "data folder", "a-file", "TTYDESK_DATA_DIR")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write any folder")
@pytest.mark.parametrize("command", [("serve",), ("admin", "agent", "list")])
def test_a_data_folder_that_is_not_writable_is_one_line(env, tmp_path, command):
    data = tmp_path / "data"
    data.mkdir(mode=0o500)
    try:
        code, _, err = finished(*command, env=env)
    finally:
        data.chmod(0o700)
    assert_one_line(code, err, "data folder", "not writable")


@pytest.mark.parametrize("command", [("serve",), ("admin", "agent", "list")])
def test_a_file_that_is_not_a_database_is_one_line(env, tmp_path, command):
    data = tmp_path / "data"
    data.mkdir()
    (data / "ttydesk.db").write_bytes(b"these are my notes, not a database\n" * 200)
    code, _, err = finished(*command, env=env)
    assert_one_line(code, err, "ttydesk.db", "cannot be read", "backup")


def test_a_toml_syntax_error_names_the_file_and_line(env, tmp_path):
    config = tmp_path / "ttydesk.toml"
    config.write_text('host = "127.0.0.1"\nport = = 3\n')
    env["TTYDESK_CONFIG_FILE"] = str(config)
    code, _, err = finished("serve", env=env)
    assert_one_line(code, err, str(config), "line 2")


@pytest.mark.parametrize(
    ("text", "key", "nearest"),
    [
        ("prot = 9000\n", "prot", "port"),
        ("[policy]\nenabeld = false\n", "policy.enabeld", "policy.enabled"),
        (
            '[[routing_rules]]\nrequired_skills = ["es"]\nkeyword = ["hola"]\n',
            "routing_rules.keyword",
            "routing_rules.keywords",
        ),
    ],
)
def test_an_unknown_key_is_named_with_the_nearest_valid_one(env, tmp_path, text, key, nearest):
    config = tmp_path / "ttydesk.toml"
    config.write_text(text)
    env["TTYDESK_CONFIG_FILE"] = str(config)
    code, _, err = finished("admin", "agent", "list", env=env)
    line = assert_one_line(code, err, str(config), f"{key!r}", f"{nearest!r}")
    assert "unknown" in line


@pytest.mark.parametrize("command", [("serve",), ("admin", "agent", "list")])
def test_an_unreachable_postgresql_is_one_line_and_makes_no_sqlite_file(env, tmp_path, command):
    env["TTYDESK_DATABASE"] = "postgresql://ttydesk@127.0.0.1:5432/ttydesk"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    code, _, err = finished(*command, env=env, cwd=workdir)
    assert_one_line(code, err, "PostgreSQL", "TTYDESK_DATABASE")
    assert list(workdir.iterdir()) == []
