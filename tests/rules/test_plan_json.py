"""`plan --json` writes each line from shared pieces (flowtui.cli.plan.json_lines); every
line must still be exactly what json.dumps writes for the transition."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from flowtui.cli import main
from flowtui.cli.plan import _quoted
from flowtui.config import load_config
from flowtui.rules import transitions

REPO_EXAMPLE = Path(__file__).parents[2] / "schedules.toml"


@given(st.text())
def test_quoted_is_json_dumps(text: str) -> None:
    assert _quoted(text) == json.dumps(text)


def test_plan_json_is_json_dumps_of_each_transition() -> None:
    begin = datetime(2027, 3, 22, tzinfo=UTC)  # a week across Europe's spring change
    args = ["--config", str(REPO_EXAMPLE), "plan", "--from", begin.isoformat(), "--json"]
    result = CliRunner().invoke(main, [*args, "--hours", "168"])
    assert result.exit_code == 0
    config = load_config(REPO_EXAMPLE)
    zones = {rule.name: config.zone(rule) for rule in config.rules}
    expected = []
    for at, rule, flow, old, new in transitions(config, begin, begin + timedelta(days=7)):
        local = at.astimezone(zones[rule])
        states = ("untouched" if state is None else str(state) for state in (old, new))
        expected.append(
            json.dumps(
                {
                    "at": at.isoformat(),
                    "local": local.isoformat(),
                    "timezone": str(local.tzinfo),
                    "rule": rule,
                    "flow": str(flow),
                    **dict(zip(("from", "to"), states, strict=True)),
                }
            )
        )
    assert expected
    assert result.stdout.splitlines() == expected
