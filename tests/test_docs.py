"""The README and docs/ tell the truth: the commands they show run, the settings, make
targets and keys they name exist, and the links they give lead somewhere."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from backend import cli
from backend.config import Settings, _known_keys

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {path: path.read_text(encoding="utf-8") for path in (ROOT / "docs").glob("*.md")}


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text)


def test_the_readmes_test_command_is_what_ci_runs():
    (row,) = [line for line in README.splitlines() if "**Run the tests**" in line]
    (command,) = code_spans(row)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    makes = [line.strip() for line in ci.splitlines() if line.strip().startswith("make ")]
    assert makes[0] == command
    # "`.ci/run` runs both": the README's command, then the PostgreSQL run
    assert makes == [command, "make test-postgresql"]


def test_every_make_target_the_readme_names_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", README))
    assert named >= {"demo", "test", "test-postgresql", "bench", "mutate", "install"}
    assert named <= targets
    (phony,) = re.findall(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert set(phony.split()) <= targets  # `make lint` said "Nothing to be done"


def test_every_setting_is_in_docs_configuration():
    documented = set(re.findall(r"^\| `([\w.]+)` \|", DOCS[ROOT / "docs/CONFIGURATION.md"], re.M))
    tables = {key for key, model in _known_keys(Settings).items() if model is not None}
    assert documented == set(_known_keys(Settings)) - tables


def test_the_settings_the_readme_names_exist():
    known = set(_known_keys(Settings))
    toml_blocks = re.findall(r"```toml\n(.*?)```", section(README, "Connecting a real"), re.S)
    for block in toml_blocks:
        assert set(tomllib.loads(block)) <= known
    assert toml_blocks


def readme_commands() -> list[list[str]]:
    """Every `ttydesk …` command the README shows, in code spans and shell blocks."""
    lines = code_spans(README)
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        lines += block.replace("\\\n", " ").splitlines()
    commands = []
    for line in lines:
        line = line.split("#")[0].rstrip(" &")
        if "ttydesk " in line and not line.lstrip().startswith(("pip", "sudo", "sqlite3")):
            words = shlex.split(line[line.index("ttydesk ") :].replace("…", "x"))
            commands.append([w for w in words if not w.startswith("[")][1:])
    return commands


@pytest.mark.parametrize("argv", readme_commands(), ids=" ".join)
def test_every_command_the_readme_shows_parses(argv):
    args = cli.parse_args(argv)
    # no `func`: the inbox, the default command
    assert callable(getattr(args, "func", cli.cmd_tui))


KEY_NAMES = {
    "slash": "/",
    "question_mark": "?",
    "left_square_bracket": "[",
    "full_stop": ".",
    "plus": "+",
    "escape": "esc",
    "pagedown": "pgdn",
    "pageup": "pgup",
}
# the inbox's panes: every key of theirs is named in the README's "Keys" section
PANES = [
    "tui.app:TtydeskApp",
    "tui.screens.inbox:InboxScreen",
    "tui.widgets.thread_list:ThreadList",
    "tui.widgets.message_log:MessageLog",
    "tui.widgets.composer:Composer",
    "tui.widgets.views_sidebar:ViewsSidebar",
]


def bound_keys() -> dict[str, str]:
    import importlib

    keys = {}
    for pane in PANES:
        module, name = pane.split(":")
        for binding in getattr(importlib.import_module(module), name).BINDINGS:
            for key in binding.key.split(","):
                keys[KEY_NAMES.get(key, key)] = binding.id
    return keys


def readme_keys() -> set[str]:
    keys = section(README, "Keys").split("\n### ")[0].split("A key is remapped")[0]
    named = set()
    for span in code_spans(keys.replace("`1`–`9`", "`1/2/3/4/5/6/7/8/9`")):
        named |= {key.strip() for key in re.split(r"(?<=.)/(?=.)", span)}
    return named


def test_the_readme_names_every_key_of_the_inbox():
    missing = {key: id_ for key, id_ in bound_keys().items() if key not in readme_keys()}
    assert missing == {}


def test_every_key_the_readme_names_is_bound():
    textual = {"tab"}  # focus the next pane: Textual's own binding
    assert readme_keys() - bound_keys().keys() - textual == set()


def test_every_relative_link_of_the_docs_leads_to_a_file():
    for path, text in [(ROOT / "README.md", README), *DOCS.items()]:
        for target in re.findall(r"\]\(([^)#]+)", text):
            if "://" not in target:
                assert (path.parent / target).exists(), (path.name, target)


def test_the_tui_may_import_nothing_of_the_backend_but_its_schemas():
    """ARCHITECTURE.md: `tui/` imports only `backend.schemas` from the backend; the
    contract must forbid every other module of the backend for that to be checked."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [
        c for c in config["tool"]["importlinter"]["contracts"] if c.get("source_modules") == ["tui"]
    ]
    backend = {
        f"backend.{path.stem if path.suffix else path.name}"
        for path in (ROOT / "backend").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert backend - {"backend.schemas"} - set(contract["forbidden_modules"]) == set()


def test_the_readme_links_every_doc():
    linked = {(ROOT / target).resolve() for target in re.findall(r"\]\(([^)#]+)", README)}
    assert set(DOCS) <= linked


def test_the_readmes_tui_toml_is_what_the_inbox_reads(tmp_path):
    from tui.config import load_settings

    keys = section(README, "Keys")
    (block,) = re.findall(r"```toml\n(.*?)```", keys, re.S)
    (remap,) = [span for span in code_spans(keys) if span.startswith('"inbox.')]
    path = tmp_path / "tui.toml"
    path.write_text(f"{block}\n[keymap]\n{remap}\n", encoding="utf-8")
    settings = load_settings(env={}, path=path)
    expected = tomllib.loads(block)
    assert {name: getattr(settings, name) for name in expected} == expected
    ((binding_id, key),) = settings.keymap.items()
    assert binding_id in bound_keys().values() and key == "x"


# where a doc's short file name (`whatsapp/parse.py`, `test_cli.py`) is looked for
PLACES = ["", "backend", "backend/store", "tui", "tests", "tests/backend", "tests/whatsapp"]
CONFIG_FILES = {"ttydesk.toml", "tui.toml"}


def test_every_file_the_docs_name_exists():
    missing = []
    for path, text in [(ROOT / "README.md", README), *DOCS.items()]:
        for name in set(re.findall(r"`([^`\s]+\.(?:py|md|toml|json|tcss|svg))`", text)):
            if name[0] in "~$./" or name in CONFIG_FILES:
                continue  # a user's file, a URL path
            if not any((ROOT / place / name).exists() for place in PLACES):
                missing.append((path.name, name))
    assert missing == []


@pytest.mark.parametrize("flag", ["--again", "--only"])
def test_make_mutate_with_again_or_only_and_no_mutant_is_refused(flag, capsys):
    """README: `--again 'GLOB'` re-runs the mutants named; without one it ran the whole
    target from scratch (an hour or more) instead of saying what was missing."""
    from tests.mutation import run

    assert run.main(["events_replay", flag]) == 2
    assert "name the mutants" in capsys.readouterr().out
