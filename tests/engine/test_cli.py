"""`flowtui daemon --once`, `audit` and `override` in-process against the emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowtui.cli import main
from flowtui.store import SqliteStore

from .conftest import Flows, secrets_env

Run = Callable[..., Result]


def open_window(name: str, refs: list[str], **extra: str) -> str:
    """A one-off window open now (real time) for the next hours."""
    now = datetime.now(UTC).replace(microsecond=0)
    options = "".join(f"{key} = {value}\n" for key, value in extra.items())
    return f"""
[[maintenance]]
name = "{name}"
flows = {refs}
start = {(now - timedelta(minutes=5)).isoformat()}
end = {(now + timedelta(hours=3)).isoformat()}
{options}"""


@pytest.fixture
def run(emu: Any, config_path: Path, state_dir: Path) -> Run:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(
            main,
            ["--config", str(config_path), "--state-dir", str(state_dir), *args],
            env=secrets_env(emu),
        )

    return invoke


def test_daemon_once_dry_run_prints_the_plan_and_changes_nothing(
    emu: Any, flows: Flows, write_config: Any, run: Run, state_dir: Path
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(open_window("db", [f"support:{target}"]))
    emu.clear_requests()
    result = run("daemon", "--once", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"support:{target}  would change: enabled → disabled" in result.stdout
    assert "would change enabled → disabled" in result.stderr  # the log line
    assert flows.diga_on(target)
    assert flows.changes() == []


def test_daemon_once_converges_audits_and_exits_1_on_a_failed_change(
    emu: Any, flows: Flows, write_config: Any, run: Run
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    draft = flows.pick("diga", 1, published=False)[0]
    write_config(open_window("db", [f"support:{target}"]))
    result = run("daemon", "--once", "--log-format", "json")
    assert result.exit_code == 0, result.output
    assert not flows.diga_on(target)
    logged = [json.loads(line) for line in result.stderr.splitlines()]
    changed = [e for e in logged if e["event"] == "flow_changed" and e["new"] == "disabled"]
    assert changed[0]["flow"] == f"support:{target}"
    assert changed[0]["changed_by"] == "scheduler:db"

    audit = run("audit", "--json", "--flow", f"support:{target}", "--since", "1h")
    rows = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [(r["event_type"], r["result"]) for r in rows] == [
        ("outcome", "changed"),
        ("intent", None),
    ]
    assert rows[0]["reason"] == "maintenance window 'db'"
    assert run("audit").stdout.splitlines()[0].split()[:3] == ["TIME", "(UTC)", "EVENT"]

    write_config(open_window("up", [f"support:{draft}"], state='"enabled"'))
    failed = run("daemon", "--once")
    assert failed.exit_code == 1
    assert "FAILED" in failed.stderr
    assert "not published" in failed.stderr
    assert "Traceback" not in failed.output


def test_override_pins_a_flow_then_clears(
    emu: Any, flows: Flows, write_config: Any, run: Run, state_dir: Path
) -> None:
    target = flows.pick("diga", 1, status="ENABLED", published=True)[0]
    write_config(open_window("db", [f"support:{target}"]))
    pinned = run("override", f"support:{target}", "--state", "enabled", "--until", "2h")
    assert pinned.exit_code == 0, pinned.output
    assert pinned.stdout.startswith(f"support:{target}  pinned enabled until ")
    assert run("daemon", "--once").exit_code == 0
    assert flows.diga_on(target)  # the override beats the window

    cleared = run("override", "--clear", f"support:{target}")
    assert cleared.stdout.strip() == f"support:{target}  override cleared"
    assert run("daemon", "--once").exit_code == 0
    assert not flows.diga_on(target)
    store = SqliteStore.in_dir(state_dir)
    try:
        kinds = [r.reason for r in store.audit(flow=None) if r.event_type == "override"]
    finally:
        store.close()
    assert kinds[0] == "override cleared"
    assert kinds[1].startswith("override enabled until ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("override", "support:x", "--state", "enabled"), "an override always has an end"),
        (("override", "support:x", "--state", "skip", "--until", "soon"), "--until 'soon'"),
        (("override", "support:*", "--clear"), "name one flow"),
        (("override", "suport:x", "--clear"), "did you mean 'support'?"),
        (("audit", "--since", "yesterday"), "--since 'yesterday'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    write_config: Any, run: Run, args: tuple[str, ...], message: str
) -> None:
    write_config("")
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
