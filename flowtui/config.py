"""schedules.toml → frozen pydantic models (SPEC §2), with every problem located.

`parse_config` is pure; `load_config` only adds reading the file. Both raise `ConfigError`
carrying every problem found, each with file, line, column, message and hint. Writing the
file back lives in flowtui.config_writer.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import re
import sys
import types
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli as tomllib  # the stdlib's parser, compiled: large files parse 3x faster
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from flowtui.crontab import CronError, WallCron
from flowtui.durations import HINT as DURATION_HINT
from flowtui.durations import format_duration, parse_duration
from flowtui.model import FlowRef, State
from flowtui.toml_positions import PositionIndex, index_positions, too_deep
from flowtui.urls import PLAIN_HTTP_HINT, plain_http_host


def _skip_pydantic_plugin_search() -> None:
    """flowtui uses no pydantic plugin. Before it builds its first validator, pydantic looks
    for plugins in every installed package's entry points: importing importlib.metadata (and
    the email package) and reading site-packages, a tenth of `flowtui check`. An entry in
    sys.modules answers "none" instead, unless pydantic has already loaded its own."""
    name = "pydantic.plugin._loader"
    if name not in sys.modules:
        loader = types.ModuleType(name, "flowtui: no pydantic plugins are loaded")
        loader.get_plugins = tuple  # type: ignore[attr-defined]
        sys.modules[name] = loader


_skip_pydantic_plugin_search()

SECRET_HINT = "put secrets in the environment and name the variable with token_env (or *_env)"
SECRET_KEYS = frozenset(
    {
        "token",
        "api_key",
        "apikey",
        "key",
        "webhook_url",
        "refresh_token",
        "access_token",
        "password",
        "secret",
        "client_id",
        "client_secret",
    }
)
_M = TypeVar("_M", bound=BaseModel)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# -- problems --------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One located problem, printed `file:line:column: error: message (hint: ...)`."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: error: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(Exception):
    """The configuration is invalid; `problems` holds every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class UnknownReference(ValueError):
    """A flow reference names an account or alias the configuration does not have."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _invalid(message: str, hint: str | None = None) -> PydanticCustomError:
    """A validation error whose message and hint reach the user unchanged."""
    return PydanticCustomError("flowtui", "{message}", {"message": message, "hint": hint})


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


# -- value types -----------------------------------------------------------------------


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise _invalid("a duration must be a string", DURATION_HINT)
    try:
        return parse_duration(value)
    except ValueError as error:
        raise _invalid(str(error), DURATION_HINT) from None


def _zone(value: object) -> str:
    if not isinstance(value, str):
        raise _invalid("a time zone must be a string", "use an IANA name such as Europe/Berlin")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _invalid(
            f"unknown time zone {value!r}", "use an IANA name such as Europe/Berlin or UTC"
        ) from None
    return value


def _cron(value: object) -> str:
    if not isinstance(value, str):
        raise _invalid("a cron expression must be a string", CronError.hint)
    problem = _cron_problem(value)
    if problem is not None:
        raise _invalid(*problem)
    return value


@functools.lru_cache(maxsize=16384)
def _cron_problem(value: str) -> tuple[str, str] | None:
    """What is wrong with a cron expression (message, hint), or None; remembered, since a
    large file repeats the same few expressions many times."""
    try:
        cron = WallCron(value)
    except CronError as error:
        return str(error), error.hint
    if cron.next_fire(datetime(2000, 1, 1)) is None:
        return f"cron {value!r} never fires", "check day-of-month against the month"
    return None


def _weekday(value: object) -> str:
    text = str(value).strip().lower()
    for day in WEEKDAYS:
        if text == day or (len(text) > 3 and day.startswith(text[:3]) and text.endswith("day")):
            return day
    raise _invalid(f"{value!r} is not a day of the week", "use mon, tue, wed, thu, fri, sat, sun")


def _time_of_day(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value.strip()):
        try:
            return time.fromisoformat(value.strip().zfill(5 if value.count(":") == 1 else 8))
        except ValueError:
            pass
    raise _invalid(f"{value!r} is not a time of day", 'write e.g. "22:00"')


def _moment(value: datetime) -> datetime:
    if not 1900 <= value.year <= 9000:
        raise _invalid(f"{value.isoformat()} is out of range", "use a year from 1900 to 9000")
    return value


def _env_name(value: object, info: ValidationInfo) -> str:
    # Never echo the value: a secret pasted here by mistake must not reach the output.
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise _invalid(
            f"{info.field_name} must name an environment variable, not hold a value",
            "write the variable's name, e.g. DIGA_API_KEY, and export the secret in it",
        )
    return value


def _format_time(value: time) -> str:
    return value.strftime("%H:%M" if value.second == 0 else "%H:%M:%S")


def _target_state(value: object) -> State:
    if value in (State.ENABLED, State.DISABLED):
        return State(str(value))
    raise _invalid(f"state {value!r} is not allowed", 'use "enabled" or "disabled"')


def _text(*examples: str, **schema: Any) -> WithJsonSchema:
    """The JSON Schema of a value written as a string (TOML dates and times are strings
    to JSON Schema tools such as taplo)."""
    return WithJsonSchema({"type": "string", "examples": list(examples), **schema})


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str),
    _text("90s", "15m", "2h", "1d", "1h30m", "PT2H"),
]
Zone = Annotated[str, BeforeValidator(_zone), _text("Europe/Berlin", "UTC")]
Cron = Annotated[str, BeforeValidator(_cron), _text("0 2 * * SUN", "30 8 * * MON-FRI")]
Weekday = Annotated[str, BeforeValidator(_weekday), _text(*WEEKDAYS)]
TimeOfDay = Annotated[
    time,
    BeforeValidator(_time_of_day),
    PlainSerializer(_format_time, return_type=str),
    _text("22:00", "06:30"),
]
TargetState = Annotated[
    State, BeforeValidator(_target_state), _text(enum=[State.ENABLED, State.DISABLED])
]
Moment = Annotated[datetime, AfterValidator(_moment), _text("2026-12-24T18:00:00+01:00")]
EnvName = Annotated[
    str, BeforeValidator(_env_name), _text("DIGA_API_KEY", pattern="^[A-Za-z_][A-Za-z0-9_]*$")
]
NonEmptyRefs = Annotated[tuple[str, ...], Field(min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


_ENV = "Environment variable holding {}"


# -- settings and accounts -------------------------------------------------------------


class Settings(_Model):
    """Settings for the whole file."""

    timezone: Zone = Field(default="UTC", description="Default zone of rules and of typed times")
    refresh: Duration = Field(default=timedelta(seconds=10), description="Live refresh in the app")
    resync: Duration = Field(
        default=timedelta(seconds=60), description="The daemon re-reads and re-enforces this often"
    )
    confirm: bool = Field(default=True, description="The app asks before changing a flow")
    read_only: bool = Field(
        default=False, description="No change from app or CLI; the daemon plans"
    )
    state_dir: Path | None = Field(
        default=None, description="Store, lock and tokens (default: per user)"
    )
    # state store (SPEC §3, team mode §8)
    audit_retention: Duration = Field(
        default=timedelta(days=90), description="Audit rows older than this are pruned"
    )
    state_url_env: EnvName | None = Field(
        default=None, description="Variable holding a postgresql:// URL (team mode)"
    )
    scheduler: str = Field(
        default="default", min_length=1, max_length=200, description="Team mode scheduler name"
    )
    lease: Duration = Field(
        default=timedelta(seconds=15), description="Team mode leader lease, renewed every third"
    )
    # SPEC §4: the largest platform answer read, after decompression ("10MiB", "512KB", bytes)
    max_response: Annotated[
        ByteSize,
        WithJsonSchema({"type": ["string", "integer"], "examples": ["10MiB", "512KB", 1048576]}),
    ] = Field(
        default=ByteSize(10 * 1024 * 1024), ge=1024, description="Largest answer read (10MiB)"
    )


class _AccountBase(_Model):
    concurrency: int = Field(8, ge=1, description="Requests in flight at most")
    timeout: Duration = Field(timedelta(seconds=10), description="Per request")
    allow_plain_http: bool = Field(
        False, description="Allow http:// to a host other than loopback (SPEC §4)"
    )

    @field_validator("base_url", "oauth_url", check_fields=False)
    @classmethod
    def _no_plain_http(cls, value: str | None, info: ValidationInfo) -> str | None:
        host = plain_http_host(value) if isinstance(value, str) else None
        if host is not None and not info.data.get("allow_plain_http"):
            raise _invalid(
                f"{info.field_name} sends credentials unencrypted (plain http:// to {host})",
                PLAIN_HTTP_HINT,
            )
        return value

    def secret_envs(self) -> dict[str, str]:
        """Role → name of the environment variable holding that secret (set ones only)."""
        roles = {
            name.removesuffix("_env"): value
            for name, value in self
            if name.endswith("_env") and isinstance(value, str)
        }
        return roles


class DigaAccount(_AccountBase):
    """A Diga account."""

    kind: Literal["diga"]
    base_url: str = "https://api.diga.io"
    token_env: EnvName = Field(description=_ENV.format("the API key"))
    concurrency: int = Field(
        50, ge=1, description="Requests in flight at most (no rate limit documented)"
    )


class GassapiAccount(_AccountBase):
    """A GASSAPI account."""

    kind: Literal["gassapi"]
    base_url: str
    project_id: str | None = Field(None, description="Default: every project the user sees")
    token_env: EnvName = Field(description=_ENV.format("the access token (JWT)"))
    refresh_token_env: EnvName | None = Field(None, description=_ENV.format("the refresh token"))
    toggle_only: bool = Field(False, description="Switch only by toggle: read, toggle, verify")
    concurrency: int = Field(
        32, ge=1, description="Requests in flight at most (no rate limit documented)"
    )


class RunflowAccount(_AccountBase):
    """A Runflow account."""

    kind: Literal["runflow"]
    base_url: str = "https://api.runflow.io"
    token_env: EnvName = Field(description=_ENV.format("the API key"))
    organization_id: str | None = Field(None, description="Sent as X-Organization-Id")
    enabled_value: str = Field("active", description="The status_code meaning on")
    disabled_value: str = Field("inactive", description="The status_code meaning off")


_BITRIX_OAUTH = ("base_url", "token_env", "refresh_token_env", "client_id_env", "client_secret_env")


class Bitrix24Account(_AccountBase):
    """Either an incoming webhook (`webhook_url_env`) or OAuth (portal `base_url` + tokens)."""

    kind: Literal["bitrix24"]
    webhook_url_env: EnvName | None = Field(None, description=_ENV.format("the webhook URL"))
    base_url: str | None = Field(None, description="OAuth: the portal's URL")
    token_env: EnvName | None = Field(None, description=_ENV.format("the OAuth access token"))
    refresh_token_env: EnvName | None = Field(None, description=_ENV.format("the refresh token"))
    client_id_env: EnvName | None = Field(None, description=_ENV.format("the OAuth client id"))
    client_secret_env: EnvName | None = Field(None, description=_ENV.format("the client secret"))
    oauth_url: str = "https://oauth.bitrix.info/oauth/token/"
    flow_ids: tuple[int, ...] = Field(min_length=1, description="Flows to manage (not listable)")
    rate: float = Field(2.0, gt=0, description="Requests per second (Enterprise: 5)")
    burst: int = Field(50, ge=1, description="Leaky-bucket burst (Enterprise: 250)")
    concurrency: int = Field(
        50, ge=1, description="Requests in flight at most (the burst; the bucket paces the rest)"
    )

    @property
    def uses_webhook(self) -> bool:
        return self.webhook_url_env is not None

    @model_validator(mode="after")
    def _one_auth_form(self) -> Bitrix24Account:
        oauth_set = [name for name in _BITRIX_OAUTH if getattr(self, name) is not None]
        if self.webhook_url_env is not None and oauth_set:
            raise _invalid(
                f"both webhook_url_env and OAuth settings ({', '.join(oauth_set)}) are set",
                "use either webhook_url_env or the OAuth settings, not both",
            )
        if self.webhook_url_env is None and len(oauth_set) < len(_BITRIX_OAUTH):
            missing = [name for name in _BITRIX_OAUTH if name not in oauth_set]
            raise _invalid(
                f"bitrix24 account needs webhook_url_env, or OAuth with {', '.join(missing)}",
                "set webhook_url_env, or base_url + token_env + refresh_token_env"
                " + client_id_env + client_secret_env",
            )
        return self


Account = Annotated[
    DigaAccount | GassapiAccount | RunflowAccount | Bitrix24Account, Field(discriminator="kind")
]
ACCOUNT_KINDS: dict[str, type[_AccountBase]] = {
    "diga": DigaAccount,
    "gassapi": GassapiAccount,
    "runflow": RunflowAccount,
    "bitrix24": Bitrix24Account,
}


# -- rules -----------------------------------------------------------------------------


class _RuleBase(_Model):
    name: str = Field(min_length=1, description="Unique among all rules")
    timezone: Zone | None = Field(None, description="The rule's zone (default: settings')")
    enforce: bool = Field(False, description="Re-apply in a window if someone changes a flow")
    priority: int = Field(0, description="Overlapping windows: higher wins; a tie: disabled")
    paused: bool = Field(False, description="A paused rule governs nothing")


def _form(rule: BaseModel, forms: Mapping[str, tuple[str, ...]]) -> str:
    """The one window form `rule` uses, checking that all of its keys (and no other
    form's) are set."""
    present = {key for keys in forms.values() for key in keys if getattr(rule, key) is not None}
    used = [form for form, keys in forms.items() if present & set(keys)]
    spelled = " or ".join(" + ".join(k.rstrip("_") for k in keys) for keys in forms.values())
    if len(used) != 1:
        problem = "mixes two window forms" if used else "has no window"
        raise _invalid(f"rule {getattr(rule, 'name', '')!r} {problem}", f"use {spelled}")
    missing = [key.rstrip("_") for key in forms[used[0]] if getattr(rule, key) is None]
    if missing:
        raise _invalid(
            f"rule {getattr(rule, 'name', '')!r} is missing {', '.join(missing)}",
            f"use {spelled}",
        )
    return used[0]


class MaintenanceRule(_RuleBase):
    """Hold `flows` at `state` during each window; afterwards apply `after`."""

    FORMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "cron": ("cron", "duration"),
        "once": ("start", "end"),
        "weekly": ("days", "from_", "to"),
    }

    flows: NonEmptyRefs = Field(description="account:flow_id, alias or account:*")
    state: TargetState = Field(State.DISABLED, description="Held during each window")
    after: Literal["restore", "enabled", "disabled"] = Field(
        "restore", description="After a window; restore: as each flow was when it began"
    )
    cron: Cron | None = Field(None, description="Window starts, in the rule's zone")
    duration: Duration | None = Field(None, description="Window length, with cron")
    start: Moment | None = Field(None, description="One-off window (no offset: rule's zone)")
    end: Moment | None = Field(None, description="End of the one-off window")
    days: tuple[Weekday, ...] | None = Field(None, min_length=1, description="Weekly form")
    from_: TimeOfDay | None = Field(None, alias="from", description="Weekly window start")
    to: TimeOfDay | None = Field(None, description="Weekly end; to <= from: the next day")
    except_dates: tuple[date, ...] = Field((), description="No window starts on these dates")

    @property
    def form(self) -> Literal["cron", "once", "weekly"]:
        return _form(self, self.FORMS)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _check_form(self) -> MaintenanceRule:
        form = _form(self, self.FORMS)
        if form == "once" and self.except_dates:
            raise _invalid(
                f"rule {self.name!r}: except_dates does not apply to a one-off window",
                "remove except_dates or use cron/days",
            )
        if form == "once" and _comparable(self.start, self.end) and self.end <= self.start:  # type: ignore[operator]
            raise _invalid(f"rule {self.name!r}: end is not after start", "swap start and end")
        return self


def _comparable(first: datetime | None, second: datetime | None) -> bool:
    return (
        first is not None
        and second is not None
        and (first.tzinfo is None) == (second.tzinfo is None)
    )


class AbSwitchRule(_RuleBase):
    """Group `b` on during B windows (`b_cron` + `b_duration`, or alternating halves of
    `every` from `start`), group `a` on otherwise; never both, never neither."""

    FORMS: ClassVar[dict[str, tuple[str, ...]]] = {
        "cron": ("b_cron", "b_duration"),
        "alternate": ("every", "start"),
    }

    a: NonEmptyRefs = Field(description="On outside B windows")
    b: NonEmptyRefs = Field(description="On during B windows")
    b_cron: Cron | None = Field(None, description="B window starts, in the rule's zone")
    b_duration: Duration | None = Field(None, description="B window length, with b_cron")
    every: Duration | None = Field(None, description="Alternate A, B, A, … this long each")
    start: Moment | None = Field(None, description="Where the alternation starts, with A")
    order: Literal["break-before-make", "make-before-break"] = Field(
        "break-before-make", description="Which group is switched first"
    )

    @property
    def form(self) -> Literal["cron", "alternate"]:
        return _form(self, self.FORMS)  # type: ignore[return-value]

    @model_validator(mode="after")
    def _check_form(self) -> AbSwitchRule:
        _form(self, self.FORMS)
        return self


Rule = MaintenanceRule | AbSwitchRule


# -- notifications (SPEC §9) -------------------------------------------------------------

NOTIFY_ON = (
    "change_failed",  # a change failed permanently
    "switch",  # an A/B switch rolled back or is held
    "account_unreachable",  # an account stayed unreachable longer than `after`
    "drift",  # an enforcing rule met drift
    "reload_refused",  # a changed file failed the checks; the old rules stay
    "leadership",  # this process started or stopped scheduling
)


def _notify_on(value: object) -> str:
    if value in NOTIFY_ON:
        return str(value)
    hint = did_you_mean(str(value), NOTIFY_ON) or f"use {', '.join(NOTIFY_ON)}"
    raise _invalid(f"unknown notification {value!r}", hint)


class NotifyTarget(_Model):
    """A webhook (`url_env` names the variable holding its URL, a secret) told of incidents:
    one message when one begins, one when it has been over for `recover_after`."""

    name: str | None = Field(None, min_length=1, description="How logs name it (default: url_env)")
    url_env: EnvName = Field(description=_ENV.format("the webhook URL"))
    format: Literal["slack", "json"] = Field("json", description='Slack {"text"} or generic JSON')
    on: tuple[Annotated[str, BeforeValidator(_notify_on)], ...] = Field(
        NOTIFY_ON, description="Incidents to tell of (default: all)"
    )
    after: Duration = Field(
        timedelta(minutes=5), description="How long an account is unreachable before a message"
    )
    recover_after: Duration = Field(
        timedelta(minutes=5), description="How long an incident is over before 'recovered'"
    )

    @property
    def label(self) -> str:
        return self.name or self.url_env


# -- the whole file --------------------------------------------------------------------


class AccountWildcard(NamedTuple):
    """`account:*`: every flow of one account (known only from the live flow list)."""

    account: str

    def __str__(self) -> str:
        return f"{self.account}:*"


class _Source:
    """The text a configuration came from; positions are indexed only when a problem
    needs one."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text

    @functools.cached_property
    def positions(self) -> PositionIndex:
        return index_positions(self.text)

    def problem(
        self, path: Sequence[str | int], message: str, hint: str | None = None
    ) -> ConfigProblem:
        return ConfigProblem(self.file, *self.positions.locate(path), message, hint)


class Config(_Model):
    """schedules.toml: accounts, flow aliases, maintenance windows and A/B switches."""

    settings: Settings = Settings()
    accounts: dict[str, Account] = Field({}, description="One connection to one platform each")
    flows: dict[str, str] = Field({}, description='Aliases: name = "account:flow_id"')
    maintenance: tuple[MaintenanceRule, ...] = ()
    ab_switch: tuple[AbSwitchRule, ...] = ()
    keys: dict[str, str] = Field({}, description="The app's keys: action = key")
    notify: tuple[NotifyTarget, ...] = Field((), description="Webhooks told of incidents")
    _source: _Source | None = PrivateAttr(None)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, maintenance first, in file order."""
        return (*self.maintenance, *self.ab_switch)

    def zone(self, rule: Rule) -> ZoneInfo:
        """The zone `rule` is evaluated in."""
        return ZoneInfo(rule.timezone or self.settings.timezone)

    def resolve(self, ref: str) -> FlowRef | AccountWildcard:
        """An alias, `account:flow_id` or `account:*` → what it names; UnknownReference
        for an unknown account or alias."""
        return resolve_ref(ref, self.accounts, self.flows)

    @property
    def source_text(self) -> str | None:
        """The text this configuration was parsed from (None when built in code)."""
        return None if self._source is None else self._source.text

    def problem(
        self, path: Sequence[str | int], message: str, hint: str | None = None
    ) -> ConfigProblem:
        """A problem located at `path` (e.g. `("maintenance", 0, "flows", 1)`) of the file
        this configuration was parsed from."""
        if self._source is None:
            return ConfigProblem("<config>", 1, 1, message, hint)
        return self._source.problem(path, message, hint)


def resolve_ref(
    ref: str, accounts: Collection[str], aliases: Mapping[str, str]
) -> FlowRef | AccountWildcard:
    """What `ref` names given the account names and aliases of a file."""
    target = aliases.get(ref, ref)
    account, sep, flow_id = target.partition(":")
    if not sep:
        raise UnknownReference(
            f"unknown flow alias {ref!r}",
            did_you_mean(ref, aliases) or "define it under [flows] or write account:flow_id",
        )
    if account not in accounts:
        raise UnknownReference(
            f"unknown account {account!r} in {ref!r}",
            did_you_mean(account, accounts) or "define it under [accounts]",
        )
    if not flow_id:
        raise UnknownReference(f"{ref!r} names no flow", "write account:flow_id or account:*")
    return AccountWildcard(account) if flow_id == "*" else FlowRef(account, flow_id)


Located = tuple[tuple[str | int, ...], str, str | None]  # path, message, hint


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _raw_refs(raw: dict[str, Any]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every flow reference of every rule, with its path (ill-typed parts skipped)."""
    for kind, groups in (("maintenance", ("flows",)), ("ab_switch", ("a", "b"))):
        rules = raw.get(kind)
        for index, rule in enumerate(rules if isinstance(rules, list) else ()):
            for group in groups:
                refs = _table(rule).get(group)
                for position, ref in enumerate(refs if isinstance(refs, list) else ()):
                    if isinstance(ref, str):
                        yield (kind, index, group, position), ref


def _reference_problems(raw: dict[str, Any]) -> Iterator[Located]:
    """Problems that need the whole file: references, alias names, duplicate rule names.
    Works on the raw data, so they are found even when other keys are invalid."""
    if not isinstance(raw.get("accounts", {}), dict):
        return
    accounts = set(_table(raw.get("accounts")))
    aliases = {k: v for k, v in _table(raw.get("flows")).items() if isinstance(v, str)}
    for alias, target in aliases.items():
        if ":" in alias:
            yield ("flows", alias), f"alias {alias!r} contains ':'", "name aliases without ':'"
        elif target in aliases or ":" not in target:
            message = f"alias {alias!r} must point at account:flow_id, not {target!r}"
            yield ("flows", alias), message, "aliases do not chain"
        else:
            yield from _resolve_problem(("flows", alias), target, accounts, aliases)
    for path, ref in _raw_refs(raw):
        yield from _resolve_problem(path, ref, accounts, aliases)
    seen: set[str] = set()
    for kind in ("maintenance", "ab_switch"):
        rules = raw.get(kind)
        for index, rule in enumerate(rules if isinstance(rules, list) else ()):
            name = _table(rule).get("name")
            if isinstance(name, str) and name in seen:
                message = f"rule name {name!r} is used twice"
                yield (kind, index, "name"), message, "give every rule a unique name"
            if isinstance(name, str):
                seen.add(name)


def _resolve_problem(
    path: tuple[str | int, ...], ref: str, accounts: Collection[str], aliases: Mapping[str, str]
) -> Iterator[Located]:
    try:
        resolve_ref(ref, accounts, aliases)
    except UnknownReference as error:
        yield path, str(error), error.hint


# -- parsing ---------------------------------------------------------------------------

_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def parse_config(text: str, filename: str = "schedules.toml") -> Config:
    """Parse and validate a schedules.toml text; ConfigError lists every problem."""
    config, problems = examine(text, filename)
    if problems:
        raise ConfigError(problems)
    return config


def examine(text: str, filename: str = "schedules.toml") -> tuple[Config, list[ConfigProblem]]:
    """Every problem of one key or reference, sorted by position, and the configuration: the
    whole of it when there is none, else the parts that validate (references that resolve
    only), so that checks across the file (flowtui.checks) still run. ConfigError only for a
    TOML syntax error, the one problem that hides all others."""
    try:
        _refuse_deep_nesting(text, filename)
        raw = tomllib.loads(text)
    except RecursionError:
        _refuse_deep_nesting(text, filename, suspected=True)
        problem = ConfigProblem(filename, 1, 1, "the file nests too deeply to read", DEEP_HINT)
        raise ConfigError([problem]) from None
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOML_AT.search(message)
        line, column = (int(match[1]), int(match[2])) if match else (1, 1)
        if match is None and "end of document" in message:
            line = text.count("\n") + 1
        message = _TOML_AT.sub("", message).replace(" (at end of document)", "")
        raise ConfigError(
            [
                ConfigProblem(
                    filename, line, column, f"TOML syntax: {message}", _syntax_hint(message)
                )
            ]
        ) from None
    source = _Source(filename, text)
    problems = [source.problem(*located) for located in _reference_problems(raw)]
    config = None
    try:
        config = Config.model_validate(raw)
    except ValidationError as error:
        problems.extend(_problems_from(error, raw, source))
    if problems or config is None:
        config = _salvaged(raw)
    config._source = source
    return config, sorted(problems, key=lambda problem: (problem.line, problem.column))


# -- what validates of an invalid file ------------------------------------------------


@functools.cache
def _adapter(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    field = model.model_fields[name]
    annotation: Any = field.annotation
    if field.metadata:  # constraints such as min_length, kept apart from the annotation
        annotation = Annotated[(annotation, *field.metadata)]
    return TypeAdapter(annotation)


def _salvage(model: type[_M], table: object, required: Mapping[str, Any]) -> _M | None:
    """`table` as a `model`: validated when it is valid, else built (unvalidated as a whole)
    from the keys that validate one by one, `required` filling the required ones missing."""
    if not isinstance(table, dict):
        return None
    try:
        return model.model_validate(table)
    except ValidationError:
        pass
    names = {field.alias or name: name for name, field in model.model_fields.items()}
    values = dict(required)
    for key, value in table.items():
        if key in names:
            with contextlib.suppress(ValidationError):
                values[names[key]] = _adapter(model, names[key]).validate_python(value)
    return model.model_construct(**values)


def _salvaged(raw: dict[str, Any]) -> Config:
    """The parts of an invalid file that validate; rules keep their place (an invalid rule
    keeps its valid keys) and only their references that resolve."""
    accounts = {
        name: account
        for name, table in _table(raw.get("accounts")).items()
        if isinstance(table, dict)
        and (account_model := ACCOUNT_KINDS.get(str(table.get("kind"))))
        and (account := _salvage(account_model, table, {})) is not None
    }
    aliases = {
        alias: target
        for alias, target in _table(raw.get("flows")).items()
        if isinstance(target, str) and _resolves(target, accounts, {})
    }
    rules: dict[str, list[Any]] = {}
    forms: tuple[tuple[str, type[_RuleBase], tuple[str, ...]], ...] = (
        ("maintenance", MaintenanceRule, ("flows",)),
        ("ab_switch", AbSwitchRule, ("a", "b")),
    )
    for kind, model, groups in forms:
        tables = raw.get(kind)
        for table in tables if isinstance(tables, list) else ():
            name = _table(table).get("name")
            required: dict[str, Any] = {"name": name if isinstance(name, str) else ""}
            required |= dict.fromkeys(groups, ())
            rule = _salvage(model, table, required) or model.model_construct(**required)
            refs = {
                group: tuple(
                    ref for ref in getattr(rule, group) if _resolves(ref, accounts, aliases)
                )
                for group in groups
            }
            rules.setdefault(kind, []).append(rule.model_copy(update=refs))
    keys = {key: value for key, value in _table(raw.get("keys")).items() if isinstance(value, str)}
    return Config.model_construct(
        settings=_salvage(Settings, raw.get("settings", {}), {}) or Settings(),
        accounts=accounts,
        flows=aliases,
        maintenance=tuple(rules.get("maintenance", ())),
        ab_switch=tuple(rules.get("ab_switch", ())),
        keys=keys,
    )


def _resolves(ref: str, accounts: Collection[str], aliases: Mapping[str, str]) -> bool:
    try:
        resolve_ref(ref, accounts, aliases)
    except UnknownReference:
        return False
    return True


DEEP_HINT = "flowtui's settings nest at most three levels"


def _refuse_deep_nesting(text: str, filename: str, *, suspected: bool = False) -> None:
    """ConfigError at the place where `text` nests deeper than any schedules.toml needs
    (before tomllib, which is slow on very long dotted keys and recursive on arrays)."""
    found = too_deep(text, suspected=suspected)
    if found is not None:
        (line, column), what = found
        problem = ConfigProblem(filename, line, column, what, DEEP_HINT)
        raise ConfigError([problem]) from None


def load_config(path: Path) -> Config:
    """Read and parse `path`; ConfigError (located at 1:1) when it cannot be read."""
    return parse_config(read_config_text(path), str(path))


def read_config_text(path: Path) -> str:
    """The text of `path`; ConfigError (located at 1:1) when it cannot be read."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigError(
            [ConfigProblem(str(path), 1, 1, f"cannot read the file: {reason}", None)]
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            [ConfigProblem(str(path), 1, 1, f"the file is not UTF-8 text ({error.reason})")]
        ) from None
    return text


def _syntax_hint(message: str) -> str | None:
    if "Invalid value" in message:
        return 'strings need quotes, e.g. cron = "0 2 * * SUN"'
    return None


def _data_path(raw: Any, loc: Sequence[str | int]) -> tuple[str | int, ...]:
    """The part of a pydantic error location that exists in the TOML data (union tags and
    missing keys dropped)."""
    path: list[str | int] = []
    current = raw
    for part in loc:
        in_table = isinstance(current, dict) and part in current
        in_array = isinstance(current, list) and isinstance(part, int) and part < len(current)
        if in_table or in_array:
            current = current[part]
            path.append(part)
    return tuple(path)


def _known_keys(raw: Any, path: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the table at `path` (for "did you mean")."""
    model: type[BaseModel] = Config
    if path[:1] == ("settings",):
        model = Settings
    elif path[:1] == ("accounts",) and len(path) >= 2:
        kind = (
            raw["accounts"][path[1]].get("kind")
            if isinstance(raw["accounts"][path[1]], dict)
            else None
        )
        model = ACCOUNT_KINDS.get(kind, DigaAccount)  # type: ignore[arg-type]
    elif path[:1] == ("maintenance",):
        model = MaintenanceRule
    elif path[:1] == ("ab_switch",):
        model = AbSwitchRule
    elif path[:1] == ("notify",):
        model = NotifyTarget
    return [field.alias or name for name, field in model.model_fields.items()]


def _problems_from(
    error: ValidationError, raw: dict[str, Any], source: _Source
) -> Iterator[ConfigProblem]:
    for detail in error.errors():
        loc = detail["loc"]
        path = _data_path(raw, loc)
        key = next((part for part in reversed(path) if isinstance(part, str)), None)
        kind = detail["type"]
        hint = None
        if kind == "flowtui":
            message, hint = detail["ctx"]["message"], detail["ctx"]["hint"]
        elif kind == "missing":
            message = f"missing required key {loc[-1]!r}"
            if path[:1] == ("accounts",) and len(path) == 2:
                message += f" in account {path[1]!r}"
        elif kind == "extra_forbidden":
            unknown = str(loc[-1])
            if unknown in SECRET_KEYS or unknown.endswith(("_token", "_secret", "_password")):
                message, hint = f"inline secret {unknown!r} is not allowed", SECRET_HINT
            else:
                message = f"unknown key {unknown!r}"
                hint = did_you_mean(unknown, _known_keys(raw, path[:-1]))
        elif kind in ("union_tag_not_found", "union_tag_invalid"):
            message = (
                f"account {path[-1]!r} has no kind"
                if kind == "union_tag_not_found"
                else f"unknown account kind {detail['input'].get('kind')!r}"
            )
            hint = 'kind = "diga", "gassapi", "runflow" or "bitrix24"'
            path = (*path, "kind") if kind == "union_tag_invalid" else path
        elif kind == "too_short":
            message = f"{key} needs at least {detail['ctx']['min_length']} item(s)"
        else:
            message = detail["msg"].removeprefix("Value error, ")
            message = f"{key}: {message}" if key else message
        yield source.problem(path, message, hint)
