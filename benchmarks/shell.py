"""Commands run as a user runs them from a shell: a new process, timed on the wall clock
from start to exit (interpreter start-up and imports included)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Ran:
    seconds: float
    code: int
    stdout: str
    stderr: str

    def json_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]


def flowtui(*args: str) -> list[str]:
    """The `flowtui` console script of this interpreter's environment, as a shell finds it."""
    script = Path(sys.executable).parent / "flowtui"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "flowtui", *args]


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def run(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    check: bool = True,
    cwd: Path = REPO,
) -> Ran:
    """Run `command` to its end; `check`: a non-zero exit is an error naming its stderr."""
    started = time.perf_counter()
    done = subprocess.run(
        list(command),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if check and done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])} … exited {done.returncode}: {done.stderr[-500:]}"
        )
    return Ran(elapsed, done.returncode, done.stdout, done.stderr)
