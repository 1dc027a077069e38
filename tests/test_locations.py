"""One place resolves where files live: --config / --state-dir first, then the configuration's
`state_dir`, then the platform's directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui import locations


def test_the_state_dir_is_the_flag_then_the_config_then_the_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    given, configured = tmp_path / "given", tmp_path / "configured"
    assert locations.state_dir(given, configured) == given
    assert locations.state_dir(None, configured) == configured
    assert locations.state_dir(None) == tmp_path / "xdg" / "flowtui"


def test_the_config_is_the_flag_then_the_working_directory_then_the_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert locations.config_path(tmp_path / "a.toml") == tmp_path / "a.toml"
    assert locations.config_path(None) == tmp_path / "xdg" / "flowtui" / "schedules.toml"
    (tmp_path / "schedules.toml").write_text("")
    assert locations.config_path(None) == tmp_path / "schedules.toml"
