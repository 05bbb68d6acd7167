"""Make the README screenshot: the demo's inbox as an SVG (``python -m backend.demo.screenshot``)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from backend.demo.stack import DemoOptions, DemoStack

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "assets" / "screenshot.svg"


async def make_screenshot(output: Path, size: tuple[int, int] = (160, 42)) -> Path:
    from tui.app import TtydeskApp
    from tui.config import load_settings

    stack = DemoStack(DemoOptions(traffic=False))  # a temporary folder, removed at the end
    try:
        info = await stack.start()
        app = TtydeskApp(load_settings(info.backend_url, info.agents["alice"]), save_config=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(1.0)
            await pilot.press("enter")
            await pilot.pause(1.0)
            await pilot.pause(0.5)
            output.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=output.name, path=str(output.parent))
    finally:
        await stack.stop()
        stack.remove_temporary_data()
    return output


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    print(asyncio.run(make_screenshot(target)))
