"""`flowtui audit`: the audit log, newest first, as a table or JSON lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from flowtui import typed_time
from flowtui.cli.context import CliContext, fail
from flowtui.cli.store_access import open_readable, target_of
from flowtui.config import AccountWildcard, ConfigError, UnknownReference, load_config
from flowtui.model import FlowRef
from flowtui.store import AuditRecord, StoreError

JSON_HELP = (
    "With --json: one JSON object per record and line, newest first, fields id, event_type "
    "(intent | outcome | drift | override | …), intent_id, account, flow_id, old_status, "
    "new_status, changed_by, timestamp (UTC ISO 8601), result, error, reason."
)


def parse_ref(cli: CliContext, text: str, *, known: bool = False) -> FlowRef:
    """An alias (when the config can be read) or account:flow_id; exits 2 otherwise.
    With `known`, the account must be one the readable config defines."""
    try:
        target = load_config(cli.resolved_config_path()).resolve(text)
    except UnknownReference as exc:
        if known:
            fail(f"{exc} ({exc.hint})" if exc.hint else str(exc))
        target = None
    except ConfigError:
        target = None
    if target is None:
        try:
            return FlowRef.parse(text)
        except ValueError as exc:
            fail(str(exc))
    if isinstance(target, AccountWildcard):
        fail(f"{text} names every flow of an account; name one flow (account:flow_id)")
    return target


def parse_since(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """A duration back from now (`1d`, `2h`) or a time (without an offset, in `zone`)."""
    try:
        return typed_time.since(text, now, zone)
    except ValueError as exc:
        fail(f"--since {exc}")


def _table(records: list[AuditRecord]) -> list[str]:
    header = ("TIME (UTC)", "EVENT", "FLOW", "CHANGE", "RESULT", "BY", "REASON / ERROR")
    rows = [header]
    for record in records:
        change = f"{record.old_status or '-'} → {record.new_status or '-'}"
        note = record.reason or ""
        if record.error:
            note = f"{note}: {record.error}" if note else record.error
        rows.append(
            (
                record.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                record.event_type,
                str(record.flow),
                change,
                record.result or "-",
                record.changed_by,
                note,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    ]


@click.command(help=f"Show the audit log, newest first. {JSON_HELP}")
@click.option("--since", metavar="T", help="Only records since T: a duration back (1d) or a time.")
@click.option("--flow", "flow_text", metavar="REF", help="Only this flow (account:id or alias).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option("--json", "as_json", is_flag=True, help="JSON lines on stdout.")
@click.pass_obj
def audit(
    cli: CliContext, since: str | None, flow_text: str | None, limit: int | None, as_json: bool
) -> None:
    target = target_of(cli)
    start = parse_since(since, datetime.now(UTC), cli.zone()) if since else None
    flow = parse_ref(cli, flow_text) if flow_text else None
    store = open_readable(target)
    if store is None:
        if not as_json:
            click.echo(f"no audit log yet in {target.describe()}")
        return
    try:
        records = store.audit(since=start, flow=flow, limit=limit)
    except StoreError as exc:
        fail(str(exc))
    finally:
        store.close()
    damaged = [record.id for record in records if record.damaged]
    if as_json:
        for record in records:
            click.echo(json.dumps(record.as_json()))
    elif records:
        click.echo("\n".join(_table(records)))
    else:
        click.echo("no audit records match")
    if damaged:
        ids = ", ".join(str(i) for i in damaged[:10]) + (" …" if len(damaged) > 10 else "")
        click.echo(
            f"flowtui: warning: {len(damaged)} damaged audit row(s) (id {ids}): text that is"
            " not valid UTF-8 or a bad time, shown with � or as 1970-01-01",
            err=True,
        )
