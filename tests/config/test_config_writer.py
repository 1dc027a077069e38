"""save_config: round trip, validation before writing, atomic replace with a .bak."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui.config import ConfigError, load_config
from flowtui.config_writer import config_to_toml, save_config

EXAMPLES = [
    Path(__file__).parent / "spec_example.toml",
    Path(__file__).parents[2] / "schedules.toml",
]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.name)
def test_round_trip_keeps_every_value(example: Path, tmp_path: Path) -> None:
    config = load_config(example)
    target = tmp_path / "schedules.toml"
    save_config(config, target)
    assert load_config(target).model_dump() == config.model_dump()


def test_previous_file_is_kept_as_bak(tmp_path: Path) -> None:
    target = tmp_path / "schedules.toml"
    original = EXAMPLES[1].read_text()
    target.write_text(original)
    config = load_config(target)
    paused = config.maintenance[0].model_copy(update={"paused": True})
    save_config(
        config.model_copy(update={"maintenance": (paused, *config.maintenance[1:])}), target
    )
    assert (tmp_path / "schedules.toml.bak").read_text() == original
    assert load_config(target).maintenance[0].paused
    assert "# " not in target.read_text()  # comments are not kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedules.toml", "schedules.toml.bak"]


def test_invalid_content_is_never_written(tmp_path: Path) -> None:
    target = tmp_path / "schedules.toml"
    target.write_text(EXAMPLES[1].read_text())
    config = load_config(target)
    unknown = config.model_copy(update={"flows": {"x": "nosuch:1"}})
    with pytest.raises(ConfigError, match="unknown account 'nosuch'"):
        save_config(unknown, target)
    switch = config.ab_switch[0]
    both = switch.model_copy(update={"b": (*switch.b, *switch.a)})
    with pytest.raises(ConfigError, match="in both groups"):
        save_config(config.model_copy(update={"ab_switch": (both,)}), target)
    assert target.read_text() == EXAMPLES[1].read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["schedules.toml"]


def test_defaults_are_left_out() -> None:
    text = config_to_toml(load_config(EXAMPLES[0]))
    assert "confirm" not in text
    assert 'from = "22:00"' in text
    assert 'duration = "2h"' in text
