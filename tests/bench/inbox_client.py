"""The client side of the inbox benchmark: the real ``tui`` app, headless, in its own process.

``python -m tests.bench.inbox_client --server URL --token T --big-thread ID`` starts
``TtydeskApp`` with ``App.run_test(size=(120, 40))`` against the backend, and measures
from the process start to the first frame that shows thread rows; then key → frame for
j/k and page moves (the first frame composed after the key, converted to the terminal
sequence a real terminal would get, since a headless app skips that step), opening the
5,000-message thread (Enter → the frame showing its messages), and its own RSS. Prints one
JSON line.
"""

from __future__ import annotations

import time

PROCESS_START = time.perf_counter()
PROCESS_CPU = time.process_time()

import gc  # noqa: E402

gc.disable()  # as ``ttydesk`` starts the inbox (backend/cli.py cmd_tui); on again at mount

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from typing import Any  # noqa: E402

from tests.bench.common import percentile, pin, rss_mb  # noqa: E402


async def wait_for(predicate: Any, timeout: float = 10.0, step: float = 0.002) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return False


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from textual._compositor import CompositorUpdate

    from tui.app import TtydeskApp
    from tui.config import Settings
    from tui.screens.inbox import InboxScreen

    imported = time.perf_counter() - PROCESS_START
    frames: list[float] = []
    rows_shown: list[float] = []  # the first frame composed with thread rows in the list
    rows_shown_cpu: list[float] = []  # the process's CPU time then
    # the first frame drawn with the opened thread's messages: (when, the process's CPU time)
    shown_with: list[tuple[float, float]] = []
    opening: list[Any] = []  # the message log, while a thread opens
    app = TtydeskApp(Settings(server=args.server, token=args.token), save_config=False)
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        # what the real driver would do first: turn the update into terminal output
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)
        original(screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())
            if (
                not rows_shown
                and isinstance(screen, InboxScreen)
                and screen.threads.thread_at(0) is not None
            ):
                rows_shown.append(frames[-1])
                rows_shown_cpu.append(time.process_time())
            if opening and opening[0].messages and not shown_with:
                shown_with.append((frames[-1], time.process_time()))

    app._display = display  # type: ignore[method-assign]
    result: dict[str, Any] = {"import_s": round(imported, 3)}
    async with app.run_test(size=(120, 40)) as pilot:
        ok = await wait_for(lambda: isinstance(app.screen, InboxScreen), 20)
        assert ok, "the inbox did not open"
        screen = app.screen
        threads = screen.threads
        # (a frame's own check: polling for the rows may notice them a frame or more late)
        await wait_for(lambda: bool(rows_shown), 20)
        first_paint = rows_shown[0] - PROCESS_START
        result["first_paint_ms"] = round(first_paint * 1000, 1)
        # the client's own work until then, which a loaded machine stretches less
        result["first_paint_cpu_ms"] = round((rows_shown_cpu[0] - PROCESS_CPU) * 1000, 1)
        result["total_threads"] = threads.total
        if args.first_paint_only:
            return result
        await pilot.pause(0.3)

        async def key_to_frame(key: str) -> float:
            mark = len(frames)
            started = time.perf_counter()
            await pilot.press(key)
            await wait_for(lambda: len(frames) > mark, 2, 0.0005)
            latency = (frames[mark] - started) * 1000 if len(frames) > mark else float("nan")
            await asyncio.sleep(0.03)  # a brisk typing cadence, not a flood
            return latency

        moves = []
        for key in ["j"] * 40 + ["k"] * 20 + ["j"] * 20:
            moves.append(await key_to_frame(key))
        pages = []
        page_loaded = []
        for key in ["pagedown"] * 20 + ["pageup"] * 6:
            pages.append(await key_to_frame(key))
            started = time.perf_counter()
            await wait_for(lambda: threads.current is not None, 5)
            page_loaded.append((time.perf_counter() - started) * 1000 + pages[-1])
        # the far end of the list (a deep offset page) and back to the top
        result["end_ms"] = round(await key_to_frame("G"), 1)
        started = time.perf_counter()
        await wait_for(lambda: threads.current is not None, 10)
        result["end_rows_ms"] = round((time.perf_counter() - started) * 1000 + result["end_ms"], 1)
        await key_to_frame("g")
        await wait_for(lambda: threads.current is not None, 10)
        await pilot.pause(0.2)
        result["moves"] = moves
        result["pages"] = pages
        result["page_loaded"] = page_loaded
        result["move_p50_ms"] = round(percentile(moves, 50), 2)
        result["move_p95_ms"] = round(percentile(moves, 95), 2)
        result["page_p50_ms"] = round(percentile(pages, 50), 2)
        result["page_p95_ms"] = round(percentile(pages, 95), 2)
        result["page_loaded_p95_ms"] = round(percentile(page_loaded, 95), 2)

        # open the 5,000-message thread (the newest: the top row)
        current = threads.current
        result["top_thread"] = current.id if current else None
        log = screen.log_widget
        profiler = None
        if os.environ.get("BENCH_PROFILE_OPEN"):  # pyinstrument the open, for diagnosis
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        opening.append(log)
        started, cpu_started = time.perf_counter(), time.process_time()
        await pilot.press("enter")
        await wait_for(lambda: bool(shown_with), 10)
        shown, cpu_shown = shown_with[0] if shown_with else (time.perf_counter(), float("nan"))
        result["open_ms"] = round((shown - started) * 1000, 1)
        # the client's own work, which a loaded machine stretches less than the wall clock
        result["open_cpu_ms"] = round((cpu_shown - cpu_started) * 1000, 1)
        result["open_messages_loaded"] = len(log.messages)
        if profiler is not None:
            profiler.stop()
            with open(os.environ["BENCH_PROFILE_OPEN"], "w", encoding="utf-8") as out:
                out.write(profiler.output_text(show_all=False))
        await pilot.pause(0.3)
        result["rss_mb"] = round(rss_mb(os.getpid()), 1)
        with open("/proc/self/status", encoding="ascii") as status:
            result["hwm_mb"] = next(
                round(int(line.split()[1]) / 1024, 1)
                for line in status
                if line.startswith("VmHWM:")
            )
        result["fetches"] = threads.fetch_count
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--core", type=int, default=1)
    parser.add_argument(
        "--first-paint-only", action="store_true", help="stop once the first rows are drawn"
    )
    args = parser.parse_args()
    pin(args.core)
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
