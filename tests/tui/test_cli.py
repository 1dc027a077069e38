"""`flowtui tui`, bare `flowtui` and `flowtui demo` from the command line (the app itself
is replaced by a stand-in that records how it was built)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowtui.cli import main
from flowtui.tui import launch


class Opened:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, config_path: Path, state_dir: Path, **options: Any) -> None:
        self.calls.append({"config": config_path, "state_dir": state_dir, **options})


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Opened:
    stand_in = Opened()
    monkeypatch.setattr(launch, "run_app", stand_in)
    return stand_in


def write_config(tmp_path: Path, text: str = '[settings]\ntimezone = "UTC"\n') -> Path:
    path = tmp_path / "schedules.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "args", [[], ["tui"], ["tui", "--read-only"], ["tui", "--scheduler"], ["tui", "--no-scheduler"]]
)
def test_bare_flowtui_and_tui_open_the_app(tmp_path: Path, opened: Opened, args: list[str]) -> None:
    path = write_config(tmp_path)
    state = tmp_path / "state"
    result = CliRunner().invoke(main, ["--config", str(path), "--state-dir", str(state), *args])
    assert result.exit_code == 0, result.output
    (call,) = opened.calls
    assert call == {
        "config": path,
        "state_dir": state,
        "read_only": "--read-only" in args,
        "scheduler": {"--scheduler": True, "--no-scheduler": False}.get(args[-1] if args else ""),
    }


def test_invalid_config_is_one_located_line_per_problem(tmp_path: Path, opened: Opened) -> None:
    path = write_config(tmp_path, '[settings]\ntimezone = "Mars/Olympus"\n')
    result = CliRunner().invoke(main, ["--config", str(path), "tui"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:2:")
    assert "Traceback" not in result.output
    assert opened.calls == []
