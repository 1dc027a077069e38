"""The real `flowtui tui` in a pseudo-terminal against `flowtui emulate` in another process,
read back as a person sees it (benchmarks/terminal.py). Asserts on what appears, waiting
generously for it, never on how fast: the speed is the benchmark's (benchmarks/app_terminal.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.app_terminal import COUNT, app_command, emulate, loaded, write_config
from benchmarks.terminal import Terminal

READY_S = 90.0  # a cold start on a loaded machine
SHOWN_S = 30.0


@pytest.mark.slow
def test_filter_marks_help_and_quit_in_a_real_terminal(tmp_path: Path) -> None:
    config = tmp_path / "schedules.toml"
    with emulate(6) as emulator:
        write_config(emulator, config, 3)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
        command = app_command(config, tmp_path / "state")
        terminal = Terminal(command, env=env | emulator.env, columns=100, lines=30)
        try:
            terminal.wait_for(loaded, READY_S, "every flow counted in the header")
            found = COUNT.search(terminal.screen.display[0])
            assert found is not None
            total = int(found.group(1))
            assert terminal.contains("support")

            terminal.send("/crm")  # in one write, as typed fast or pasted: none of it lost
            terminal.wait_for(
                lambda t: t.contains(f"3 of {total} flows") and not t.contains("Enable"),
                SHOWN_S,
                "3 crm flows, the filter's keys in the footer",
            )  # then "Enable" below can only come from the escape, not a footer not yet redrawn
            assert terminal.contains("crm")
            assert not terminal.contains("support")
            terminal.send("escape")  # leave the filter: the table's keys are offered again
            terminal.wait_for(lambda t: t.contains("Enable"), SHOWN_S, "the table's keys")
            terminal.send(" ")
            terminal.wait_for(lambda t: t.contains("✔"), SHOWN_S, "the mark")
            assert terminal.contains(f"3 of {total} flows")  # the filter was kept
            terminal.send("escape")  # clears the marks, then the filter
            terminal.wait_for(lambda t: not t.contains("✔"), SHOWN_S, "the marks cleared")
            terminal.send("escape")
            terminal.wait_for(lambda t: t.contains(f"— {total} flows"), SHOWN_S, "every flow")

            terminal.send("?")
            terminal.wait_for(lambda t: t.contains("Sort by next column"), SHOWN_S, "the keys")
            terminal.send("escape", "q")
            terminal.wait_for(lambda t: t.closed, SHOWN_S, "the app to quit")
        finally:
            terminal.close()
