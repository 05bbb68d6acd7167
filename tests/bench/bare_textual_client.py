"""The inbox benchmark's baseline: a bare Textual app's first frame, measured as the inbox's.

``python -m tests.bench.bare_textual_client --core 1`` runs a trivial app (a title and a
footer) headless with ``App.run_test(size=(120, 40))`` and prints one JSON line: the time from
this module's start to the first frame composed (imports included), and the process's CPU
time by then. ``tests/bench/inbox.py`` runs it beside the inbox's start, so first paint is
also a ratio to what Textual alone costs on the same machine at the same moment.
"""

from __future__ import annotations

import time

PROCESS_START = time.perf_counter()
PROCESS_CPU = time.process_time()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
from typing import Any  # noqa: E402

from tests.bench.common import pin  # noqa: E402


async def run() -> dict[str, Any]:
    from textual._compositor import CompositorUpdate
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Bare(App[None]):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self) -> ComposeResult:
            yield Static("ttydesk")
            yield Footer()

    shown: list[tuple[float, float]] = []
    app = Bare()
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        if isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)
        original(screen, renderable)
        if renderable is not None and not shown:
            shown.append((time.perf_counter(), time.process_time()))

    app._display = display  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)):
        while not shown:
            await asyncio.sleep(0.002)
    frame, cpu = shown[0]
    return {
        "first_frame_ms": round((frame - PROCESS_START) * 1000, 1),
        "first_frame_cpu_ms": round((cpu - PROCESS_CPU) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--core", type=int, default=1)
    args = parser.parse_args()
    pin(args.core)
    print(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    main()
