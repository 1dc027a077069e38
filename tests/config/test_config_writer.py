"""config_writer: rule edits keep the operator's file (comments, order, spellings), are
checked before anything is written, replace the file atomically and keep a `.bak` of the
file before each save."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowtui.config import ConfigError, load_config
from flowtui.config_writer import edited_text, put_rule, save_edit, set_paused
from flowtui.tui.rule_edits import rule_fields

EXAMPLE = Path(__file__).parents[2] / "schedules.toml"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "schedules.toml"
    target.write_text(EXAMPLE.read_text())
    return target


def changed_lines(before: str, after: str) -> list[str]:
    """The removed (`-`) and added (`+`) lines from `before` to `after`."""
    diff = difflib.ndiff(before.splitlines(), after.splitlines())
    return [line for line in diff if line[:1] in "+-"]


def test_pause_and_resume_touch_one_line(path: Path) -> None:
    original = path.read_text()
    save_edit(path, set_paused("checkout-experiment", True))
    assert changed_lines(original, path.read_text()) == ["+ paused = true"]
    assert load_config(path).ab_switch[0].paused
    save_edit(path, set_paused("checkout-experiment", False))
    assert path.read_text() == original


def test_bak_is_the_file_before_this_save(path: Path) -> None:
    original = path.read_text()
    save_edit(path, set_paused("nightly-batch", True))
    assert path.with_name("schedules.toml.bak").read_text() == original
    first = path.read_text()
    save_edit(path, set_paused("christmas-freeze", True))
    assert path.with_name("schedules.toml.bak").read_text() == first
    assert "# holidays: no window starts on these dates" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["schedules.toml", "schedules.toml.bak"]


def test_a_value_that_means_the_same_keeps_its_spelling(path: Path) -> None:
    config = load_config(path)
    switch = rule_fields(config.ab_switch[0])  # the model's spelling: b_duration = "2d"
    assert switch["b_duration"] == "2d"
    ny = rule_fields(config.maintenance[3]) | {"duration": "8h"}
    original = path.read_text()
    save_edit(path, put_rule("ab_switch", switch, "checkout-experiment"))
    assert path.read_text() == original  # 48h stays 48h, defaults stay written
    save_edit(path, put_rule("maintenance", ny, "new-york-business-hours"))
    assert changed_lines(original, path.read_text()) == [
        '- duration = "PT9H"            # ISO 8601 works too',
        '+ duration = "8h"            # ISO 8601 works too',
    ]


def test_a_new_rule_goes_after_the_last_of_its_kind(path: Path) -> None:
    fields = {"name": "new", "flows": ["crm:517"], "cron": "0 1 * * *", "duration": "1h"}
    save_edit(path, put_rule("maintenance", fields | {"state": "disabled"}, None))
    text = path.read_text()
    new = text.index('name = "new"')
    assert text.index('name = "new-york-business-hours"') < new
    assert new < text.index("# -- A/B switches") < text.index("[[ab_switch]]")
    assert "state" not in text[new : text.index("# -- A/B switches")]  # a default: left out
    assert load_config(path).maintenance[-1].name == "new"


def test_a_rule_of_a_kind_the_file_lacks_is_added_at_the_end() -> None:
    text = '[accounts.s]\nkind = "diga"\ntoken_env = "S"  # the token\n'
    start = datetime(2026, 1, 1, tzinfo=UTC)
    fields = {"name": "ab", "a": ["s:1"], "b": ["s:2"], "every": "1h", "start": start}
    edited = edited_text(text, put_rule("ab_switch", fields, None))
    assert edited == text + (
        '\n[[ab_switch]]\nname = "ab"\na = ["s:1"]\nb = ["s:2"]\nevery = "1h"\n'
        "start = 2026-01-01T00:00:00Z\n"
    )


def test_what_does_not_pass_check_is_never_written(path: Path) -> None:
    original = path.read_text()
    switch = rule_fields(load_config(path).ab_switch[0])
    both = switch | {"b": [*switch["b"], *switch["a"]]}
    with pytest.raises(ConfigError, match="in both groups"):
        save_edit(path, put_rule("ab_switch", both, "checkout-experiment"))
    unknown = switch | {"a": ["nosuch:1"]}
    with pytest.raises(ConfigError, match="unknown account 'nosuch'"):
        save_edit(path, put_rule("ab_switch", unknown, "checkout-experiment"))
    assert path.read_text() == original
    assert sorted(p.name for p in path.parent.iterdir()) == ["schedules.toml"]


def test_a_rule_removed_from_the_file_meanwhile_is_a_key_error(path: Path) -> None:
    with pytest.raises(KeyError):
        save_edit(path, set_paused("no-such-rule", True))
    path.write_text("[settings\n")
    with pytest.raises(ConfigError, match="TOML syntax"):
        save_edit(path, set_paused("nightly-batch", True))
