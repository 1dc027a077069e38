"""Regenerate screenshots/*.svg from the demo data: `python scripts/screenshots.py`.

Drives the real app headless (`App.run_test`) on `flowtui demo`'s emulator and rules, the
way a person would, and saves one SVG per screen. Refuses to write a screenshot that shows
any of the demo's secrets.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flowtui.demo import demo_environment  # noqa: E402
from flowtui.tui.app import FlowtuiApp  # noqa: E402
from flowtui.tui.launch import build_app  # noqa: E402

OUT = ROOT / "screenshots"
SIZE = (150, 40)
WAIT_S = 15.0


class Shooter:
    def __init__(self, app: FlowtuiApp, pilot: Any, secrets: Mapping[str, str]) -> None:
        self.app, self.pilot = app, pilot
        self.secrets = [value for value in secrets.values() if value]
        self.secrets += [value.rstrip("/").rsplit("/", 1)[-1] for value in self.secrets]

    async def until(self, condition: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError("the app did not get there in time")
            await self.pilot.pause(0.05)

    async def shot(self, name: str) -> None:
        await self.pilot.pause(0.3)
        svg = self.app.export_screenshot(title=f"flowtui — {name}")
        if any(secret in svg for secret in self.secrets):
            raise SystemExit(f"refusing to write {name}.svg: it shows a secret")
        (OUT / f"{name}.svg").write_text(svg)
        print(f"screenshots/{name}.svg")

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.pause(0.1)


async def shoot(app: FlowtuiApp, secrets: Mapping[str, str], governed: str) -> None:
    async with app.run_test(size=SIZE) as pilot:
        take = Shooter(app, pilot, secrets)
        await take.until(lambda: app.table.row_count > 0 and not app._refreshing)
        await take.shot("main")
        app.table.move_cursor(row=app.table.get_row_index(governed))
        await take.press("d")
        await take.until(lambda: type(app.screen).__name__ == "ConfirmScreen")
        await take.shot("confirm")
        await take.press("y")
        await take.until(lambda: not app.table.pending and app.screen is app.main)
        await take.press("slash", *"enabled")
        await take.shot("filter")
        await take.press("enter", "escape")
        await take.press("question_mark")
        await take.shot("help")
        await take.press("escape")
        app.table.move_cursor(row=app.table.get_row_index(governed))
        await take.press("enter")
        await take.until(lambda: getattr(app.screen, "fresh", False))
        await take.shot("details")
        await take.press("escape", "s")
        await take.shot("schedules")
        await take.press("n")
        await take.shot("form")
        await take.press("escape", "escape", "a")
        await take.shot("audit")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with demo_environment() as demo:
        app = build_app(demo.config_path, demo.state_dir)
        governed = app.control.config.flows["checkout_a"]
        asyncio.run(shoot(app, demo.env, governed))


if __name__ == "__main__":
    main()
