"""100,000 rules are checked for conflicts in seconds (it took minutes, walking 60 fire times
of every cron), with the same findings: the day's start times come from the cron's fields
and the firing days are sampled only for windows that could outlast a night."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from flowtui.config import AbSwitchRule, Config, DigaAccount, MaintenanceRule
from flowtui.rules import conflicts

RULES = 100_000
SECONDS = 30.0  # about 3 s on a quiet machine
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def cron(index: int) -> str:
    """10,080 different expressions: every minute of every hour of every weekday."""
    return f"{index % 60} {index // 60 % 24} * * {DAYS[index // 1440 % 7]}"


def many_rules() -> Config:
    """Valid rules on distinct flows, plus three planted conflicts at known places."""
    variants = [  # the conflict check reads no flows of a maintenance rule: share them
        MaintenanceRule.model_construct(
            name=f"m{i}", flows=(f"s:f{i}",), cron=cron(i), duration=timedelta(hours=1)
        )
        for i in range(7 * 24 * 60)
    ]
    maintenance = [variants[i % len(variants)] for i in range(RULES * 9 // 10)]
    switches = [
        AbSwitchRule.model_construct(
            name=f"ab{i}",
            a=(f"s:a{i}",),
            b=(f"s:b{i}",),
            b_cron=cron(i),
            b_duration=timedelta(hours=2),
        )
        for i in range(RULES // 10)
    ]
    switches[10] = switches[10].model_copy(update={"b_duration": timedelta(days=8)})
    switches[20] = switches[20].model_copy(update={"b": ("s:b20", "s:a20")})
    switches[-1] = switches[-1].model_copy(update={"a": ("s:*",)})
    maintenance[5] = maintenance[5].model_copy(
        update={"cron": "*/20 * * * *", "duration": timedelta(minutes=30)}
    )
    account = DigaAccount.model_construct(kind="diga", token_env="S_TOKEN")
    return Config.model_construct(
        accounts={"s": account}, maintenance=tuple(maintenance), ab_switch=tuple(switches)
    )


@pytest.mark.slow
def test_a_hundred_thousand_rules_check_in_seconds() -> None:
    config = many_rules()
    started = time.perf_counter()
    found = [problem.message for problem in conflicts(config)]
    seconds = time.perf_counter() - started
    last = config.ab_switch[-1].name
    assert found[:2] == [
        "s:a20 is in both groups of switch 'ab20'",
        f"s:b{RULES // 10 - 1} is in both groups of switch {last!r}",  # `s:*` in its a
    ]
    governed_twice = [m for m in found if "is governed by two switches" in m]
    # `s:*` overlaps every a and b of the other switches (ab20's b has a third flow)
    assert len(governed_twice) == 2 * (RULES // 10 - 1) + 1
    assert governed_twice[0] == f"s:* is governed by two switches: 'ab0' and {last!r}"
    assert found[-2:] == [
        "rule 'm5': duration 30m is longer than the time between its starts (20m)",
        "rule 'ab10': b_duration 8d is longer than the time between its starts (7d)",
    ]
    assert len(found) == 2 + len(governed_twice) + 2
    assert seconds < SECONDS
