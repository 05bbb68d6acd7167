"""``ScreenDiff``: a terminal fed the diffed frames shows exactly what one fed Textual's
frames shows (checked cell by cell, style included, with the ``pyte`` emulator), and
writes far fewer bytes for the small changes that keys make."""

from __future__ import annotations

import random

import pyte
import pytest

from tui.terminal_output import ScreenDiff, to_ascii

WIDTH, HEIGHT = 40, 8
STYLES = ["", "1", "38;5;253;48;5;235", "1;38;5;33;48;5;235", "7", "3;38;2;200;10;10"]
TEXTS = ["a", "b", "—", "界", "😀", "e\u0301", " ", "x"]  # wide, emoji, combining


class Terminal:
    def __init__(self) -> None:
        self.screen = pyte.Screen(WIDTH, HEIGHT)
        self.stream = pyte.Stream(self.screen)
        self.written = 0

    def feed(self, data: str) -> None:
        self.written += len(data.encode())
        self.stream.feed(data)

    def cells(self) -> list[list[tuple]]:
        return [[tuple(self.screen.buffer[y][x]) for x in range(WIDTH)] for y in range(HEIGHT)]


def segment(style: str, text: str) -> str:
    """As Textual's ``Strip.render_style`` writes one segment."""
    return f"\x1b[{style}m{text}\x1b[0m" if style else text


def line_frame(y: int, x: int, cells: list[tuple[str, str]]) -> str:
    return f"\x1b[{y + 1};{x + 1}H" + "".join(segment(style, text) for style, text in cells)


def random_line(rng: random.Random, width: int) -> list[tuple[str, str]]:
    """Cells of random texts and styles; the last is a plain one, since pyte (unlike real
    terminals) wraps when a wide or combining character ends in the last column."""
    cells: list[tuple[str, str]] = []
    used = 0
    while used < width - 1:
        text = rng.choice(TEXTS)
        size = 2 if text in ("界", "😀") else 1
        if used + size > width - 1:
            text, size = " ", 1
        cells.append((rng.choice(STYLES), text))
        used += size
    cells.append((rng.choice(STYLES), "x"))
    return cells


def both(diff: ScreenDiff, raw: Terminal, diffed: Terminal, data: str) -> None:
    raw.feed(data)
    diffed.feed(diff.filter(data))


def test_random_frames_leave_the_same_picture_with_fewer_bytes():
    rng = random.Random(20261206)
    diff, raw, diffed = ScreenDiff(WIDTH, HEIGHT), Terminal(), Terminal()
    both(diff, raw, diffed, "\x1b[?1049h\x1b[2J")
    for _ in range(300):
        if rng.random() < 0.1:  # a full redraw, as after opening a thread
            data = "".join(
                line_frame(y, 0, random_line(rng, WIDTH)) + ("\n" if y < HEIGHT - 1 else "")
                for y in range(HEIGHT)
            )
        else:  # some lines of one widget's region, as after a key
            x = rng.randrange(0, WIDTH // 2)
            width = rng.randrange(1, WIDTH - x + 1)
            rows = rng.sample(range(HEIGHT), rng.randrange(1, 4))
            data = "".join(line_frame(y, x, random_line(rng, width)) for y in sorted(rows))
        data += f"\x1b[{rng.randrange(1, HEIGHT + 1)};{rng.randrange(1, WIDTH + 1)}H"
        both(diff, raw, diffed, "\x1b[?2026h" + data + "\x1b[?2026l")
        assert diffed.cells() == raw.cells()
        assert (diffed.screen.cursor.x, diffed.screen.cursor.y) == (
            raw.screen.cursor.x,
            raw.screen.cursor.y,
        )
    assert diffed.written < raw.written  # random cells are the worst case: most differ


def test_a_redrawn_line_with_one_changed_cell_writes_that_cell():
    diff, raw, diffed = ScreenDiff(WIDTH, HEIGHT), Terminal(), Terminal()
    line = [("38;5;253;48;5;235", "hello world"), ("1", " bold"), ("", " " * 24)]
    both(diff, raw, diffed, "\x1b[2J" + line_frame(3, 0, line))
    before = diffed.written
    changed = [("38;5;253;48;5;235", "hello World"), ("1", " bold"), ("", " " * 24)]
    both(diff, raw, diffed, line_frame(3, 0, changed))
    assert diffed.cells() == raw.cells()
    assert diffed.written - before < 40  # a move, a style, "W" and a reset


def test_the_same_frame_again_writes_nothing_and_a_moved_cursor_only_the_move():
    """An idle inbox that Textual redraws (a timer, a clock) puts nothing on the link."""
    diff = ScreenDiff(WIDTH, HEIGHT)
    frame = "\x1b[2J" + line_frame(0, 0, [("7", "x" * WIDTH)]) + "\x1b[1;5H"
    diff.filter(frame)
    assert diff.filter(line_frame(0, 0, [("7", "x" * WIDTH)]) + "\x1b[1;5H") == ""
    assert diff.filter(line_frame(0, 0, [("7", "x" * WIDTH)]) + "\x1b[1;9H") == "\x1b[1;9H"


def test_sequences_it_does_not_follow_pass_through_and_force_a_full_redraw():
    diff, raw, diffed = ScreenDiff(WIDTH, HEIGHT), Terminal(), Terminal()
    line = line_frame(1, 0, [("1", "same text")])
    both(diff, raw, diffed, "\x1b[2J" + line)
    scroll = "\x1b[1;1H\x1b[2L"  # insert lines: the picture moved
    both(diff, raw, diffed, scroll)
    assert diff.filter(line).count("same text") == 1  # written again, not assumed shown
    assert "\x1b[?25l" in diff.filter("\x1b[?25l")  # a mode switch passes as it is


def test_a_sequence_cut_between_two_writes_is_joined():
    diff, raw, diffed = ScreenDiff(WIDTH, HEIGHT), Terminal(), Terminal()
    both(diff, raw, diffed, "\x1b[2J")
    data = line_frame(2, 3, [("38;5;33", "split here")])
    cut = data.index("38;")
    both(diff, raw, diffed, data[:cut])
    both(diff, raw, diffed, data[cut:])
    assert diffed.cells() == raw.cells()


def test_links_and_wide_characters_survive():
    diff, raw, diffed = ScreenDiff(WIDTH, HEIGHT), Terminal(), Terminal()
    both(diff, raw, diffed, "\x1b[2J" + line_frame(0, 0, [("", "界😀e\u0301 ok")]))
    link = "\x1b]8;id=1;https://example.com\x1b\\" + segment("4", "site") + "\x1b]8;;\x1b\\"
    both(diff, raw, diffed, "\x1b[1;2H" + link)
    both(diff, raw, diffed, line_frame(0, 0, [("", "界😀e\u0301 ok")]))
    assert diffed.cells() == raw.cells()


def test_a_terminal_without_unicode_gets_ascii_in_every_cell_it_had():
    """Under a non-UTF-8 locale the whole picture (Textual's borders included) is written
    in ASCII, one character per cell, so nothing moves."""
    diff, raw, diffed = ScreenDiff(WIDTH, HEIGHT), Terminal(), Terminal()
    diff.ascii_only = True
    line = [("", "┌──┐ José ▸ ✓✓ 界 😀 e\u0301 · …")]
    raw_frame = "\x1b[2J" + line_frame(0, 0, line)
    raw.feed(raw_frame)
    out = diff.filter(raw_frame)
    assert out.isascii()
    diffed.feed(out)
    assert diffed.screen.display[0].rstrip() == "+--+ Jose > vv ?? ?? e . ~"

    # every character sits in the column it had in the Unicode picture
    def columns_of(terminal: Terminal, text: str) -> list[int]:
        return [x for x in range(WIDTH) if terminal.screen.buffer[0][x].data == text]

    assert columns_of(raw, "J") == columns_of(diffed, "J") == [5]
    accented = [x for x in range(WIDTH) if raw.screen.buffer[0][x].data.startswith("é")]
    assert accented == columns_of(diffed, "e") == [8, 21]


def test_marks_and_punctuation_without_ascii_are_spelled_by_their_look_alike():
    # a Select's arrows, Spanish opening marks
    assert to_ascii("All open ▼ ▲ ▾ ¡Hola! ¿Qué?") == "All open v ^ v !Hola! ?Que?"


# the output thread's death is the case: Textual lets its BrokenPipeError end the thread
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
async def test_output_to_a_terminal_that_hung_up_is_dropped_and_never_blocks_the_app():
    """The output thread dies at its first write to a terminal that is gone (here a pipe
    whose reader closed): the app's writes after it, more than its queue holds, and the
    way out must return, not wait for ever on a queue nothing drains."""
    import asyncio
    import os
    import threading

    from textual.app import App
    from textual.drivers._writer_thread import MAX_QUEUED_WRITES, WriterThread

    from tui.terminal_output import DiffingDriver

    read_end, write_end = os.pipe()
    os.close(read_end)
    driver = DiffingDriver(App(), debug=False, mouse=False, size=(WIDTH, HEIGHT))
    output = WriterThread(os.fdopen(write_end, "w"))
    output.start()
    driver._writer_thread = output

    def run_app_writes():
        for n in range(MAX_QUEUED_WRITES * 3):
            driver.write(f"\x1b[1;1Hframe {n}")
        if driver._writer_thread is not None:  # the way out stops the output thread
            driver._writer_thread.stop()

    # in a thread of its own, so that a write that blocks for ever fails the test instead
    app_thread = threading.Thread(target=run_app_writes, daemon=True)
    app_thread.start()
    await asyncio.to_thread(app_thread.join, 60)
    assert not app_thread.is_alive(), "the app waited for ever on a dead output thread"
    assert not output.is_alive()
