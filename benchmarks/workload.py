"""A synthetic but realistic schedules.toml: N flows over the four accounts, R rules.

Every form of rule appears, in three zones: daily and weekly cron windows, 6-hourly cron
windows, weekly day/time windows crossing midnight with holidays, one-off windows, and A/B
switches (cron and alternating). Rule i governs ten consecutive flows (wrapping); every
fourth maintenance rule also governs ten flows half the list away, so windows overlap and
precedence has work to do; the first four rules are `account:*` wildcards. A/B switches
never share a flow. Priors exist for every flow a `restore` rule names, and one flow in
a hundred has an override.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.emulated import config_from
from flowtui.config import Config
from flowtui.model import FlowRef, State
from flowtui.rules import Override

ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CRON_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
AFTER = ("restore", "enabled", "disabled")
FLOWS_PER_RULE = 10
ORIGIN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday; every instant derives from it


def synthetic_ids(accounts: Sequence[str], flows: int) -> dict[str, list[str]]:
    """`flows` ids spread evenly over `accounts` (numeric, so Bitrix24 accepts them)."""
    ids: dict[str, list[str]] = {account: [] for account in accounts}
    for number in range(flows):
        ids[accounts[number % len(accounts)]].append(str(1000 + number))
    return ids


def _interleaved(ids: Mapping[str, Sequence[str]]) -> list[FlowRef]:
    refs = [FlowRef(account, flow_id) for account, flows in ids.items() for flow_id in flows]
    return sorted(refs, key=lambda ref: (int(ref.flow_id), ref.account))


def _slice(refs: Sequence[FlowRef], start: int) -> list[str]:
    return [str(refs[(start + n) % len(refs)]) for n in range(FLOWS_PER_RULE)]


def _maintenance(index: int, flows: list[str]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "name": f"maintenance-{index}",
        "flows": flows,
        "timezone": ZONES[index % len(ZONES)],
        "state": "disabled" if index % 5 else "enabled",
        "after": AFTER[index % len(AFTER)],
        "enforce": index % 2 == 0,
        "priority": index % 3,
    }
    kind = index % 10
    if kind in (0, 1):
        rule |= {"cron": f"{index % 60} {index % 24} * * *", "duration": "90m"}
    elif kind in (2, 3, 4):
        day = CRON_DAYS[index % 7]
        rule |= {"cron": f"{index % 60} {index % 24} * * {day}", "duration": "3h"}
    elif kind in (5, 6):
        rule |= {
            "days": [DAYS[index % 7], DAYS[(index + 3) % 7]],
            "from": f"{index % 24:02d}:00",
            "to": f"{(index + 5) % 24:02d}:30",
            "except_dates": [date(2026, 12, 24), date(2026, 12, 31)],
        }
    elif kind == 7:
        start = ORIGIN + timedelta(hours=index % 200)
        rule |= {"start": start, "end": start + timedelta(hours=2)}
    else:
        rule |= {"cron": f"{index % 60} */6 * * *", "duration": "1h"}
    return rule


def _switch(index: int, flows: list[str]) -> dict[str, Any]:
    half = len(flows) // 2
    rule: dict[str, Any] = {
        "name": f"switch-{index}",
        "a": flows[:half],
        "b": flows[half:],
        "timezone": ZONES[index % len(ZONES)],
        "order": "break-before-make" if index % 20 == 9 else "make-before-break",
    }
    if index % 20 == 9:
        return rule | {"b_cron": f"0 {index % 24} * * SAT", "b_duration": "48h"}
    return rule | {"every": "12h", "start": ORIGIN - timedelta(days=index % 30)}


def rules_data(ids: Mapping[str, Sequence[str]], count: int) -> dict[str, list[dict[str, Any]]]:
    """`[[maintenance]]` and `[[ab_switch]]` tables for `count` rules over `ids`."""
    refs = _interleaved(ids)
    maintenance: list[dict[str, Any]] = []
    switches: list[dict[str, Any]] = []
    accounts = list(ids)
    for index in range(count):
        flows = _slice(refs, index * FLOWS_PER_RULE)
        if index < len(accounts):
            rule = _maintenance(index, [f"{accounts[index]}:*"])
            maintenance.append(rule | {"cron": "0 3 * * SUN", "duration": "1h"})
        elif index % 10 == 9:
            switches.append(_switch(index, flows))
        else:
            if index % 4 == 0:
                flows += _slice(refs, index * FLOWS_PER_RULE + len(refs) // 2)
            maintenance.append(_maintenance(index, flows))
    return {"maintenance": maintenance, "ab_switch": switches}


@dataclass(frozen=True)
class Inputs:
    """Everything the engine hands `Schedule.desired`: priors and overrides."""

    priors: dict[str, dict[FlowRef, State]]
    overrides: list[Override]


def inputs_for(config: Config, now: datetime) -> Inputs:
    priors: dict[str, dict[FlowRef, State]] = {}
    named: list[FlowRef] = []
    for rule in config.maintenance:
        refs = [key for ref in rule.flows if isinstance(key := config.resolve(ref), FlowRef)]
        named += refs
        if rule.after == "restore":
            priors[rule.name] = dict.fromkeys(refs, State.ENABLED)
    overrides = [
        Override(ref, State.ENABLED if n % 2 else None, now + timedelta(hours=1 + n % 48))
        for n, ref in enumerate(named[::100])
    ]
    return Inputs(priors, overrides)


OFFLINE_ACCOUNTS = {
    "support": {"kind": "diga", "base_url": "http://127.0.0.1:9/diga", "token_env": "K"},
    "ops": {"kind": "gassapi", "base_url": "http://127.0.0.1:9/gassapi/", "token_env": "K"},
    "studio": {"kind": "runflow", "base_url": "http://127.0.0.1:9/runflow", "token_env": "K"},
    "crm": {"kind": "bitrix24", "webhook_url_env": "K"},
}


def offline_config(flows: int, rules: int) -> tuple[Config, dict[str, list[str]]]:
    """The workload on accounts that are never contacted (rules only), and each account's
    flow ids (what the engine passes as `known_flows` after listing)."""
    ids = synthetic_ids(list(OFFLINE_ACCOUNTS), flows)
    accounts = {name: dict(account) for name, account in OFFLINE_ACCOUNTS.items()}
    accounts["crm"]["flow_ids"] = [int(i) for i in ids["crm"]]
    data = {"settings": {"timezone": "Europe/Berlin"}, "accounts": accounts}
    return config_from(data | rules_data(ids, rules)), ids
