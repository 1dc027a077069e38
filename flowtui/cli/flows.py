"""`flowtui ls`, `enable`, `disable`, `toggle`, `publish`, `create`: one-off work on flows.

Every change goes through converge semantics (see flowtui.providers) and is written to the
audit log before (intent) and after (outcome) it happens.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from flowtui.changes import (
    converge_audited,
    create_audited,
    desired_state,
    publish_audited,
    read_flows,
)
from flowtui.cli.context import EXIT_CHANGE_FAILED, EXIT_OK, EXIT_USAGE, CliContext, fail
from flowtui.cli.store_access import open_writable, target_of
from flowtui.config import AccountWildcard, Config, ConfigError, UnknownReference, load_config
from flowtui.model import FlowRef, State
from flowtui.providers.base import (
    Flow,
    Outcome,
    Provider,
    ProviderError,
    account_message,
    outcome_summary,
    unknown_reason,
)
from flowtui.providers.clients import AccountClients
from flowtui.providers.redaction import redact
from flowtui.providers.registry import Environment
from flowtui.store import Store, StoreError, StoreTarget

JSON_HELP = (
    "With --json: one JSON object per flow and line, fields ref, account, flow_id, action, "
    "desired, outcome (changed | already | failed | would_change | published), state "
    "(verified state after the change), error (one line or null), permanent (true when "
    "retrying later will not help; null without error)."
)
LS_JSON_HELP = (
    "With --json: one JSON object per flow and line, fields ref, account, kind, flow_id, "
    "name, state, updated (ISO 8601 or null), error (null unless the flow could not be read)."
)


@dataclass(frozen=True)
class Row:
    """One line of output for one flow."""

    ref: FlowRef
    action: str
    outcome: str
    state: State
    desired: State | None = None
    error: ProviderError | None = None
    before: State | None = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    def text(self) -> str:
        if self.error is not None:
            return f"{self.ref}  failed: {self.error}"
        if self.outcome == "would_change":
            if self.desired is None:
                return f"{self.ref}  would {self.action}"
            return f"{self.ref}  would change: {self.before} → {self.desired}"
        if self.outcome == "already":
            done = "published" if self.action == "publish" else self.state
            return f"{self.ref}  already {done}"
        return f"{self.ref}  {self.outcome}: now {self.state}"

    def as_json(self) -> dict[str, Any]:
        return {
            "ref": str(self.ref),
            "account": self.ref.account,
            "flow_id": self.ref.flow_id,
            "action": self.action,
            "desired": self.desired,
            "outcome": self.outcome,
            "state": self.state,
            "error": None if self.error is None else str(self.error),
            "permanent": None if self.error is None else self.error.permanent,
        }


class Session:
    """The loaded config, the providers built so far, the audit store; closes them all."""

    def __init__(self, obj: CliContext) -> None:
        self.obj = obj
        try:
            self.config: Config = load_config(obj.resolved_config_path())
        except ConfigError as exc:
            fail(str(exc))
        self.state_dir: Path = obj.resolved_state_dir(self.config.settings.state_dir)
        env = Environment(
            state_dir=self.state_dir,
            max_response=self.config.settings.max_response,
            state_url=target_of(obj, self.config).url,  # team mode: shared rotated tokens
        )
        self.clients = AccountClients(env, self.config.accounts)
        self.providers: dict[str, Provider] = {}  # the accounts this command uses

    def refuse_if_read_only(self) -> None:
        if self.config.settings.read_only:
            fail("read-only mode (settings.read_only = true): no change made", EXIT_USAGE)

    def connect(self, account: str) -> Provider:
        """The provider of a configured `account`; MissingSecret names a missing variable."""
        if account not in self.providers:
            self.providers[account] = self.clients.get(account)
        return self.providers[account]

    def provider(self, account: str) -> Provider:
        """The provider of `account`; exits 2 for an unknown account or a missing secret."""
        if account not in self.config.accounts:
            fail(f"unknown account {account!r}")
        try:
            return self.connect(account)
        except ProviderError as exc:
            fail(str(exc))

    async def aclose(self) -> None:
        await self.clients.aclose()

    def run(self, work: Callable[[], Awaitable[int]]) -> int:
        async def guarded() -> int:
            try:
                return await work()
            finally:
                await self.aclose()

        return asyncio.run(guarded())


class StderrHandler(logging.Handler):
    """Provider warnings (e.g. a possibly truncated list) as one line on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"flowtui: {record.levelname.lower()}: {redact(record.getMessage())}", err=True)


def resolve(session: Session, texts: Iterable[str]) -> tuple[list[FlowRef], list[str]]:
    """Refs and aliases → flow refs; `account:*` → accounts to expand. Exits 2 when unknown."""
    refs: list[FlowRef] = []
    wildcards: list[str] = []
    for text in texts:
        try:
            target = session.config.resolve(text)
        except UnknownReference as exc:
            fail(f"{exc} ({exc.hint})" if exc.hint else str(exc))
        if isinstance(target, AccountWildcard):
            wildcards.append(target.account)
        else:
            refs.append(target)
        session.provider(target.account)
    return refs, wildcards


async def list_accounts(session: Session, names: Sequence[str]) -> tuple[list[Flow], int]:
    """Flows of each account; an account that cannot be listed is one line on stderr and
    exit code 1, and stops nothing else."""
    answers = await asyncio.gather(
        *(session.provider(n).list_flows() for n in names), return_exceptions=True
    )
    flows: list[Flow] = []
    code = EXIT_OK
    for name, answer in zip(names, answers, strict=True):
        if isinstance(answer, ProviderError):
            click.echo(f"flowtui: error: {account_message(name, answer)}", err=True)
            code = EXIT_CHANGE_FAILED
        elif isinstance(answer, BaseException):
            raise answer
        else:
            flows.extend(answer)
    return flows, code


@dataclass(frozen=True)
class Targets:
    """The flows a command works on; `listed` holds those just read by a listing."""

    refs: list[FlowRef]
    listed: dict[FlowRef, Flow]
    code: int


async def expand(session: Session, refs: list[FlowRef], wildcards: list[str]) -> Targets:
    """Every flow of each wildcard account, then the named refs, without duplicates."""
    flows, code = await list_accounts(session, wildcards)
    listed = {flow.ref: flow for flow in flows if flow.state is not State.UNKNOWN}
    return Targets(list(dict.fromkeys([flow.ref for flow in flows] + refs)), listed, code)


async def read(session: Session, refs: Sequence[FlowRef]) -> dict[FlowRef, Flow | ProviderError]:
    """Current state of `refs`, batched per account."""
    for ref in refs:
        session.provider(ref.account)
    return await read_flows(session.providers, refs)


def emit(rows: Sequence[Row], as_json: bool) -> int:
    """One line per flow; after several, one line of counts (`changed 3, already 5, failed
    1`), so that the end of a long run says how it went."""
    lines = [json.dumps(row.as_json()) if as_json else row.text() for row in rows]
    if len(rows) > 1 and not as_json:
        lines.append(outcome_summary(row.outcome for row in rows))
    if lines:  # one write: a flush per line cost a system call per flow
        click.echo("\n".join(lines))
    return EXIT_CHANGE_FAILED if any(row.failed for row in rows) else EXIT_OK


def progress(total: int, as_json: bool, label: str) -> AbstractContextManager[Any]:
    """A progress bar on stderr when it is a terminal and output is not JSON."""
    if as_json or total < 2 or not sys.stderr.isatty():
        return nullcontext(None)
    return click.progressbar(length=total, label=label, file=sys.stderr)


class Audit:
    """The audit store and the author of this command's changes (`cli:<user>`)."""

    def __init__(self, target: StoreTarget) -> None:
        self.store = open_writable(target, "; no change made")
        self.changed_by = f"cli:{getpass.getuser()}"

    def offer_overrides(self, config: Config, changed: Mapping[FlowRef, State], ask: bool) -> None:
        """Flows a rule governs would be set back by the scheduler: offer to pin them."""
        if not (config.maintenance or config.ab_switch):
            return  # nothing governs them (and the rules engine need not be imported)
        from flowtui.cli.governed import conflicts, offer_overrides

        now = datetime.now(UTC)
        try:
            found = conflicts(config, self.store, changed, now)
            offer_overrides(
                found,
                self.store,
                ask=ask and sys.stdin.isatty(),
                changed_by=self.changed_by,
                now=now,
            )
        except StoreError as exc:
            click.echo(f"flowtui: warning: {exc}", err=True)

    def close(self) -> None:
        self.store.close()


def utc_now() -> datetime:
    return datetime.now(UTC)


async def change(
    session: Session,
    action: str,
    refs: Sequence[FlowRef],
    dry_run: bool,
    yes: bool,
    as_json: bool,
    listed: Mapping[FlowRef, Flow] | None = None,
) -> list[Row]:
    """Read, plan, confirm, audit and converge `refs`; one row per flow. Flows in `listed`
    were just read by the listing that found them and are not read again."""
    listed = listed or {}
    current: dict[FlowRef, Flow | ProviderError] = {
        **listed,
        **await read(session, [ref for ref in refs if ref not in listed]),
    }
    rows: dict[FlowRef, Row] = {}
    plan: dict[FlowRef, State] = {}
    for ref in refs:
        now = current[ref]
        if isinstance(now, ProviderError):  # already retried: report, do not try to change
            rows[ref] = Row(ref, action, "failed", State.UNKNOWN, error=now)
            continue
        wanted = desired_state(action, now)
        if isinstance(wanted, ProviderError):
            rows[ref] = Row(ref, action, "failed", now.state, error=wanted)
        elif now.state == wanted:  # converge: change only what differs
            rows[ref] = Row(ref, action, "already", now.state, wanted)
        elif dry_run:
            rows[ref] = Row(ref, action, "would_change", now.state, wanted, before=now.state)
        else:
            plan[ref] = wanted
    asked = bool(plan) and not yes and session.config.settings.confirm and sys.stdin.isatty()
    if asked:
        click.confirm(f"{action} {len(plan)} of {len(refs)} flow(s)?", abort=True, err=True)
    # the reads are fresh unless a person took their time to answer: then read again
    known = {} if asked else {ref: flow for ref, flow in current.items() if isinstance(flow, Flow)}
    if not plan:
        return [rows[ref] for ref in refs]
    audit = Audit(target_of(session.obj, session.config))
    try:
        with progress(len(plan), as_json, action) as bar:
            results = await converge_audited(
                audit.store,
                session.providers,
                plan,
                {ref: _state_of(current[ref]) for ref in plan},
                changed_by=audit.changed_by,
                clock=utc_now,
                on_result=(lambda _: bar.update(1)) if bar else None,
                known=known,
            )
        for result in results:
            rows[result.ref] = Row(
                result.ref,
                action,
                result.outcome.value,
                result.state,
                result.desired,
                error=result.error,
            )
        changed = {r.ref: r.state for r in results if r.outcome is Outcome.CHANGED}
        if changed:
            audit.offer_overrides(session.config, changed, ask=not yes and not as_json)
    except StoreError as exc:  # an intent could not be written: nothing was sent
        fail(f"{exc}; no change made")
    finally:
        audit.close()
    return [rows[ref] for ref in refs]


async def publish(session: Session, refs: Sequence[FlowRef]) -> list[Row]:
    """Publish what is not published yet: on a platform with a publish step, a flow that
    is enabled, or that flowtui published before (the platform does not say), is `already
    published`; elsewhere publishing fails with the reason."""
    current = await read(session, refs)
    audit = Audit(target_of(session.obj, session.config))
    rows: dict[FlowRef, Row] = {}
    try:
        for ref, found in current.items():
            if isinstance(found, ProviderError):
                rows[ref] = Row(ref, "publish", "failed", State.UNKNOWN, error=found)
            elif session.provider(ref.account).can_publish and (
                found.state is State.ENABLED or was_published(audit.store, ref)
            ):
                rows[ref] = Row(ref, "publish", "already", found.state)
        todo = [ref for ref in refs if ref not in rows]
        published = (
            await publish_audited(
                audit.store,
                {ref.account: session.provider(ref.account) for ref in todo},
                todo,
                changed_by=audit.changed_by,
                clock=lambda: datetime.now(UTC),
            )
            if todo
            else {}
        )
    except StoreError as exc:
        fail(f"{exc}; no change made")
    finally:
        audit.close()
    for ref, answer in published.items():
        rows[ref] = (
            Row(ref, "publish", "failed", State.UNKNOWN, error=answer)
            if isinstance(answer, ProviderError)
            else Row(ref, "publish", "published", answer.state)
        )
    return [rows[ref] for ref in refs]


def was_published(store: Store, ref: FlowRef) -> bool:
    return any(record.result == "published" for record in store.audit(flow=ref, limit=50))


def _state_of(found: Flow | ProviderError) -> State | None:
    return found.state if isinstance(found, Flow) else None


def change_command(action: str, summary: str) -> click.Command:
    """enable / disable / toggle / publish share their arguments and flow."""

    @click.command(
        action,
        help=f"{summary}\n\nREF is account:flow_id, an alias from [flows], "
        f"or account:* for every flow of an account. {JSON_HELP}",
    )
    @click.argument("refs", nargs=-1, required=True, metavar="REF...")
    @click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout.")
    @click.pass_obj
    def command(
        obj: CliContext, refs: tuple[str, ...], dry_run: bool, yes: bool, as_json: bool
    ) -> None:
        session = Session(obj)
        if not dry_run:
            session.refuse_if_read_only()

        async def work() -> int:
            targets = await expand(session, *resolve(session, refs))
            if action == "publish":
                if dry_run:
                    rows = [Row(r, action, "would_change", State.UNKNOWN) for r in targets.refs]
                else:
                    rows = await publish(session, targets.refs)
            else:
                rows = await change(
                    session, action, targets.refs, dry_run, yes, as_json, targets.listed
                )
            return max(emit(rows, as_json), targets.code)

        raise SystemExit(run_safely(session, work))

    return command


def run_safely(session: Session, work: Callable[[], Awaitable[int]]) -> int:
    """Run `work`; a provider failure outside a per-flow result is one line, exit 1."""
    try:
        return session.run(work)
    except ProviderError as exc:
        fail(str(exc), EXIT_CHANGE_FAILED)


enable = change_command("enable", "Enable flows (converge: change only what differs, verify).")
disable = change_command("disable", "Disable flows (converge: change only what differs, verify).")
toggle = change_command("toggle", "Switch each flow to the opposite of its current state.")
publish_command = change_command("publish", "Publish flows (Diga), so that they can be enabled.")


@click.command("ls", help=f"List flows and their live state. {LS_JSON_HELP}")
@click.option("--account", "accounts", multiple=True, help="Only this account (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout.")
@click.pass_obj
def ls(obj: CliContext, accounts: tuple[str, ...], as_json: bool) -> None:
    session = Session(obj)
    names = list(accounts) or list(session.config.accounts)
    unknown = [name for name in names if name not in session.config.accounts]
    if unknown:
        fail(f"unknown account {unknown[0]!r}")
    usable, code = [], EXIT_OK
    for name in names:  # a missing secret spoils that account only
        try:
            session.connect(name)
            usable.append(name)
        except ProviderError as exc:
            click.echo(f"flowtui: error: {exc}", err=True)
            code = EXIT_USAGE

    async def work() -> int:
        flows, listing = await list_accounts(session, usable)
        print_flows([(flow, session.providers[flow.ref.account].kind) for flow in flows], as_json)
        return max(code, listing)

    raise SystemExit(run_safely(session, work))


def print_flows(rows: Sequence[tuple[Flow, str]], as_json: bool) -> None:
    if as_json:
        for flow, kind in rows:
            record = {
                "ref": str(flow.ref),
                "account": flow.ref.account,
                "kind": kind,
                "flow_id": flow.ref.flow_id,
                "name": flow.name,
                "state": flow.state,
                "updated": flow.updated.isoformat() if flow.updated else None,
                "error": unknown_reason(flow),
            }
            click.echo(json.dumps(record))
        return
    table = [("FLOW", "STATE", "NAME", "UPDATED")] + [
        (
            str(flow.ref),
            f"unknown: {unknown_reason(flow)}" if flow.state is State.UNKNOWN else str(flow.state),
            flow.name,
            flow.updated.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if flow.updated else "-",
        )
        for flow, _ in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo(redact("  ".join([*cells, row[3]])))


@click.command("create", help="Create a flow on ACCOUNT (Diga: a draft to publish later).")
@click.argument("account")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: ref, name, state.")
@click.pass_obj
def create(obj: CliContext, account: str, name: str, as_json: bool) -> None:
    session = Session(obj)
    session.refuse_if_read_only()
    provider = session.provider(account)
    if not provider.can_create:
        fail(f"account {account} ({provider.kind}) cannot create flows from flowtui")

    async def work() -> int:
        audit = Audit(target_of(session.obj, session.config))
        try:
            flow = await create_audited(
                audit.store, provider, name, changed_by=audit.changed_by, clock=utc_now
            )
        except StoreError as exc:
            fail(f"{exc}; nothing created")
        finally:
            audit.close()
        if as_json:
            click.echo(json.dumps({"ref": str(flow.ref), "name": flow.name, "state": flow.state}))
        else:
            click.echo(f"{flow.ref}  created: {flow.name!r} ({flow.state})")
        return EXIT_OK

    raise SystemExit(run_safely(session, work))


COMMANDS = (ls, enable, disable, toggle, publish_command, create)
