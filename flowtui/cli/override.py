"""`flowtui override`: pin flows to a state (or skip them) until a time; beats every rule."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from flowtui import typed_time
from flowtui.changes import read_flows
from flowtui.cli.audit import parse_ref
from flowtui.cli.context import CliContext, fail
from flowtui.cli.store_access import open_writable, target_of
from flowtui.config import Bitrix24Account, Config, ConfigError, load_config
from flowtui.model import FlowRef
from flowtui.providers.base import NotFound
from flowtui.providers.clients import AccountClients
from flowtui.providers.registry import Environment
from flowtui.store import SKIP, AuditRecord, OverrideRecord, Store, StoreError, StoreTarget


def parse_until(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A duration from now (`2h`) or a time (without an offset, in `zone`)."""
    try:
        return typed_time.until(text, now, zone)
    except ValueError as exc:
        fail(f"--until {exc}")


@click.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option(
    "--state",
    type=click.Choice(["enabled", "disabled", SKIP]),
    help="Pin to this state; skip: the scheduler does not touch the flow.",
)
@click.option("--until", metavar="T", help="End of the pin: a duration (2h) or a time.")
@click.option("--clear", is_flag=True, help="Remove the overrides of REF... instead.")
@click.pass_obj
def override(
    cli: CliContext, refs: tuple[str, ...], state: str | None, until: str | None, clear: bool
) -> None:
    """Pin flows for a while: the scheduler keeps them at --state until --until, whatever
    the rules say. An override always has an end. `--clear` removes it early."""
    if clear and (state or until):
        fail("--clear takes no --state or --until")
    if not clear and not (state and until):
        fail("give --state and --until (an override always has an end), or --clear")
    flows = [parse_ref(cli, text, known=True) for text in refs]
    now = datetime.now(UTC)
    end = None if clear else parse_until(until or "", now, cli.zone())
    who = f"cli:{getpass.getuser()}"
    target = target_of(cli)
    if not clear:
        _refuse_unknown_flows(cli, flows, target)
    store = open_writable(target)
    try:
        for flow in flows:
            click.echo(_apply(store, flow, state, end, who, now))
    except StoreError as exc:
        fail(str(exc))
    finally:
        store.close()


def _refuse_unknown_flows(cli: CliContext, flows: Sequence[FlowRef], target: StoreTarget) -> None:
    """Exit 2 (nothing pinned) when a flow is not one its account has: not among a
    Bitrix24 account's flow_ids, or reported missing by an account that could be read. A
    pin on it would fail every scheduler pass. Accounts that cannot be read are trusted."""
    try:
        config = load_config(cli.resolved_config_path())
    except ConfigError:
        return
    missing = [flow for flow in flows if _unlisted(config, flow)]
    accounts = {flow.account: config.accounts[flow.account] for flow in flows}
    clients = AccountClients(
        Environment(state_dir=target.state_dir, state_url=target.url), accounts
    )
    providers = clients.providers
    readable = [flow for flow in flows if flow.account in providers and flow not in missing]
    if readable:
        found = asyncio.run(_read(clients, readable))
        missing += [flow for flow in readable if isinstance(found.get(flow), NotFound)]
    if missing:
        names = ", ".join(map(str, missing))
        fail(f"no such flow: {names} (its account does not have it; nothing pinned)")


def _unlisted(config: Config, flow: FlowRef) -> bool:
    account = config.accounts.get(flow.account)
    return isinstance(account, Bitrix24Account) and flow.flow_id not in {
        str(flow_id) for flow_id in account.flow_ids
    }


async def _read(clients: AccountClients, flows: list[FlowRef]) -> dict[FlowRef, object]:
    try:
        return dict(await read_flows(clients.providers, flows))
    finally:
        await clients.aclose()


def _apply(
    store: Store,
    flow: FlowRef,
    state: str | None,
    until: datetime | None,
    who: str,
    now: datetime,
) -> str:
    """Set or clear one override, audit it, and say what was done."""
    if until is None or state is None:
        removed = store.clear_override(flow)
        reason = "override cleared" if removed else "no override to clear"
        if removed:
            store.record_event(AuditRecord("override", flow, who, now, reason=reason))
        return f"{flow}  {reason}"
    store.set_override(OverrideRecord(flow, state, until, who, now))
    reason = f"override {state} until {until.isoformat()}"
    store.record_event(AuditRecord("override", flow, who, now, new_status=state, reason=reason))
    pinned = "skipped by the scheduler" if state == SKIP else f"pinned {state}"
    return f"{flow}  {pinned} until {until:%Y-%m-%d %H:%M:%S} UTC"
