"""`[[notify]]` tables: `check` locates every mistake; `flowtui notify test` sends a sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flowtui.cli import main
from flowtui.config import ConfigError, parse_config

BAD = """\
[[notify]]
url_env = "https://hooks.example.com/services/T0/B0/abc"
format = "teams"
on = ["drfit", "leadership"]
after = "soon"
colour = "red"

[[notify]]
format = "json"
"""


def test_every_mistake_in_notify_tables_is_located() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BAD)
    lines = [str(p) for p in caught.value.problems]
    assert lines[0].startswith("schedules.toml:2:1: error: url_env must name an environment")
    assert lines[1] == "schedules.toml:3:1: error: format: Input should be 'slack' or 'json'"
    assert lines[2] == (
        "schedules.toml:4:7: error: unknown notification 'drfit' (hint: did you mean 'drift'?)"
    )
    assert lines[3].startswith("schedules.toml:5:1: error: 'soon' is not a duration")
    assert lines[4] == "schedules.toml:6:1: error: unknown key 'colour'"
    assert lines[5] == "schedules.toml:8:1: error: missing required key 'url_env'"
    assert "hooks.example.com" not in "\n".join(lines)  # a URL pasted here is not echoed
    assert len(lines) == 6


def targets(*pairs: tuple[str, str]) -> str:
    return "".join(
        f'[[notify]]\nname = "{name}"\nurl_env = "{variable}"\nformat = "slack"\n'
        for name, variable in pairs
    )


def test_check_names_an_unset_or_unusable_webhook(tmp_path: Path) -> None:
    config = tmp_path / "schedules.toml"
    config.write_text(targets(("room", "FT_ROOM"), ("far", "FT_FAR"), ("ok", "FT_OK")))
    env = {"FT_FAR": "http://chat.example.com/hook", "FT_OK": "https://chat.example.com/h"}
    result = CliRunner().invoke(main, ["--config", str(config), "check"], env=env)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{config}:3:1: error: environment variable FT_ROOM (notify 'room') is not set"
        " (hint: export FT_ROOM with the webhook URL)",
        f"{config}:7:1: error: the URL in FT_FAR (notify 'far') uses plain http to a host other"
        " than loopback; use https (hint: use the https URL the chat or alerting tool gave you)",
    ]
    assert "chat.example.com" not in result.output


def test_notify_test_sends_a_sample_to_each_target(emu: Any, tmp_path: Path) -> None:
    config = tmp_path / "schedules.toml"
    config.write_text(targets(("room", "FT_ROOM"), ("pager", "FT_PAGER")))
    env = {"FT_ROOM": emu.webhook_url("room"), "FT_PAGER": emu.webhook_url("pager")}
    emu.set_webhook("pager", fail=1, status=500)
    result = CliRunner().invoke(main, ["--config", str(config), "notify", "test"], env=env)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["room: sent", "pager: failed: HTTP 500"]
    [sample] = emu.webhooks("room")
    assert sample["text"].endswith("test notification: this target receives flowtui's messages")
    assert emu.webhook_url("room") not in result.output

    again = CliRunner().invoke(main, ["--config", str(config), "notify", "test"], env=env)
    assert (again.exit_code, again.stdout.splitlines()[1]) == (0, "pager: sent")

    config.write_text("")
    none = CliRunner().invoke(main, ["--config", str(config), "notify", "test"], env=env)
    assert none.exit_code == 2
    assert none.stderr == "flowtui: error: no [[notify]] target in the configuration\n"
