"""Only the cells that changed go to the terminal: what keeps the inbox usable over slow SSH.

Textual redraws a widget by whole lines: moving the cursor in the thread list rewrites four
lines of sixty cells, and a typed character the composer's three. ``ScreenDiff`` keeps a
copy of what the terminal shows (each cell's text and style) and turns every frame Textual
writes into the cells that differ from it, with one style change per run of equal styles
instead of a style and a reset per segment — the job curses does for neomutt and aerc.

It reads the few sequences Textual draws with (cursor moves, SGR styles, OSC 8 links,
text, newlines) and passes every other sequence through in its place. A sequence that
could change cells in a way it does not follow (erase, scroll, an alternate-screen switch)
makes it forget what the terminal shows, so the next frame is written in full; a resize
does the same. Being wrong is never silent: a cell it is unsure of is written again.
"""

from __future__ import annotations

import queue
import re
import unicodedata
from dataclasses import dataclass

from rich.cells import get_character_cell_size
from textual.drivers.linux_driver import LinuxDriver

# one terminal token: a CSI sequence, an OSC string, another two-byte escape, or text
_TOKEN = re.compile(
    r"\x1b\[(?P<csi_params>[0-9;:?<=>]*)(?P<csi_inter>[ -/]*)(?P<csi_final>[@-~])"
    r"|\x1b\](?P<osc>[^\x07\x1b]*)(?:\x07|\x1b\\)"
    r"|\x1b(?P<esc>[^\[\]])"
    r"|(?P<ctl>[\r\n\x08])"
    r"|(?P<text>[^\x1b\r\n\x08]+)"
)
# an escape sequence cut off at the end of a write: kept for the next write
_INCOMPLETE = re.compile(r"\x1b(\[[0-9;:?<=>]*[ -/]*|\][^\x07\x1b]*(\x1b)?)?\Z")
# sequences with private parameters (modes, keyboard protocols) do not touch cells…
_PRIVATE = ("?", "<", ">", "=")
# …but for these, which switch to (or from) another screen
_ALTERNATE_SCREEN = frozenset({"?1049", "?1047", "?47"})
# Textual brackets each frame in a synchronized update (DEC mode 2026)
SYNC_START, SYNC_END = "\x1b[?2026h", "\x1b[?2026l"
# a run of unchanged cells shorter than this is rewritten rather than jumped over
_GAP = 6
# how often a write waiting on a full output queue checks that its thread still runs
OUTPUT_THREAD_CHECK_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class Cell:
    text: str  # "" for the right half of a wide character
    sgr: str = ""  # the SGR parameters in force, "" for the terminal's default
    link: str = ""  # the OSC 8 parameters and URL ("id=…;https://…"), "" for none


BLANK = Cell(" ")


class ScreenDiff:
    """What the terminal shows, and the shortest rewrite of a frame against it."""

    def __init__(self, width: int, height: int, *, ascii_only: bool = False) -> None:
        self.width = width
        self.height = height
        # a terminal whose locale is not UTF-8: every cell is written as ASCII (to_ascii)
        self.ascii_only = ascii_only
        self.shown: list[list[Cell | None]] = self._unknown()
        self._pending = ""
        self.cursor: tuple[int, int] | None = None  # where the last frame left the cursor

    def _unknown(self) -> list[list[Cell | None]]:
        return [[None] * self.width for _ in range(self.height)]

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.forget()

    def forget(self) -> None:
        """The terminal may show anything: the next frame is written in full."""
        self.shown = self._unknown()
        self.cursor = None

    def filter(self, data: str) -> str:
        """The bytes to write instead of ``data``, for the same picture."""
        data = self._pending + data
        cut = _INCOMPLETE.search(data)
        if cut is not None and cut.start() < len(data):
            data, self._pending = data[: cut.start()], data[cut.start() :]
        else:
            self._pending = ""
        frame = _Frame(self)
        for token in _TOKEN.finditer(data):
            frame.feed(token)
        return frame.finish()


class _Frame:
    """One write, parsed against what the terminal shows."""

    def __init__(self, screen: ScreenDiff) -> None:
        self.screen = screen
        self.out: list[str] = []
        self.x: int | None = None
        self.y: int | None = None
        self.sgr = ""
        self.link = ""
        # the cells this write drew, by row: column → cell
        self.drawn: dict[int, dict[int, Cell]] = {}
        self.cursor_moved = False  # a move after the last text: where the cursor rests

    # ---------------------------------------------------------------- parsing

    def feed(self, token: re.Match[str]) -> None:
        kind = token.lastgroup
        if kind == "text":
            self._text(token.group("text"))
        elif kind == "csi_final":
            self._csi(token)
        elif kind == "osc":
            self._osc(token)
        elif kind == "ctl":
            control = token.group("ctl")
            if control == "\r":
                self.x = 0 if self.y is not None else None
            elif control == "\n" and self.y is not None:
                self.y += 1  # Textual moves explicitly after each newline anyway
            else:
                self.x = self.y = None
        else:
            self._pass(token.group(0), harmless=False)

    def _csi(self, token: re.Match[str]) -> None:
        params, final = token.group("csi_params"), token.group("csi_final")
        if token.group("csi_inter"):
            self._pass(token.group(0), harmless=final == "q")  # e.g. cursor shape
        elif final == "m":
            self._style(params)
        elif final in "Hf":
            row, _, column = params.partition(";")
            self.y = int(row or 1) - 1
            self.x = int(column or 1) - 1
            self.cursor_moved = True
        elif final == "J" and params == "2":
            self._flush()
            self.screen.shown = [[BLANK] * self.screen.width for _ in range(self.screen.height)]
            self.out.append(token.group(0))
        elif params[:1] in _PRIVATE or final in "nc":
            # modes, keyboard protocols and queries; the alternate screen is a new picture
            self._pass(token.group(0), harmless=params not in _ALTERNATE_SCREEN)
        else:
            self._pass(token.group(0), harmless=False)

    def _style(self, params: str) -> None:
        if params in ("", "0"):
            self.sgr = ""
        elif params.startswith("0;"):
            self.sgr = params[2:]
        else:
            self.sgr = f"{self.sgr};{params}" if self.sgr else params

    def _osc(self, token: re.Match[str]) -> None:
        body = token.group("osc")
        if body.startswith("8;"):
            params_and_url = body[2:]
            self.link = "" if params_and_url == ";" else params_and_url
        else:
            self._pass(token.group(0), harmless=True)  # e.g. a window title

    def _text(self, text: str) -> None:
        screen = self.screen
        if self.x is None or self.y is None or not 0 <= self.y < screen.height:
            self._pass_text(text)
            return
        row = self.drawn.setdefault(self.y, {})
        x = self.x
        for character in text:
            size = get_character_cell_size(character)
            if size == 0:  # a combining mark joins the cell before it
                if x - 1 in row:
                    before = row[x - 1]
                    row[x - 1] = Cell(before.text + character, before.sgr, before.link)
                    continue
                self._pass_text(text)
                return
            if x + size > screen.width:
                self._pass_text(text)  # wrapping: beyond what this follows
                return
            row[x] = Cell(character, self.sgr, self.link)
            if size == 2:
                row[x + 1] = Cell("", self.sgr, self.link)
            x += size
        self.x = x
        self.cursor_moved = False

    def _pass_text(self, text: str) -> None:
        """Text where this cannot follow it: written as it came, and the picture forgotten."""
        self._flush()
        if self.screen.ascii_only:
            text = to_ascii(text)
        self.out.append(_sgr(self.sgr) + _link(self.link) + text)
        if self.link:
            self.out.append(_link(""))
        if self.sgr:
            self.out.append("\x1b[0m")
        self.screen.forget()
        self.x = self.y = None

    def _pass(self, sequence: str, *, harmless: bool) -> None:
        self._flush()
        self.out.append(sequence)
        if not harmless:
            self.screen.forget()
            self.x = self.y = None

    # ---------------------------------------------------------------- writing

    def _flush(self) -> None:
        """Write the cells drawn so far that differ from what the terminal shows."""
        shown = self.screen.shown
        out = self.out
        sgr = link = ""
        for y in sorted(self.drawn):
            row = self.drawn[y]
            line = shown[y]
            changed = sorted(x for x, cell in row.items() if line[x] != cell)
            for start, end in _runs(changed, row, line):
                out.append(f"\x1b[{y + 1};{start + 1}H")
                for x in range(start, end):
                    cell = _cell(row, line, x)
                    assert cell is not None  # _runs keeps runs inside known cells
                    line[x] = cell
                    if cell.text == "":
                        continue  # the right half of the wide character just written
                    if cell.sgr != sgr:
                        out.append(_sgr_change(sgr, cell.sgr))
                        sgr = cell.sgr
                    if cell.link != link:
                        out.append(_link(cell.link))
                        link = cell.link
                    out.append(to_ascii(cell.text) if self.screen.ascii_only else cell.text)
        if link:
            out.append(_link(""))
        if sgr:
            out.append("\x1b[0m")
        self.drawn = {}

    def finish(self) -> str:
        final = (self.x, self.y) if self.cursor_moved else None
        self._flush()
        screen = self.screen
        if self.out:
            screen.cursor = None  # the cursor is wherever the last write left it
        if final is not None and final[0] is not None and final[1] is not None:
            # where Textual leaves the cursor (the text cursor of a focused input); a
            # frame that changed nothing and leaves it where it was writes nothing
            at = (final[0], final[1])
            if at != screen.cursor:
                self.out.append(f"\x1b[{at[1] + 1};{at[0] + 1}H")
                screen.cursor = at
        return "".join(self.out)


def _runs(
    changed: list[int], row: dict[int, Cell], line: list[Cell | None]
) -> list[tuple[int, int]]:
    """Half-open column runs covering ``changed``: short gaps of drawn cells are filled in
    (cheaper than a cursor move), and a run never starts or ends inside a wide character."""
    runs: list[tuple[int, int]] = []
    for x in changed:
        start, end = x, x + 1
        here = _cell(row, line, start)
        if here is not None and here.text == "" and start > 0:
            start -= 1  # the left half of the wide character
        following = _cell(row, line, end) if end < len(line) else None
        if following is not None and following.text == "":
            end += 1
        if runs and start - runs[-1][1] <= _GAP and _known(row, line, runs[-1][1], start):
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        elif runs and start < runs[-1][1]:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def _cell(row: dict[int, Cell], line: list[Cell | None], x: int) -> Cell | None:
    return row.get(x) or line[x]


def _known(row: dict[int, Cell], line: list[Cell | None], start: int, end: int) -> bool:
    return all(_cell(row, line, x) is not None for x in range(start, end))


# what a terminal without Unicode shows for the box drawing, blocks and marks Textual and
# the inbox draw with: one ASCII character per cell, so every column stays where it was
_ASCII_FOR = str.maketrans(
    {
        **dict.fromkeys("─━═╌╍┄┅┈┉⎯–—‒―", "-"),
        **dict.fromkeys("│┃║╎╏┆┇┊┋▏▕▎▍▌▋▊▉▐", "|"),
        # a full block (the message cursor's thick bar, thick borders) stays apart from
        # the half blocks of the other messages' bars
        "█": "#",
        **dict.fromkeys("┌┐└┘╭╮╰╯┏┓┗┛╔╗╚╝├┤┬┴┼┣┫┳┻╋╠╣╦╩╬", "+"),
        **dict.fromkeys("▁▂▃▄▅▆▇", "_"),
        **dict.fromkeys("▔▀", "^"),
        **dict.fromkeys("░▒▓", "#"),
        **dict.fromkeys("▸▶►›»⏵", ">"),
        **dict.fromkeys("◂◀◄‹«⏴", "<"),
        **dict.fromkeys("●•◦∙○◌◐◯", "*"),
        **dict.fromkeys("✓✔", "v"),
        **dict.fromkeys("✗✘×", "x"),
        # Rich and Textual end a cut text with "…": "." would read as a full stop
        # ("HF-PO-881." for a cut order number), "~" reads as cut
        "…": "~",
        "·": ".",
        **dict.fromkeys("“”„″", '"'),
        **dict.fromkeys("‘’‚′", "'"),
        **dict.fromkeys("▼▾▽⏷", "v"),
        **dict.fromkeys("▲▴△⏶", "^"),
        "¡": "!",
        "¿": "?",
        "←": "<",
        "→": ">",
        "↑": "^",
        "↓": "v",
        "⏎": ">",
        "↩": "<",
        "↪": ">",
        "↳": ">",
        "\u00a0": " ",
        # letters with no accent to drop (NFKD leaves them whole), by their look-alike
        **dict(zip("øØłŁđĐðÐıħĦŧŦ", "oOlLdDdDihHtT", strict=True)),
    }
)


def to_ascii(text: str) -> str:
    """``text`` in ASCII, one character per cell it takes: drawing characters by their
    look-alike, accented letters without their accents, anything else ``?`` (``??`` for a
    wide character)."""
    if text.isascii():
        return text
    text = text.translate(_ASCII_FOR)
    out = []
    for character in text:
        if character.isascii():
            out.append(character)
            continue
        size = get_character_cell_size(character)
        if size == 0:
            continue  # a combining mark, dropped with its cell's accent
        base = unicodedata.normalize("NFKD", character)[:1]
        out.append(base if size == 1 and base.isascii() and base.isprintable() else "?" * size)
    return "".join(out)


def _sgr(params: str) -> str:
    return f"\x1b[{params}m" if params else ""


def _sgr_change(current: str, wanted: str) -> str:
    if not current:
        return _sgr(wanted)
    return f"\x1b[0;{wanted}m" if wanted else "\x1b[0m"


def _link(params_and_url: str) -> str:
    return f"\x1b]8;{params_and_url}\x1b\\" if params_and_url else "\x1b]8;;\x1b\\"


class DiffingDriver(LinuxDriver):
    """Textual's Linux driver, writing each frame through a ``ScreenDiff``."""

    #: set before the app starts: write only ASCII (a terminal whose locale is not UTF-8)
    ascii_only = False

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Driver's own
        super().__init__(*args, **kwargs)
        width, height = self._get_terminal_size()
        self._diff = ScreenDiff(width, height, ascii_only=self.ascii_only)
        self._frame: list[str] | None = None  # a synchronized update being gathered

    def write(self, data: str) -> None:
        width, height = self._get_terminal_size()
        if (width, height) != (self._diff.width, self._diff.height):
            self._diff.resize(width, height)
        if data == SYNC_START:
            self._frame = []
            return
        if data == SYNC_END and self._frame is not None:
            frame, self._frame = "".join(self._frame), None
            if frame:  # a frame that changed nothing is not written at all
                self._send(SYNC_START + frame + SYNC_END)
            return
        filtered = self._diff.filter(data)
        if self._frame is not None:
            self._frame.append(filtered)
        elif filtered:
            self._send(filtered)

    def _send(self, data: str) -> None:
        """To the output thread; dropped once that thread is gone. It dies at its first write
        to a terminal that hung up (an SSH link dropped, a tmux pane killed; Textual starts
        a new one when SIGCONT comes with the hang-up), and its queue, never drained again,
        would block the app for ever once full: the way out's reset codes too."""
        thread = self._writer_thread
        while thread is not None and thread.is_alive():
            try:  # Textual's own put waits without a limit, on a thread that may die meanwhile
                thread._queue.put(data, timeout=OUTPUT_THREAD_CHECK_SECONDS)
                return
            except queue.Full:
                continue
        self._writer_thread = None  # stopping it would wait on its queue as well


class AsciiDiffingDriver(DiffingDriver):
    """For a terminal whose locale is not UTF-8: every cell written as ASCII."""

    ascii_only = True
