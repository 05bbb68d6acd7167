"""Where the TUI finds its server and token, and the per-user config file.

Precedence, highest first: ``--server/--token`` arguments, ``TTYDESK_SERVER`` /
``TTYDESK_TOKEN``, then the file. The file is ``$TTYDESK_TUI_CONFIG`` if set, else
``$XDG_CONFIG_HOME/ttydesk/tui.toml`` (``~/.config/ttydesk/tui.toml``). It is written with
mode 0600 because it holds the agent's token::

    server = "http://127.0.0.1:8580"
    token = "…"
    theme = "textual-dark"
    cursor_blink = false   # default: off over SSH (every blink is bytes on the link), on locally
    minimal_redraw = true  # write only the cells that changed (the default); false: whole lines
    arrow_cursor = true    # the list cursor is a marker, not a highlighted row (default: over SSH)
    glyphs = "ascii"       # or "unicode"; default: by the locale (ASCII unless it says UTF-8)

    [keymap]            # binding id → keys, e.g. remap "inbox.close" to "x"
    "inbox.close" = "x"
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(Exception):
    """A config file that cannot be read; the message names the file."""


@dataclass
class Settings:
    """What the TUI needs to start."""

    server: str | None = None
    """Base URL of the backend, e.g. ``http://127.0.0.1:8580``."""
    token: str | None = None
    """The agent's bearer token."""
    theme: str | None = None
    """A Textual theme name."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id → comma-separated keys, applied with ``App.set_keymap``."""
    path: Path | None = None
    """The config file these settings were read from (and are saved to)."""
    saved: bool = False
    """Whether the file already holds this server and token (else the inbox offers to save)."""
    cursor_blink: bool | None = None
    """Whether text cursors blink; ``None`` decides by the link (``blinks``)."""

    minimal_redraw: bool = True
    """Write only the cells that changed to the terminal (``tui.terminal_output``)."""

    arrow_cursor: bool | None = None
    """The thread list's cursor as a marker only; ``None`` decides by the link."""
    glyphs: str | None = None
    """``"ascii"`` or ``"unicode"`` marks for states (``tui.glyphs``); ``None``: the locale's."""

    def blinks(self, env: Mapping[str, str] | None = None) -> bool:
        """Cursors blink unless set off, or, unset, over SSH: a blinking cursor sends a
        redraw twice a second, which is all an idle inbox would put on a slow link."""
        if self.cursor_blink is not None:
            return self.cursor_blink
        return not over_ssh(env)

    def arrow_cursor_on(self, env: Mapping[str, str] | None = None) -> bool:
        """A marker instead of a highlighted row, when set, or, unset, over SSH: moving a
        highlight rewrites two whole rows (about 700 bytes), a marker two cells."""
        if self.arrow_cursor is not None:
            return self.arrow_cursor
        return over_ssh(env)

    @property
    def complete(self) -> bool:
        return bool(self.server and self.token)


def over_ssh(env: Mapping[str, str] | None = None) -> bool:
    """Whether the inbox runs in an SSH session (each redraw crosses the link)."""
    env = os.environ if env is None else env
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY"))


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if explicit := env.get("TTYDESK_TUI_CONFIG"):
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "ttydesk" / "tui.toml"


FILE_KEYS = frozenset(
    (
        "server",
        "token",
        "theme",
        "keymap",
        "cursor_blink",
        "minimal_redraw",
        "arrow_cursor",
        "glyphs",
    )
)
"""The keys a tui.toml may hold."""


def load_settings(
    server: str | None = None,
    token: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Merge arguments, environment and file; raises ``ConfigError`` for a broken file."""
    env = os.environ if env is None else env
    path = path or config_path(env)
    data = read_file(path)
    # a misspelt key would otherwise be ignored without a word, as the backend's file
    if unknown := sorted(set(data) - FILE_KEYS):
        nearest = difflib.get_close_matches(unknown[0], FILE_KEYS, n=1, cutoff=0.6)
        hint = f"did you mean {nearest[0]!r}?" if nearest else "remove it"
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}: {hint}")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise ConfigError(f"{path}: [keymap] must map binding ids to key strings.")
    for key in ("server", "token", "theme"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{path}: {key} must be a string.")
    if data.get("glyphs", "ascii") not in ("ascii", "unicode"):
        raise ConfigError(f'{path}: glyphs must be "ascii" or "unicode".')
    for key in ("cursor_blink", "minimal_redraw", "arrow_cursor"):
        if key in data and not isinstance(data[key], bool):
            raise ConfigError(f"{path}: {key} must be true or false.")
    server = server or env.get("TTYDESK_SERVER") or data.get("server") or None
    token = token or env.get("TTYDESK_TOKEN") or data.get("token") or None
    return Settings(
        server=server,
        token=token,
        theme=data.get("theme"),
        keymap=dict(keymap),
        path=path,
        cursor_blink=data.get("cursor_blink"),
        minimal_redraw=data.get("minimal_redraw", True),
        arrow_cursor=data.get("arrow_cursor"),
        glyphs=data.get("glyphs"),
        saved=server == data.get("server") and token == data.get("token"),
    )


def read_file(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from exc


def _toml_str(value: str) -> str:
    # JSON string escapes (with \uXXXX for non-ASCII) are valid TOML basic strings.
    return json.dumps(value, ensure_ascii=True)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the file with mode 0600 (created that way, so the token is never world-readable)."""
    path = path or settings.path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = []
    for key in ("server", "token", "theme", "glyphs"):
        value = getattr(settings, key)
        if value:
            lines.append(f"{key} = {_toml_str(value)}")
    # every setting the file may hold is written back: saving a login keeps the rest
    for key, value in (
        ("cursor_blink", settings.cursor_blink),
        ("arrow_cursor", settings.arrow_cursor),
        ("minimal_redraw", None if settings.minimal_redraw else False),
    ):
        if value is not None:
            lines.append(f"{key} = {'true' if value else 'false'}")
    if settings.keymap:
        lines.append("")
        lines.append("[keymap]")
        for binding_id, keys in sorted(settings.keymap.items()):
            lines.append(f"{_toml_str(binding_id)} = {_toml_str(keys)}")
    content = "\n".join(lines) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    settings.path = path
    settings.saved = True
    return path
