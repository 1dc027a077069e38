"""`flowtui check` and `flowtui plan` end to end (no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowtui.cli import main
from flowtui.model import FlowRef, State
from flowtui.store import DB_NAME, OverrideRecord, SqliteStore

REPO_EXAMPLE = Path(__file__).parents[2] / "schedules.toml"
SECRETS = ("DIGA_API_KEY", "GASS_TOKEN", "GASS_REFRESH_TOKEN", "RUNFLOW_API_KEY", "B24_WEBHOOK_URL")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def private_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default state directory (platformdirs) lies inside the test's tmp_path."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


@pytest.fixture
def check_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TOKEN", "x")
    monkeypatch.setenv("S_TOKEN", "x")


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.setenv(name, "test-value")


@pytest.mark.usefixtures("secrets")
def test_check_accepts_the_repository_example() -> None:
    assert run("--config", str(REPO_EXAMPLE), "check") == (0, "ok: 4 accounts, 6 rules\n", "")


def test_check_reports_missing_secret_variables(
    secrets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GASS_TOKEN")
    code, out, err = run("--config", str(REPO_EXAMPLE), "check")
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"{REPO_EXAMPLE}:29:1: error: environment variable GASS_TOKEN (token of account 'ops')"
        " is not set (hint: export GASS_TOKEN before running flowtui)"
    ]


FIVE_MISTAKES = """\
[settings]
timezone = "Europe/Berlim"

[accounts.shop]
kind = "diga"
token_env = "SHOP_TOKEN"
api_key = "sk-live-123"

[[maintenance]]
name = "nightly"
flows = ["shop:1"]
cron = "0 25 * * *"
duraton = "2h"

[[ab_switch]]
name = "exp"
a = ["shop:1"]
b = ["shop:2"]
b_cron = "0 0 * * SAT"
b_duration = "two days"
"""


def test_check_prints_five_located_errors_for_five_mistakes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_TOKEN", "x")
    path = tmp_path / "schedules.toml"
    path.write_text(FIVE_MISTAKES)
    code, _, err = run("--config", str(path), "check")
    assert code == 2
    lines = err.splitlines()
    assert [line.split(": error: ")[0] for line in lines] == [
        f"{path}:2:1",
        f"{path}:7:1",
        f"{path}:12:1",
        f"{path}:13:1",
        f"{path}:20:1",
    ]
    assert "unknown time zone 'Europe/Berlim'" in lines[0]
    assert "inline secret 'api_key'" in lines[1]
    assert "sk-live-123" not in err
    assert "hour" in lines[2]
    assert "unknown key 'duraton' (hint: did you mean 'duration'?)" in lines[3]
    assert "'two days' is not a duration" in lines[4]


def check(tmp_path: Path, text: str) -> tuple[int, list[str], list[str]]:
    """`flowtui check` of `text` (SHOP_TOKEN and S_TOKEN set): exit code, and each
    problem's place (`file:line:column`) and message."""
    path = tmp_path / "schedules.toml"
    path.write_text(text)
    code, out, err = run("--config", str(path), "check")
    assert out == "" or code == 0
    located = [line.split(": error: ") for line in err.splitlines()]
    places = [where.removeprefix(f"{path}:") for where, _ in located]
    return code, places, [message for _, message in located]


ISSUE_FIVE = """\
[accounts.shop]
kind = "diga"
token_env = "SHOP_TOKEN"

[[maintenance]]
name = "nightly"
flows = ["shop:1"]
cron = "0 25 * * *"
duraton = "2h"
timezone = "Europe/Berlim"

[[ab_switch]]
name = "exp"
a = ["shop:1", "shpo:9"]
b = ["shop:1"]
every = "12h"
start = 2026-01-01T00:00:00Z
"""


@pytest.mark.usefixtures("check_tokens")
def test_five_mistakes_of_every_kind_in_one_run(tmp_path: Path) -> None:
    """Schema (unknown key, bad cron, bad zone), a reference and a cross-rule check, all
    reported by one run, each at its line and column."""
    code, places, messages = check(tmp_path, ISSUE_FIVE)
    assert code == 2
    assert places == ["8:1", "9:1", "10:1", "14:16", "15:6"]
    assert "the last value" not in messages[0]
    assert "hour value 25 is higher than the maximum (23)" in messages[0]
    assert "unknown key 'duraton' (hint: did you mean 'duration'?)" in messages[1]
    assert "unknown time zone 'Europe/Berlim'" in messages[2]
    assert "unknown account 'shpo' in 'shpo:9' (hint: did you mean 'shop'?)" in messages[3]
    assert "shop:1 is in both groups of switch 'exp'" in messages[4]


KEYS = """\
[accounts.shop]
kind = "diga"
token_env = "SHOP_TOKEN"

[keys]
enable = "d"
bogus_id = "z"
quit = "tab"
rule_edit = "n"
help = "f1"
"""


@pytest.mark.usefixtures("check_tokens")
def test_keys_are_checked(tmp_path: Path) -> None:
    code, places, messages = check(tmp_path, KEYS)
    assert code == 2
    assert messages == [
        "[keys]: 'd' for enable is also the key of disable (flows)"
        " (hint: give each action its own key, or remap the other one too)",
        "[keys]: no action with id 'bogus_id' (hint: press ? in the app for the ids)",
        "[keys]: 'tab' for quit is the built-in key for focus next (hint: choose another key)",
        "[keys]: 'n' for rule_edit is also the key of rule_new_window (schedules)"
        " (hint: give each action its own key, or remap the other one too)",
    ]
    assert places == ["6:1", "7:1", "8:1", "9:1"]


CONFLICTS = """\
[accounts.s]
kind = "diga"
token_env = "S_TOKEN"

[[maintenance]]
name = "too-long"
flows = ["s:9"]
cron = "0 * * * *"
duration = "2h"

[[ab_switch]]
name = "one"
a = ["s:1"]
b = ["s:1", "s:2"]
every = "1h"
start = 2026-01-01T00:00:00Z

[[ab_switch]]
name = "two"
a = ["s:*"]
b = ["s:3"]
every = "1h"
start = 2026-01-01T00:00:00Z
"""


def test_check_reports_static_conflicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S_TOKEN", "x")
    path = tmp_path / "schedules.toml"
    path.write_text(CONFLICTS)
    code, _, err = run("--config", str(path), "check")
    assert code == 2
    messages = [line.split(": error: ")[1] for line in err.splitlines()]  # in file order
    assert messages[0].startswith(
        "rule 'too-long': duration 2h is longer than the time between its starts (1h)"
    )
    assert messages[1].startswith("s:1 is in both groups of switch 'one'")
    assert sum("is governed by two switches: 'one' and 'two'" in m for m in messages) == 3


def test_plan_table_across_the_spring_dst_change() -> None:
    code, out, _ = run(
        "--config", str(REPO_EXAMPLE), "plan", "--from", "2027-03-26T00:00:00Z", "--hours", "168"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["UTC", "rule's", "local", "time", "rule", "flow", "change"]
    utc = [line[:16] for line in lines[1:]]
    assert utc == sorted(utc)  # in instant order, whatever each rule's zone
    assert any("EDT" in line for line in lines)
    assert any("CET" in line for line in lines)
    sunday = [line for line in lines if "sunday-db-maintenance" in line]
    # 02:00 does not exist in Berlin on 2027-03-28: the window opens at 03:00 CEST.
    assert sunday[0].split() == [
        "2027-03-28", "01:00", "Sun", "2027-03-28", "03:00", "CEST",
        "sunday-db-maintenance", "crm:517", "restore", "→", "disabled",
    ]  # fmt: skip
    assert sunday[1].split()[6:] == [
        "sunday-db-maintenance",
        "support:*",
        "restore",
        "→",
        "disabled",
    ]


def test_plan_json_lines() -> None:
    code, out, _ = run(
        "--config",
        str(REPO_EXAMPLE),
        "plan",
        "--from",
        "2027-03-28T03:00:00+02:00",
        "--hours",
        "2",
        "--json",
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0] == {
        "at": "2027-03-28T01:00:00+00:00",
        "local": "2027-03-28T03:00:00+02:00",
        "timezone": "Europe/Berlin",
        "rule": "sunday-db-maintenance",
        "flow": "crm:517",
        "from": "restore",
        "to": "disabled",
    }


def test_plan_refuses_a_bad_start_and_a_bad_config(tmp_path: Path) -> None:
    code, _, err = run("--config", str(REPO_EXAMPLE), "plan", "--from", "tomorrow")
    assert code == 2
    assert err.startswith("flowtui: error: --from 'tomorrow' is not a date and time")
    broken = tmp_path / "schedules.toml"
    broken.write_text("[settings]\nrefresh = 5\n")
    code, _, err = run("--config", str(broken), "plan")
    assert code == 2
    assert err.startswith(f"{broken}:2:1: error: a duration must be a string (hint: write")


def test_plan_uses_overrides_and_prior_states_from_the_store(tmp_path: Path) -> None:
    args = ("--config", str(REPO_EXAMPLE), "--state-dir", str(tmp_path), "plan")
    window = ("--from", "2027-03-28T00:00:00Z", "--hours", "4", "--json")
    code, out, _ = run(*args, *window)
    assert code == 0
    assert not (tmp_path / DB_NAME).exists()  # plan never creates the store
    before = [json.loads(line) for line in out.splitlines()]
    assert {row["flow"] for row in before} >= {"crm:517", "support:*"}
    store = SqliteStore.in_dir(tmp_path)
    at = datetime(2027, 3, 28, tzinfo=UTC)
    pin = OverrideRecord(FlowRef("crm", "518"), "enabled", at + timedelta(hours=2), "test", at)
    store.set_override(pin)
    store.save_prior_states("sunday-db-maintenance", {FlowRef("crm", "517"): State.ENABLED}, at=at)
    store.close()
    code, out, _ = run(*args, *window)
    rows = [json.loads(line) for line in out.splitlines()]
    assert [
        (row["at"][11:16], row["flow"], row["from"], row["to"])
        for row in rows
        if row["flow"] in ("crm:517", "crm:518", "support:*")
    ] == [
        ("01:00", "crm:517", "enabled", "disabled"),
        ("01:00", "support:*", "restore", "disabled"),
        ("02:00", "crm:518", "enabled", "disabled"),
        ("03:00", "crm:517", "disabled", "enabled"),
        ("03:00", "support:*", "disabled", "restore"),
    ]


@pytest.mark.usefixtures("check_tokens")
def test_cross_rule_checks_run_when_other_keys_are_wrong(tmp_path: Path) -> None:
    broken = CONFLICTS.replace('duration = "2h"', 'duration = "2h"\nstate = "on"')
    code, _, messages = check(tmp_path, '[settings]\nresync = "often"\n' + broken)
    assert code == 2
    assert messages[0].startswith("'often' is not a duration")
    assert messages[1].startswith("rule 'too-long': duration 2h is longer than the time")
    assert messages[2].startswith("state 'on' is not allowed")
    assert messages[3].startswith("s:1 is in both groups of switch 'one'")
    assert sum("is governed by two switches" in message for message in messages) == 3


def test_plan_timeline_draws_the_week(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # the picture fits the terminal: pin its width
    code, out, _ = run(
        "--config", str(REPO_EXAMPLE), "plan", "--timeline", "--from", "2027-03-25T10:00:00Z"
    )
    assert code == 0
    header, marker, *lanes, legend = out.splitlines()
    days = "Thu 25 Fri 26 Sat 27 Sun 28* Mon 29 Tue 30 Wed 31"  # * : Berlin's DST change
    assert header.split() == days.split()
    assert "▼ now" in marker
    assert [lane.split()[0][:12] for lane in lanes] == [
        "sunday-db-ma",
        "christmas-fr",
        "nightly-batc",
        "new-york-bus",
        "checkout-exp",
        "import-alter",
    ]
    assert "█" in lanes[0]
    assert "(times in Europe/Berlin)" in legend
    code, _, err = run("--config", str(REPO_EXAMPLE), "plan", "--timeline", "--json")
    assert code == 2
    assert "--timeline draws a picture" in err


def test_the_timeline_renderer_imports_no_textual() -> None:
    program = (
        "import sys\n"
        "from datetime import datetime, UTC\n"
        "from flowtui.config import load_config\n"
        "from flowtui.timeline import render_timeline\n"
        f"render_timeline(load_config(__import__('pathlib').Path({str(REPO_EXAMPLE)!r})),"
        " datetime(2027, 3, 25, tzinfo=UTC))\n"
        "assert 'textual' not in sys.modules, 'textual imported'\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True)


def test_plan_json_of_a_generated_file_is_json_dumps_in_instant_order(tmp_path: Path) -> None:
    """The workload `python -m benchmarks.big_schedules` writes (for timing plan from a
    shell): every line is exactly what json.dumps writes, and the lines come in instant
    order."""
    path = tmp_path / "big.toml"
    write = [sys.executable, "-m", "benchmarks.big_schedules", str(path), "--rules", "60"]
    subprocess.run([*write, "--flows", "300"], check=True, cwd=REPO_EXAMPLE.parent)
    code, out, _ = run(
        "--config", str(path), "plan", "--json", "--hours", "48", "--from", "2026-11-23T09:00Z"
    )
    assert code == 0
    lines = out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) > 100
    assert [json.dumps(row) for row in rows] == lines
    assert [row["at"] for row in rows] == sorted(row["at"] for row in rows)


@pytest.mark.parametrize(
    "text",
    [
        'accounts.a.kind = ["x"]\n',
        '[[maintenance]]\nname = ["x"]\nflows = "a"\n',
        '[[ab_switch]]\na = [1, {x = 2}]\nb = "s"\nb_cron = 5\n',
        "keys = [1]\nflows = {a = 1}\n",
    ],
)
def test_odd_values_are_located_problems_not_tracebacks(tmp_path: Path, text: str) -> None:
    """What validates of an invalid file feeds the checks across rules; what does not is
    left out of them, never a crash."""
    code, places, messages = check(tmp_path, text)
    assert code == 2
    assert messages
    assert all(place.count(":") == 1 for place in places)
