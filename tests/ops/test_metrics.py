"""/metrics scraped over HTTP during a faulty run against the emulator and read with
prometheus-client's own parser: the counters move exactly as the audit log and the
emulator's request log say."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from flowtui.engine.events import EventBus
from flowtui.store import SqliteStore

from .conftest import T0, Attach, Flows, settle

T0_RULES = """
[[maintenance]]
name = "night"
flows = {night}
start = {start}
end = {end}
after = "enabled"

[[maintenance]]
name = "drafts"
flows = {drafts}
state = "enabled"
start = {start}
end = {end}
"""
PLATFORM_OF = {"support": "diga", "ops": "gassapi", "studio": "runflow"}


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics: (name, sorted labels) → value."""
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_as_the_audit_and_the_platforms_say(
    emu: Any,
    flows: Flows,
    write_config: Any,
    open_engine: Any,
    operations: Attach,
    store: SqliteStore,
) -> None:
    diga_on = flows.pick("diga", 2, status="ENABLED", published=True)
    draft = flows.pick("diga", 1, published=False)[0]
    busy = flows.gassapi_member(is_active=1)
    studio_on = flows.pick("runflow", 2, status_code="active")
    night = [f"support:{i}" for i in diga_on] + [f"ops:{busy}"]
    night += [f"studio:{i}" for i in studio_on]
    rules = T0_RULES.format(
        night=night,
        drafts=[f"support:{draft}"],
        start=T0.isoformat(),
        end=(T0 + timedelta(hours=1)).isoformat(),
    )
    write_config(rules)
    engine = await open_engine(T0 - timedelta(minutes=1), EventBus())
    ops = await operations(engine, http=("127.0.0.1", 0), notify=False)
    assert ops.server is not None
    emu.clear_requests()

    emu.set_fault("runflow", burst_5xx=2)  # retried, then fine
    emu.set_flow("gassapi", busy, running=True)  # its change answers 409: a failure
    emu.expire_tokens("gassapi")  # 401, refresh: a new token with a known expiry
    engine.clock.set(T0 + timedelta(minutes=1))
    report = await engine.converge_now(trigger="resync")
    await settle(ops)
    samples = scrape(ops.server.url)

    outcomes = [r for r in store.audit() if r.event_type == "outcome"]
    assert outcomes, "the window changed nothing"
    for rule in ("night", "drafts"):
        mine = [r for r in outcomes if r.changed_by == f"scheduler:{rule}"]
        verified = sum(r.result in ("changed", "already") for r in mine)
        failed = sum(r.result == "failed" for r in mine)
        labels = {"rule": rule, "reason": "transition"}
        assert value(samples, "flowtui_transitions_applied_total", **labels) == verified
        assert value(samples, "flowtui_transitions_failed_total", **labels) == failed
    applied, failed = "flowtui_transitions_applied_total", "flowtui_transitions_failed_total"
    assert value(samples, applied, rule="night", reason="transition") == 4
    assert value(samples, failed, rule="night", reason="transition") == 1  # the busy one
    assert value(samples, failed, rule="drafts", reason="transition") == 1  # not published

    # every exchange the emulator logged, counted under its account and status
    logged = Counter((r["platform"], str(r["status"])) for r in emu.requests())
    for account, platform in PLATFORM_OF.items():
        counted = {
            labels[1][1]: count
            for (name, labels), count in samples.items()
            if name == "flowtui_requests_total" and dict(labels)["account"] == account
        }
        expected = {status: n for (p, status), n in logged.items() if p == platform}
        assert counted == expected, account
    assert value(samples, "flowtui_retries_total", account="studio", status="503") == 2
    assert logged[("gassapi", "401")] >= 1

    # one boundary per verified transition, each a minute after the window opened
    assert value(samples, "flowtui_boundary_latency_seconds_count") == 4
    assert value(samples, "flowtui_boundary_latency_seconds_sum") == 4 * 60.0
    assert value(samples, "flowtui_pass_duration_seconds_count") == 1
    assert value(samples, "flowtui_token_expiry_seconds", account="ops") > 0

    governed = Counter(o.flow.account for o in report.outcomes)
    states: Counter[str] = Counter()
    for (name, labels), count in samples.items():
        if name == "flowtui_flows":
            states[dict(labels)["account"]] += int(count)
    assert states == governed
    assert value(samples, "flowtui_flows", account="support", state="not_published") == 1
    assert value(samples, "flowtui_account_up", account="studio") == 1
    assert value(samples, "flowtui_last_good_pass_timestamp_seconds") == 0  # one failed
    assert value(samples, "flowtui_last_pass_timestamp_seconds") == engine.clock.now().timestamp()

    engine.config_path.write_text(engine.config_path.read_text() + "\n[[maintenance]]\nname = 1\n")
    assert not await engine.reload()
    await settle(ops)
    reloads = scrape(ops.server.url)
    assert value(reloads, "flowtui_config_reloads_total", status="refused") == 1
    assert value(reloads, "flowtui_config_reloads_total", status="accepted") == 0
    labels = {key for name, pairs in reloads if name.startswith("flowtui_") for key, _ in pairs}
    assert labels == {"account", "rule", "reason", "status", "state", "le"}  # no flow label
