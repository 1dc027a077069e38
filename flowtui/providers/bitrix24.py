"""Bitrix24 task flows: `activate` is a toggle that does not say what state it left.

Flows come from the account's configured ids (the platform has no list method). Reads are
batched (≤50 `tasks.flow.Flow.get` per `batch` request); `activate` is sent only for flows
whose `active` differs, then a verifying read of those flows decides. Two toggles or more
go in batches too, each `activate` followed in the same batch by a `get` of its flow: a
batch runs its commands in order (later ones may use earlier results), so that `get` reads
the state the toggle left, and verifying costs neither an extra request nor an extra round
trip. At 2 req/s with a burst of 50, every request counts; ceil(2D/50) such batches never
exceed the 2·ceil(D/50) of toggling and verifying apart. An `activate` whose answer was lost
(alone or with its batch) is never re-sent before a read shows it did not apply; a flow
that still shows the wrong state after a confirmed toggle (someone else toggled it) gets
one more read-compare-toggle, then a clear failure — never a silent inversion.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from flowtui.model import FlowRef, State
from flowtui.providers.base import (
    SETTABLE,
    AuthError,
    BaseProvider,
    ChangeResult,
    Conflict,
    Flow,
    NotFound,
    OutcomeUnknown,
    PlatformError,
    ProviderError,
    RateLimited,
    Superseded,
    parse_time,
    state_from_flag,
    still_wanted,
)
from flowtui.providers.redaction import LOGGER_NAME, redact
from flowtui.providers.tokens import PairStore, RotatingCredentials, TokenPair
from flowtui.providers.transport import (
    Transport,
    Verdict,
    classify_status,
    error_for_status,
    json_body,
)

log = logging.getLogger(LOGGER_NAME)

# what one toggle came to: confirmed (True), outcome unknown (False) or refused (the error),
# and the flow as read right after it in the same batch (None: not read there)
Toggled = tuple[bool | ProviderError, Flow | ProviderError | None]

BATCH = 50
GET = "tasks.flow.Flow.get"
ACTIVATE = "tasks.flow.Flow.activate"
TOGGLE_ROUNDS = 2  # confirmed toggles per flow: the first, and one more if someone else toggled
UNKNOWN_ROUNDS = 3  # toggles whose answer was lost, each re-read before another is sent
AUTH_CODES = {
    "NO_AUTH_FOUND",
    "INVALID_CREDENTIALS",
    "ACCESS_DENIED",
    "INSUFFICIENT_SCOPE",
    "INVALID_TOKEN",
    "EXPIRED_TOKEN",
    "USER_ACCESS_ERROR",
    "INVALID_GRANT",
    "INVALID_CLIENT",
}
LIMIT_CODES = {"QUERY_LIMIT_EXCEEDED", "OPERATION_TIME_LIMIT"}


def error_code(response: httpx.Response) -> str:
    """The upper-cased `error` of a Bitrix24 error body, or ""."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", "")).upper() if isinstance(body, dict) else ""


def expired(response: httpx.Response) -> bool:
    """The OAuth access token has expired (401 `expired_token`): renew it."""
    return response.status_code == 401 and error_code(response) == "EXPIRED_TOKEN"


def classify(response: httpx.Response) -> Verdict:
    """`QUERY_LIMIT_EXCEEDED` is refused before execution; `OVERLOAD_LIMIT` is permanent."""
    if response.status_code in (429, 503):
        code = error_code(response)
        if code in LIMIT_CODES:
            return Verdict.REFUSED
        if code == "OVERLOAD_LIMIT":
            return Verdict.FINAL
    return classify_status(response)


def bitrix_error(status: int, body: Mapping[str, Any]) -> ProviderError:
    """The typed error for `{"error", "error_description"}` (flow errors carry code "0")."""
    code = str(body.get("error", ""))
    description = redact(str(body.get("error_description", "")))
    upper = code.upper()
    text = description if code in ("", "0") else f"{code}: {description}".rstrip(": ")
    if upper == "OVERLOAD_LIMIT":
        return PlatformError(f"{text} — REST blocked by Bitrix24 support; retrying will not help")
    if upper in AUTH_CODES:
        return AuthError(text)
    if upper in LIMIT_CODES:
        return RateLimited(text)
    if code == "0" and "not found" in description.lower():
        return NotFound(description)
    return error_for_status(status if status >= 400 else 400, text)


class Bitrix24Provider(BaseProvider):
    kind = "bitrix24"

    def __init__(
        self,
        account: str,
        transport: Transport,
        flow_ids: Sequence[int | str],
        *,
        token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        oauth_url: str | None = None,
        store: PairStore | None = None,
    ) -> None:
        """With no `token` the transport's base URL is the webhook URL (it holds the secret)."""
        super().__init__(account, transport)
        self._flow_ids = [str(i) for i in flow_ids]
        self._creds: RotatingCredentials | None = None
        if token is not None:
            can_refresh = bool(refresh_token and client_id and client_secret and oauth_url)
            refresher = self._refresh if can_refresh else None
            seed = TokenPair(token, refresh_token)
            self._creds = RotatingCredentials(seed, refresher, store, account=account)
        self._oauth = (oauth_url, client_id, client_secret)

    async def _send(
        self, method: str, params: Mapping[str, Any], pair: TokenPair | None, idempotent: bool
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {pair.access}"} if pair else None
        return await self._http.request(
            "POST", method, json=dict(params), headers=headers, idempotent=idempotent
        )

    async def _call(
        self, method: str, params: Mapping[str, Any], *, idempotent: bool = True
    ) -> Any:
        """`result` of one REST method; a typed error otherwise."""
        if self._creds is None:
            response = await self._send(method, params, None, idempotent)
        else:
            response = await self._creds.send(
                lambda pair: self._send(method, params, pair, idempotent), rejected=expired
            )
        if not response.content:
            raise error_for_status(response.status_code, "empty answer")
        body = json_body(response) if response.is_success else _json_or_empty(response)
        if isinstance(body, dict) and body.get("error") not in (None, ""):
            raise bitrix_error(response.status_code, body)
        if not response.is_success:
            raise error_for_status(response.status_code, "")
        if not isinstance(body, dict) or "result" not in body:
            raise PlatformError(f"unexpected answer to {method}: no result")
        return body["result"]

    async def _refresh(self, refresh_token: str) -> TokenPair:
        url, client_id, client_secret = self._oauth
        params = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        response = await self._http.request("GET", str(url), params=params)
        body = _json_or_empty(response)
        if not response.is_success or "access_token" not in body:
            raise AuthError(f"token renewal failed: {bitrix_error(response.status_code, body)}")
        expires = body.get("expires")  # epoch seconds, as Bitrix24's OAuth server answers
        expires_at = float(expires) if isinstance(expires, int | float) else None
        return TokenPair(str(body["access_token"]), body.get("refresh_token"), expires_at)

    def _flow(self, data: Any) -> Flow:
        if isinstance(data, dict) and isinstance(data.get("flow"), dict):
            data = data["flow"]
        if not isinstance(data, dict) or "id" not in data:
            raise PlatformError("unexpected answer: no flow object")
        return Flow(
            ref=self.ref(str(data["id"])),
            name=str(data.get("name") or ""),
            state=state_from_flag(data.get("active")),
            updated=parse_time(data.get("activity")),
            raw=data,
        )

    async def _batch(
        self, commands: Mapping[str, str], *, idempotent: bool = True
    ) -> tuple[dict[str, Any], dict[str, ProviderError]]:
        """One `batch` request running `commands` (key → "method?query") in order: results
        and errors by key (a key in neither got no word from the platform)."""
        answer = await self._call(
            "batch", {"halt": 0, "cmd": dict(commands)}, idempotent=idempotent
        )
        answer = answer if isinstance(answer, dict) else {}
        results = _as_mapping(answer.get("result"))
        errors = _as_mapping(answer.get("result_error"))
        return (
            {key: results[key] for key in commands if key in results},
            {key: bitrix_error(400, _as_mapping(errors[key])) for key in commands if key in errors},
        )

    def _read_answer(
        self, key: str, results: Mapping[str, Any], errors: Mapping[str, ProviderError]
    ) -> Flow | ProviderError:
        """The flow a `get` command `key` of a batch answered, or why it did not."""
        try:
            if key in errors:
                raise errors[key]
            if key not in results:
                raise PlatformError("batch answer has no result for this flow")
            return self._flow(results[key])
        except ProviderError as exc:
            return exc

    async def _read_chunk(self, ids: Sequence[str]) -> dict[str, Flow | ProviderError]:
        keys = {f"f{n}": flow_id for n, flow_id in enumerate(ids)}
        try:
            results, errors = await self._batch(
                {key: f"{GET}?flowId={flow_id}" for key, flow_id in keys.items()}
            )
        except ProviderError as exc:
            return dict.fromkeys(ids, exc)
        return {flow_id: self._read_answer(key, results, errors) for key, flow_id in keys.items()}

    async def get_flows(self, ids: Sequence[str]) -> dict[str, Flow | ProviderError]:
        ids = [str(i) for i in ids]
        chunks = [ids[n : n + BATCH] for n in range(0, len(ids), BATCH)]
        found: dict[str, Flow | ProviderError] = {}
        for part in await asyncio.gather(*(self._read_chunk(c) for c in chunks)):
            found.update(part)
        return found

    async def get_flow(self, flow_id: str) -> Flow:
        return self._flow(await self._call(GET, {"flowId": _int_id(flow_id)}))

    async def list_flows(self) -> list[Flow]:
        """The configured flows; one unreadable flow shows as UNKNOWN with its error."""
        flows: list[Flow] = []
        for flow_id, found in (await self.get_flows(self._flow_ids)).items():
            if isinstance(found, AuthError):
                raise found
            if isinstance(found, ProviderError):
                found = Flow(self.ref(flow_id), "", State.UNKNOWN, raw={"error": str(found)})
            flows.append(found)
        return flows

    async def _activate(self, flow_id: str) -> bool | ProviderError:
        """True when the toggle was confirmed, False when its outcome is unknown."""
        try:
            result = await self._call(ACTIVATE, {"flowId": _int_id(flow_id)}, idempotent=False)
        except OutcomeUnknown:
            return False
        except ProviderError as exc:
            return exc
        return _confirmed(result)

    async def _activate_chunk(self, ids: Sequence[str]) -> dict[str, Toggled]:
        """Toggle up to 25 flows in one batch, each `activate` followed by a `get` of its
        flow; per flow as `_activate` answers, with the state read after it (None when
        the batch did not answer that read)."""
        commands = {}
        for n, flow_id in enumerate(ids):
            commands[f"a{n}"] = f"{ACTIVATE}?flowId={flow_id}"
            commands[f"g{n}"] = f"{GET}?flowId={flow_id}"
        try:
            results, errors = await self._batch(commands, idempotent=False)
        except OutcomeUnknown:
            return dict.fromkeys(ids, (False, None))
        except ProviderError as exc:
            return dict.fromkeys(ids, (exc, None))
        toggled: dict[str, Toggled] = {}
        for n, flow_id in enumerate(ids):
            activate, get = f"a{n}", f"g{n}"
            if activate in errors:
                outcome: bool | ProviderError = errors[activate]
            elif activate in results:
                outcome = _confirmed(results[activate])
            else:
                outcome = False  # no word on this toggle: re-read before anything else
            read = self._read_answer(get, results, errors)
            answered = get in results or get in errors
            toggled[flow_id] = (outcome, read if answered and outcome is not False else None)
        return toggled

    async def _toggle(self, ids: Sequence[str]) -> dict[str, Toggled]:
        """`activate` each flow: one request for one flow (read apart afterwards), batches
        of ≤25 toggles each with its verifying read for more."""
        if len(ids) == 1:
            return {ids[0]: (await self._activate(ids[0]), None)}
        size = BATCH // 2
        chunks = [ids[n : n + size] for n in range(0, len(ids), size)]
        toggled: dict[str, Toggled] = {}
        for part in await asyncio.gather(*(self._activate_chunk(c) for c in chunks)):
            toggled.update(part)
        return toggled

    async def set_state(self, flow_id: str, state: State) -> ChangeResult:
        return (await self.set_states({flow_id: state}))[0]

    async def set_states(
        self, changes: Mapping[str, State], known: Mapping[str, Flow] | None = None
    ) -> list[ChangeResult]:
        """Read (flows in `known` were just read: not again), toggle what differs in
        batches, verify by reading the toggled flows again."""
        desired = {str(k): v for k, v in changes.items()}
        results: dict[str, ChangeResult] = {}
        for flow_id, state in desired.items():
            if state not in SETTABLE:
                error = PlatformError(f"cannot set a flow to {state}")
                results[flow_id] = ChangeResult.failed(
                    self.ref(flow_id), state, error, State.UNKNOWN
                )
        pending = [i for i in desired if i not in results]
        recent = {i: known[i] for i in pending if known and i in known}
        first: dict[str, Flow | ProviderError] = {
            **recent,
            **await self.get_flows([i for i in pending if i not in recent]),
        }
        current = dict(first)
        confirmed: Counter[str] = Counter()
        unknown: Counter[str] = Counter()
        while pending:
            to_toggle = []
            for flow_id in pending:
                verdict = self._judge(
                    flow_id,
                    desired[flow_id],
                    first[flow_id],
                    current[flow_id],
                    confirmed[flow_id],
                    unknown[flow_id],
                )
                if verdict is None:
                    verdict = _superseded(self.ref(flow_id), desired[flow_id], current[flow_id])
                if verdict is None:
                    to_toggle.append(flow_id)
                else:
                    results[flow_id] = verdict
            toggled = await self._toggle(to_toggle)
            pending = []
            for flow_id in to_toggle:
                outcome, read = toggled[flow_id]
                if isinstance(outcome, ProviderError):
                    state = _state_of(current[flow_id])
                    results[flow_id] = ChangeResult.failed(
                        self.ref(flow_id), desired[flow_id], outcome, state
                    )
                    continue
                (confirmed if outcome else unknown)[flow_id] += 1
                pending.append(flow_id)
                if read is not None:
                    current[flow_id] = read
            # flows whose read did not come with their toggle are read now
            current.update(await self.get_flows([i for i in pending if toggled[i][1] is None]))
        return [results[i] for i in desired]

    def _judge(
        self,
        flow_id: str,
        desired: State,
        first: Flow | ProviderError,
        now: Flow | ProviderError,
        confirmed: int,
        unknown: int,
    ) -> ChangeResult | None:
        """The final result for this flow, or None when it should be toggled (again)."""
        ref = self.ref(flow_id)
        touched = confirmed + unknown > 0
        if isinstance(now, ProviderError):
            if touched:
                now = type(now)(f"activate sent but the verifying read failed: {now}")
            return ChangeResult.failed(ref, desired, now, State.UNKNOWN)
        before = first.state if isinstance(first, Flow) else State.UNKNOWN
        if now.state == desired:
            return ChangeResult.verified(ref, desired, before, now.state)
        if now.state is State.UNKNOWN:
            error: ProviderError = PlatformError(f"`active` unreadable: {now.raw.get('active')!r}")
            return ChangeResult.failed(ref, desired, error, now.state)
        if confirmed >= TOGGLE_ROUNDS or unknown >= UNKNOWN_ROUNDS:
            error = Conflict(
                f"did not converge: still {now.state} after {confirmed + unknown} toggles "
                "(someone else is toggling it?)"
            )
            return ChangeResult.failed(ref, desired, error, now.state)
        return None


def _superseded(ref: FlowRef, desired: State, now: Flow | ProviderError) -> ChangeResult | None:
    """A failed result when the engine no longer wants `desired` (the toggle is not sent)."""
    try:
        still_wanted(ref, desired)
    except Superseded as exc:
        return ChangeResult.failed(ref, desired, exc, _state_of(now))
    return None


def _int_id(flow_id: str) -> int | str:
    return int(flow_id) if str(flow_id).isdigit() else flow_id


def _confirmed(result: Any) -> bool | ProviderError:
    """True for the `true` a confirmed `activate` answers; anything else is an error."""
    return True if result is True else PlatformError(f"activate answered {result!r}")


def _state_of(found: Flow | ProviderError) -> State:
    return found.state if isinstance(found, Flow) else State.UNKNOWN


def _as_mapping(value: Any) -> Mapping[str, Any]:
    """PHP answers an empty map as `[]`; anything not a dict counts as empty."""
    return value if isinstance(value, dict) else {}


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
