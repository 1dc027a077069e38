"""Properties of the reconciler over random histories, on an in-memory platform: time moves,
someone flips flows by hand, switching on group B's flows sometimes fails, and after every
pass the engine's promises hold."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowtui.config import parse_config
from flowtui.engine.clock import ManualClock
from flowtui.engine.events import EventBus
from flowtui.engine.reconcile import Reconciler
from flowtui.model import FlowRef, State
from flowtui.providers.base import (
    ChangeResult,
    Flow,
    NotFound,
    PlatformError,
    Provider,
    ProviderError,
    Transient,
)
from flowtui.rules import Schedule
from flowtui.store import SqliteStore

ORIGIN = datetime(2027, 3, 1, tzinfo=UTC)
GROUP_A = ("a1", "a2")
GROUP_B = ("b1", "b2")
WINDOWED = ("w1", "w2")
BYSTANDER = "x1"
FLOWS = (*GROUP_A, *GROUP_B, *WINDOWED, BYSTANDER)


class MemoryPlatform:
    """The Provider interface over a dict of flows; switching on a `failing` flow answers
    a transient error, a `broken` one a permanent error (nothing changes)."""

    account = "p"
    kind = "memory"
    can_list = True
    can_publish = False
    can_create = False

    def __init__(self, states: dict[str, State]) -> None:
        self.states = states
        self.failing: set[str] = set()
        self.broken: set[str] = set()
        self.sets: list[tuple[str, State]] = []

    async def get_flow(self, flow_id: str) -> Flow:
        if flow_id not in self.states:
            raise NotFound(f"no flow {flow_id}")
        return Flow(FlowRef(self.account, flow_id), flow_id, self.states[flow_id])

    async def get_flows(self, ids: Sequence[str]) -> dict[str, Flow | ProviderError]:
        return {flow_id: await self.get_flow(flow_id) for flow_id in ids}

    async def list_flows(self) -> list[Flow]:
        return [await self.get_flow(flow_id) for flow_id in self.states]

    async def set_state(self, flow_id: str, state: State) -> ChangeResult:
        ref, before = FlowRef(self.account, flow_id), self.states[flow_id]
        if before is not state and state is State.ENABLED and flow_id in self.failing:
            return ChangeResult.failed(ref, state, Transient("503 switching on"), before)
        if before is not state and state is State.ENABLED and flow_id in self.broken:
            return ChangeResult.failed(ref, state, PlatformError("refused for good"), before)
        if before is not state:
            self.sets.append((flow_id, state))
            self.states[flow_id] = state
        return ChangeResult.verified(ref, state, before, self.states[flow_id])

    async def set_states(self, changes: Mapping[str, State]) -> list[ChangeResult]:
        return [await self.set_state(flow_id, state) for flow_id, state in changes.items()]

    async def publish(self, flow_id: str) -> Flow:
        raise NotImplementedError

    async def create_flow(self, name: str) -> Flow:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def config_text(order: str, enforce: bool) -> str:
    return f"""
[accounts.p]
kind = "diga"
token_env = "UNUSED"

[[maintenance]]
name = "window"
flows = ["p:w1", "p:w2"]
cron = "0 */3 * * *"
duration = "1h"
enforce = {str(enforce).lower()}

[[ab_switch]]
name = "switch"
a = ["p:a1", "p:a2"]
b = ["p:b1", "p:b2"]
every = "2h"
start = {ORIGIN.isoformat()}
order = "{order}"
"""


STEP = st.tuples(
    st.integers(min_value=0, max_value=150).map(lambda m: timedelta(minutes=m)),
    st.sets(st.sampled_from(FLOWS), max_size=3),  # flipped by hand before the pass
    st.sets(st.sampled_from(GROUP_B), max_size=2),  # refuse to switch on during the pass
    st.sets(st.sampled_from(GROUP_B), max_size=1),  # refuse to switch on, permanently
    st.booleans(),  # a full pass (resync) or a transition pass
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    order=st.sampled_from(["break-before-make", "make-before-break"]),
    enforce=st.booleans(),
    initial=st.lists(st.booleans(), min_size=len(FLOWS), max_size=len(FLOWS)),
    steps=st.lists(STEP, min_size=1, max_size=8),
)
def test_the_engine_keeps_its_promises(
    order: str, enforce: bool, initial: list[bool], steps: list[tuple]
) -> None:
    asyncio.run(_history(order, enforce, initial, steps))


async def _history(order: str, enforce: bool, initial: list[bool], steps: list[tuple]) -> None:
    config = parse_config(config_text(order, enforce))
    schedule = Schedule(config)
    states = {
        flow: State.ENABLED if on else State.DISABLED
        for flow, on in zip(FLOWS, initial, strict=True)
    }
    platform = MemoryPlatform(states)
    assert isinstance(platform, Provider)
    clock = ManualClock(ORIGIN)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore.in_dir(Path(tmp))
        engine = Reconciler(config, {"p": platform}, store, EventBus(), clock)
        before_window: dict[str, State] = {}  # the model of `after = "restore"`
        try:
            for delta, flipped, failing, broken, full in steps:
                now = clock.advance(delta)
                for flow in flipped:
                    on = states[flow] is State.ENABLED
                    states[flow] = State.DISABLED if on else State.ENABLED
                platform.failing = set(failing)
                platform.broken |= broken
                serving_before = any(states[f] is State.ENABLED for f in (*GROUP_A, *GROUP_B))
                bystander_before = states[BYSTANDER]
                desired = schedule.desired(now, store.all_prior_states())
                in_window = now.hour % 3 == 0  # cron "0 */3 * * *", 1 h long, UTC
                if in_window and not before_window:
                    before_window = {flow: states[flow] for flow in WINDOWED}
                report = await engine.converge(now, full=full)

                # A flow no rule governs is never touched.
                assert states[BYSTANDER] is bystander_before
                assert all(flow != BYSTANDER for flow, _ in platform.sets)
                # An A/B switch never leaves the service with neither group.
                if serving_before:
                    assert any(states[f] is State.ENABLED for f in (*GROUP_A, *GROUP_B))
                # Every flow that the pass reports as converged is in its desired state.
                for outcome in report.outcomes:
                    if outcome.action in ("changed", "already"):
                        want = desired[FlowRef("p", outcome.flow.flow_id)].state
                        assert states[outcome.flow.flow_id] is want
                # Without injected failures nothing fails, retries of earlier ones included.
                if not failing and not platform.broken:
                    assert not report.failed
                # A full pass without failures leaves every enforced flow as desired.
                if full and not failing and enforce:
                    for flow in WINDOWED:
                        want = desired.get(FlowRef("p", flow))
                        if want is not None and want.enforced:
                            assert states[flow] is want.state
                # The first pass after a window puts each flow back as it was before it.
                if not in_window and before_window:
                    assert {flow: states[flow] for flow in WINDOWED} == before_window
                    before_window = {}
                # Whatever happened, no change is left without its outcome.
                assert store.open_intents() == []
        finally:
            store.close()
