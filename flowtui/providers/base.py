"""The Provider interface every platform adapter implements, its value types and errors.

Every state change follows converge semantics: read → compare → change only if different →
verify → report the verified state. `set_state` never raises for an expected failure; it
returns a `ChangeResult` whose `error` says why (and whether retrying later can help).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from flowtui.model import FlowRef, State

if TYPE_CHECKING:
    from flowtui.providers.transport import Transport

MAX_MESSAGE = 300


class ProviderError(Exception):
    """A one-line, secret-free failure. `permanent` tells whether retrying later can help."""

    permanent: ClassVar[bool] = True

    def __init__(self, message: str) -> None:
        line = " ".join(message.split())
        if len(line) > MAX_MESSAGE:
            line = line[: MAX_MESSAGE - 1] + "…"
        super().__init__(line)

    @property
    def message(self) -> str:
        return str(self)


class AuthError(ProviderError):
    """Missing, invalid or expired credentials, or no permission."""


class MissingSecret(AuthError):
    """The environment variable that should hold a secret is not set."""


class NotFound(ProviderError):
    """The flow (or project) does not exist."""


class NotPublished(ProviderError):
    """The platform accepted an enable but the flow has no published version."""


class PlatformError(ProviderError):
    """The platform said no, or answered something we cannot use."""


class Conflict(ProviderError):
    """A concurrent change or a busy flow: retry later."""

    permanent = False


class RateLimited(ProviderError):
    """The platform's rate limit held even after backing off."""

    permanent = False


class Transient(ProviderError):
    """Network trouble or 5xx answers that outlasted the retries."""

    permanent = False


class OutcomeUnknown(Transient):
    """A non-idempotent call was sent but its answer was lost: re-read state before acting."""


class Superseded(ProviderError):
    """Not sent: at the instant of sending, the state asked for was no longer wanted (a
    rule's boundary passed since the change was planned). Planned again, never retried."""

    permanent = False


SendGate = Callable[[FlowRef, State], bool]

# The engine's check that a change is still wanted at the instant it is sent (SPEC §3). It
# is set around a converge by the caller that plans from rules, and read by each adapter
# right before the request that writes a state; manual changes run without one.
send_gate: ContextVar[SendGate | None] = ContextVar("send_gate", default=None)


def still_wanted(ref: FlowRef, state: State) -> None:
    """Raise Superseded unless the current send gate (if any) still wants `state`."""
    gate = send_gate.get()
    if gate is not None and not gate(ref, state):
        raise Superseded(f"not sent: {state} is no longer wanted (a boundary passed)")


class Outcome(StrEnum):
    CHANGED = "changed"
    ALREADY = "already"
    FAILED = "failed"


@dataclass(frozen=True)
class Flow:
    """One flow as read from its platform."""

    ref: FlowRef
    name: str
    state: State
    updated: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    reason: str | None = field(default=None, compare=False)  # why the state is UNKNOWN


def unknown_reason(flow: Flow) -> str | None:
    """Why `flow`'s state is unknown, in one line; None when it is known."""
    if flow.state is not State.UNKNOWN:
        return None
    return flow.reason or str(flow.raw.get("error") or "") or "the platform gave no state"


def account_message(account: str, message: object) -> str:
    """`account NAME: message`, the prefix written once (some errors carry it already)."""
    prefix = f"account {account}: "
    text = str(message)
    return text if text.startswith(prefix) else prefix + text


def outcome_summary(outcomes: Iterable[str]) -> str:
    """`changed 3, already 5, failed 1`: how many flows ended each way (published and
    would-change counted too when there are any)."""
    counts = Counter(str(outcome) for outcome in outcomes)
    words = [("changed", "changed"), ("published", "published"), ("already", "already")]
    words += [("would_change", "would change"), ("failed", "failed")]
    always = {"changed", "already", "failed"}
    return ", ".join(f"{word} {counts[key]}" for key, word in words if counts[key] or key in always)


@dataclass(frozen=True)
class ChangeResult:
    """The verified outcome of converging one flow to `desired`."""

    ref: FlowRef
    desired: State
    outcome: Outcome
    state: State  # verified state after the attempt (UNKNOWN when it could not be read)
    error: ProviderError | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is not Outcome.FAILED

    @property
    def reason(self) -> str:
        """One line for humans: what happened to this flow."""
        if self.outcome is Outcome.CHANGED:
            return f"changed: now {self.state}"
        if self.outcome is Outcome.ALREADY:
            return f"already {self.state}"
        return f"failed: {self.error}"

    @classmethod
    def failed(
        cls, ref: FlowRef, desired: State, error: ProviderError, state: State
    ) -> ChangeResult:
        return cls(ref, desired, Outcome.FAILED, state, error)

    @classmethod
    def verified(cls, ref: FlowRef, desired: State, before: State, after: State) -> ChangeResult:
        """Success when `after` is `desired`; CHANGED if it was not so when first read."""
        if after != desired:
            error = PlatformError(f"did not converge: wanted {desired}, platform shows {after}")
            return cls.failed(ref, desired, error, after)
        outcome = Outcome.ALREADY if before == desired else Outcome.CHANGED
        return cls(ref, desired, outcome, after)


SETTABLE = (State.ENABLED, State.DISABLED)


_TRUE = {"1", "true", "y", "yes"}
_FALSE = {"0", "false", "n", "no"}


def state_from_flag(value: Any) -> State:
    """An on/off flag that may arrive as bool, 0/1, "0"/"1", "Y"/"N"; anything else UNKNOWN."""
    if isinstance(value, bool):
        return State.ENABLED if value else State.DISABLED
    text = str(value).strip().lower() if isinstance(value, int | str) else None
    if text in _TRUE:
        return State.ENABLED
    if text in _FALSE:
        return State.DISABLED
    return State.UNKNOWN


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp ("T" or space separated), or None when absent or unreadable.

    A timestamp without an offset (GASSAPI's `Y-m-d H:i:s`) is taken as UTC.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def walk_cursor(
    fetch: Callable[[dict[str, Any]], Awaitable[Any]],
    params: dict[str, Any],
    *,
    items_key: str,
    next_cursor: Callable[[dict[str, Any]], Any],
    cursor_param: str,
) -> list[Any]:
    """Every item of a cursor-paged list; stops at the last page or a repeated cursor."""
    items: list[Any] = []
    seen: set[Any] = set()
    while True:
        page = await fetch(params)
        if not isinstance(page, dict) or not isinstance(page.get(items_key), list):
            raise PlatformError("unexpected answer to the flow list")
        items.extend(page[items_key])
        cursor = next_cursor(page)
        if not cursor or cursor in seen:
            return items
        seen.add(cursor)
        params = {**params, cursor_param: cursor}


@runtime_checkable
class Provider(Protocol):
    """One account on one platform."""

    account: str
    kind: ClassVar[str]
    can_list: ClassVar[bool]
    can_publish: ClassVar[bool]
    can_create: ClassVar[bool]

    async def list_flows(self) -> list[Flow]: ...

    async def get_flow(self, flow_id: str) -> Flow: ...

    async def get_flows(self, ids: Sequence[str]) -> dict[str, Flow | ProviderError]: ...

    async def set_state(self, flow_id: str, state: State) -> ChangeResult: ...

    async def set_states(
        self, changes: Mapping[str, State], known: Mapping[str, Flow] | None = None
    ) -> list[ChangeResult]:
        """Converge many flows; `known` holds flows just read (e.g. by the listing that
        found them), which a provider may compare against instead of reading them again."""
        ...

    async def publish(self, flow_id: str) -> Flow: ...

    async def create_flow(self, name: str) -> Flow: ...

    async def aclose(self) -> None: ...


class BaseProvider:
    """Shared plumbing: refs, per-flow fan-out, and the converge skeleton.

    Subclasses implement `get_flow`, `list_flows` and `_apply` (send the change and return
    the flow as verified afterwards), or override `_converge` when the platform needs more.
    """

    kind: ClassVar[str] = ""
    can_list: ClassVar[bool] = True
    can_publish: ClassVar[bool] = False
    can_create: ClassVar[bool] = False

    def __init__(self, account: str, transport: Transport) -> None:
        self.account = account
        self._http = transport
        transport.account = account  # what the transport's observers count it under

    def __repr__(self) -> str:
        return f"<{type(self).__name__} account={self.account!r}>"

    def ref(self, flow_id: str) -> FlowRef:
        return FlowRef(self.account, str(flow_id))

    def flow_from(
        self, data: Any, *, state_of: Callable[[Any], State], state_key: str, updated_key: str
    ) -> Flow:
        """A `Flow` from one platform flow object, or a PlatformError if it is not one."""
        if not isinstance(data, dict) or "id" not in data:
            raise PlatformError("unexpected answer: no flow object")
        value = data.get(state_key)
        state = state_of(value)
        return Flow(
            ref=self.ref(str(data["id"])),
            name=str(data.get("name") or ""),
            state=state,
            updated=parse_time(data.get(updated_key)),
            raw=data,
            reason=(
                f"{state_key} {value!r} is neither enabled nor disabled"
                if state is State.UNKNOWN
                else None
            ),
        )

    async def list_flows(self) -> list[Flow]:
        raise NotImplementedError

    async def get_flow(self, flow_id: str) -> Flow:
        raise NotImplementedError

    async def get_flows(self, ids: Sequence[str]) -> dict[str, Flow | ProviderError]:
        """Read many flows; each entry is the flow or the error that prevented reading it."""

        async def one(flow_id: str) -> Flow | ProviderError:
            try:
                return await self.get_flow(flow_id)
            except ProviderError as exc:
                return exc

        found = await asyncio.gather(*(one(i) for i in ids))
        return dict(zip(ids, found, strict=True))

    async def set_state(self, flow_id: str, state: State) -> ChangeResult:
        ref = self.ref(flow_id)
        if state not in SETTABLE:
            return ChangeResult.failed(
                ref, state, PlatformError(f"cannot set a flow to {state}"), State.UNKNOWN
            )
        try:
            return await self._converge(flow_id, state)
        except ProviderError as exc:
            return ChangeResult.failed(ref, state, exc, State.UNKNOWN)

    async def set_states(
        self, changes: Mapping[str, State], known: Mapping[str, Flow] | None = None
    ) -> list[ChangeResult]:
        """Converge many flows of this account; the transport bounds the concurrency.
        Each flow is read again before it is changed (`known` is not needed)."""
        return list(await asyncio.gather(*(self.set_state(i, s) for i, s in changes.items())))

    async def _converge(self, flow_id: str, desired: State) -> ChangeResult:
        before = await self.get_flow(flow_id)
        if before.state == desired:
            return ChangeResult.verified(before.ref, desired, before.state, before.state)
        still_wanted(before.ref, desired)
        after = await self._apply(before, desired)
        return ChangeResult.verified(before.ref, desired, before.state, after.state)

    async def _apply(self, flow: Flow, desired: State) -> Flow:
        raise NotImplementedError

    async def publish(self, flow_id: str) -> Flow:
        raise PlatformError(f"{self.kind} has no publish step")

    async def create_flow(self, name: str) -> Flow:
        raise PlatformError(f"{self.kind} flows cannot be created from flowtui")

    async def aclose(self) -> None:
        """Release the account's connections."""
        await self._http.aclose()
