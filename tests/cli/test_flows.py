"""`flowtui ls/enable/disable/toggle/publish/create` against the emulator."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from click.testing import Result
from state_dir import audit_of

from flowtui.cli.governed import RuleConflict, offer_overrides
from flowtui.model import FlowRef, State
from flowtui.rules import DesiredState
from flowtui.store import SqliteStore

CliRun = Callable[..., Result]


def diga(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("diga")["flows"]}


def pick(emu: Any, **wanted: Any) -> str:
    return next(i for i, f in diga(emu).items() if all(f[k] == v for k, v in wanted.items()))


def test_ls_json_lists_every_flow_with_documented_fields(emu: Any, cli: CliRun) -> None:
    result = cli("ls", "--json")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    state = emu.state()
    members = {p["id"] for p in state["gassapi"]["projects"] if p["member"]}
    expected = (
        len(state["diga"]["flows"])
        + len([f for f in state["gassapi"]["flows"] if f["project_id"] in members])
        + len(state["runflow"]["flows"])
        + len(state["bitrix24"]["flows"])
    )
    assert len(rows) == expected
    assert {r["kind"] for r in rows} == {"diga", "gassapi", "runflow", "bitrix24"}
    assert {r["flow_id"] for r in rows if r["account"] == "support"} == set(diga(emu))
    assert set(rows[0]) == {
        "ref",
        "account",
        "kind",
        "flow_id",
        "name",
        "state",
        "updated",
        "error",
    }
    assert {r["state"] for r in rows} <= {"enabled", "disabled", "unknown"}


def test_ls_warns_when_a_gassapi_list_may_be_truncated(emu: Any, cli: CliRun) -> None:
    emu.reset(flows=4, seed=1, gassapi_big_project=150)
    result = cli("ls", "--account", "ops")
    assert result.exit_code == 0
    assert "flowtui: warning:" in result.stderr
    assert "may be truncated" in result.stderr


def test_disable_account_wildcard_on_bitrix24(emu: Any, cli: CliRun) -> None:
    result = cli("disable", "crm:*", "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(emu.state("bitrix24")["flows"])
    assert {r["state"] for r in rows} == {"disabled"}
    assert all(f["active"] is False for f in emu.state("bitrix24")["flows"])


def test_disable_wildcard_reads_each_flow_once_before_toggling_in_batches(
    emu: Any, cli: CliRun, tmp_path: Path
) -> None:
    emu.reset(flows=120, seed=3)
    on = sum(1 for flow in emu.state("bitrix24")["flows"] if flow["active"])
    batches = -(-2 * on // 50)  # each toggle and its verifying read: two of 50 commands
    result = cli("disable", "crm:*", "--yes", "--json")
    assert result.exit_code == 0, result.output
    paths = [entry["path"].rsplit("/", 1)[-1] for entry in emu.requests("bitrix24")]
    # the listing's 3 reads serve the comparison; then toggles with their verifying reads
    assert paths == ["batch"] * (3 + batches)
    assert not any(flow["active"] for flow in emu.state("bitrix24")["flows"])
    store = SqliteStore.in_dir(tmp_path / "state")
    audited = Counter((r.event_type, r.result) for r in store.audit())
    store.close()
    assert audited == {("intent", None): on, ("outcome", "changed"): on}


def test_ls_text_is_a_table(emu: Any, cli: CliRun) -> None:
    result = cli("ls", "--account", "support")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].split() == ["FLOW", "STATE", "NAME", "UPDATED"]


def test_disable_changes_audits_and_reports(emu: Any, cli: CliRun, tmp_path: Path) -> None:
    flow_id = pick(emu, status="ENABLED", published=True)
    result = cli("disable", f"support:{flow_id}", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"support:{flow_id}  changed: now disabled"
    assert diga(emu)[flow_id]["status"] == "DISABLED"
    again = cli("disable", f"support:{flow_id}")
    assert again.stdout.strip() == f"support:{flow_id}  already disabled"
    store = SqliteStore.in_dir(tmp_path / "state")
    events = [(r.event_type, r.old_status, r.new_status, r.result) for r in store.audit()]
    store.close()
    assert ("intent", "enabled", "disabled", None) in events
    assert ("outcome", "enabled", "disabled", "changed") in events


def test_enable_of_unpublished_flow_exits_1_then_publish_and_enable(emu: Any, cli: CliRun) -> None:
    flow_id = pick(emu, published=False)
    result = cli("enable", "checkout", checkout=flow_id)
    assert result.exit_code == 1
    assert "not published — publish it first: flowtui publish" in result.stdout
    assert diga(emu)[flow_id]["status"] == "DISABLED"
    assert cli("publish", "checkout", checkout=flow_id).exit_code == 0
    enabled = cli("enable", "checkout", "--json", checkout=flow_id)
    assert enabled.exit_code == 0
    row = json.loads(enabled.stdout)
    assert (row["outcome"], row["state"], row["error"]) == ("changed", "enabled", None)
    assert diga(emu)[flow_id]["status"] == "ENABLED"


def test_dry_run_changes_nothing(emu: Any, cli: CliRun) -> None:
    result = cli("disable", "support:*", "--dry-run")
    assert result.exit_code == 0
    assert "would change: enabled → disabled" in result.stdout
    assert not [r for r in emu.requests("diga") if r["method"] != "GET"]


def test_toggle_flips_each_flow(emu: Any, cli: CliRun) -> None:
    on, off = (
        pick(emu, status="ENABLED", published=True),
        pick(emu, status="DISABLED", published=True),
    )
    result = cli("toggle", f"support:{on}", f"support:{off}")
    assert result.exit_code == 0, result.output
    assert (diga(emu)[on]["status"], diga(emu)[off]["status"]) == ("DISABLED", "ENABLED")


def test_create_makes_a_draft(emu: Any, cli: CliRun) -> None:
    result = cli("create", "support", "weekly digest", "--json")
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["state"] == "disabled"
    assert diga(emu)[created["ref"].split(":", 1)[1]]["name"] == "weekly digest"


def test_create_writes_its_intent_before_the_flow_exists(
    emu: Any, cli: CliRun, tmp_path: Path
) -> None:
    created = json.loads(cli("create", "support", "digest", "--json").stdout)
    outcome, intent = audit_of(tmp_path / "state")
    assert (intent.event_type, str(intent.flow), intent.new_status) == (
        "intent",
        "support:(new)",
        "created",
    )
    assert (outcome.event_type, str(outcome.flow), outcome.result) == (
        "outcome",
        created["ref"],
        "created",
    )
    assert outcome.intent_id == intent.id
    emu.set_fault("diga", burst_5xx=20)
    failed = cli("create", "support", "never made")
    assert failed.exit_code == 1
    outcome, intent = audit_of(tmp_path / "state")[:2]
    assert (intent.flow.flow_id, outcome.result) == ("(new)", "failed")
    assert outcome.intent_id == intent.id
    assert "never made" not in {flow["name"] for flow in diga(emu).values()}


def test_read_only_refuses_changes_with_one_line(emu: Any, cli: CliRun, config_for: Any) -> None:
    config = config_for().replace("confirm = true", "read_only = true")
    result = cli("disable", "support:*", config=config)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "read-only" in result.stderr
    assert not [r for r in emu.requests("diga") if r["method"] != "GET"]


def test_usage_errors_exit_2_with_one_line(emu: Any, cli: CliRun) -> None:
    for args in (("disable", "nosuch:1"), ("disable", "no_alias"), ("ls", "--account", "x")):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("flowtui: error:"), args
        assert "Traceback" not in result.output


def test_missing_secret_names_the_variable_and_spoils_only_its_account(
    emu: Any, cli: CliRun
) -> None:
    result = cli("ls", env={"FT_DIGA_KEY": ""})
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "flowtui: error: account support: environment variable FT_DIGA_KEY is not set"
    )
    assert "crm:" in result.stdout
    assert "support:" not in result.stdout
    changed = cli("disable", "support:x", env={"FT_DIGA_KEY": ""})
    assert changed.exit_code == 2
    assert "FT_DIGA_KEY" in changed.stderr


def test_an_unreachable_account_stops_nothing_else(emu: Any, cli: CliRun, config_for: Any) -> None:
    config = config_for().replace(emu.runflow_url, "http://127.0.0.1:9/runflow")
    result = cli("disable", "studio:*", "crm:*", config=config)
    assert result.exit_code == 1
    assert "flowtui: error: account studio:" in result.stderr
    assert "cannot connect" in result.stderr
    assert all(f["active"] is False for f in emu.state("bitrix24")["flows"])


def test_network_down_is_one_line_not_a_traceback(emu: Any, cli: CliRun, config_for: Any) -> None:
    config = config_for().replace(emu.diga_url, "http://127.0.0.1:9/diga")
    for args in (("ls",), ("disable", "support:wf_1")):
        result = cli(*args, config=config)
        assert result.exit_code == 1, args
        assert "cannot connect" in result.output
        assert "Traceback" not in result.output


def test_platform_5xx_fails_the_flow_with_a_reason(emu: Any, cli: CliRun) -> None:
    flow_id = pick(emu, status="ENABLED", published=True)
    emu.set_fault("diga", error_rate=1.0)
    result = cli("disable", f"support:{flow_id}")
    assert result.exit_code == 1
    assert "failed:" in result.stdout
    assert "Workflow service unavailable" in result.stdout


def test_no_secret_in_any_output(emu: Any, cli: CliRun, config_for: Any) -> None:
    outputs = []

    def run(*args: str, **kwargs: Any) -> None:
        result = cli(*args, **kwargs)
        outputs.extend([result.stdout, result.stderr])

    run("ls")
    run("ls", "--json")
    run("disable", "support:*", "studio:*", "--json")
    emu.expire_tokens("gassapi")
    run("enable", "ops:*")
    for platform in ("diga", "gassapi", "runflow", "bitrix24"):
        emu.set_fault(platform, error_rate=1.0)
    run("disable", "crm:*", "support:x", "ops:x")
    run("ls")
    broken = config_for().replace(emu.bitrix24_url, "http://127.0.0.1:9/bitrix24")
    run("ls", "--account", "crm", config=broken)
    secrets = (emu.token, emu.gassapi_refresh_token)
    assert not [text for text in outputs for secret in secrets if secret in text]
    assert any("/rest/1/***" in text or "failed" in text for text in outputs)


def test_publish_where_the_platform_has_none_fails_that_flow(emu: Any, cli: CliRun) -> None:
    flow_id = emu.state("bitrix24")["flows"][0]["id"]
    result = cli("publish", f"crm:{flow_id}")
    assert result.exit_code == 1
    assert result.stdout.strip() == f"crm:{flow_id}  failed: bitrix24 has no publish step"


def test_create_where_the_platform_cannot_is_a_usage_error(emu: Any, cli: CliRun) -> None:
    result = cli("create", "studio", "x")
    assert result.exit_code == 2
    assert "cannot create flows" in result.stderr


def test_publish_dry_run_says_what_it_would_do(emu: Any, cli: CliRun) -> None:
    flow_id = pick(emu, published=False)
    result = cli("publish", f"support:{flow_id}", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"support:{flow_id}  would publish"
    assert diga(emu)[flow_id]["published"] is False


def freeze_rule(end: datetime) -> str:
    return f"""
[[maintenance]]
name = "freeze"
flows = ["support:*"]
start = 2020-01-01T00:00:00Z
end = {end.replace(microsecond=0).isoformat()}
state = "disabled"
enforce = true
"""


def test_changing_a_governed_flow_by_hand_points_to_an_override(
    emu: Any, cli: CliRun, config_for: Any
) -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    flow_id = pick(emu, status="DISABLED", published=True)
    result = cli("enable", f"support:{flow_id}", config=config_for(extra=freeze_rule(end)))
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"flowtui: note: support:{flow_id}: rule 'freeze' enforces disabled: the scheduler "
        "sets it back at once — to keep it enabled until then: flowtui override "
        f"support:{flow_id} --state enabled --until {end.isoformat()}"
    )
    quiet = cli("disable", f"support:{flow_id}", config=config_for(extra=freeze_rule(end)))
    assert quiet.stderr == ""  # what the rule wants: nothing to offer


def test_the_offer_accepted_pins_the_flow(tmp_path: Path, monkeypatch: Any) -> None:
    store = SqliteStore.in_dir(tmp_path)
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    until = now + timedelta(days=3)
    want = DesiredState(State.DISABLED, "freeze", True, "maintenance window 'freeze'")
    found = [RuleConflict(FlowRef("support", "wf_1"), State.ENABLED, want, until)]
    monkeypatch.setattr(click, "confirm", lambda *args, **kwargs: True)
    offer_overrides(found, store, ask=True, changed_by="cli:test", now=now)
    (pin,) = store.overrides(now=now)
    assert (pin.flow, pin.state, pin.until) == (FlowRef("support", "wf_1"), "enabled", until)
    assert [r.event_type for r in store.audit()] == ["override"]
    store.close()


def test_a_rule_that_does_not_enforce_keeps_the_hand_change_until_its_next_transition(
    emu: Any, cli: CliRun, config_for: Any
) -> None:
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    flow_id = pick(emu, status="DISABLED", published=True)
    rule = freeze_rule(end).replace("enforce = true", "enforce = false")
    result = cli("enable", f"support:{flow_id}", config=config_for(extra=rule))
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (
        f"flowtui: note: support:{flow_id}: rule 'freeze' wants disabled but does not enforce "
        "it: the scheduler keeps the change until the next transition, "
        f"{end:%Y-%m-%d %H:%M} UTC, when it puts back the state recorded when the window "
        "began — to keep it enabled until then: flowtui override "
        f"support:{flow_id} --state enabled --until {end.isoformat()}"
    )
