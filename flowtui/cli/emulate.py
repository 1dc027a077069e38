"""`flowtui emulate`: run the emulator of the four platforms alone, until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from flowtui.cli.context import EXIT_USAGE, fail

if TYPE_CHECKING:
    from flowtui.emulator.server import RunningEmulator

SAMPLE_FLOWS = 5


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--flows",
    type=click.IntRange(0, 100_000),
    default=20,
    show_default=True,
    help="Flows per platform.",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Seed of the sample data (same seed, same flows).",
)
@click.option(
    "--token",
    default=None,
    help="Credential every platform accepts (default: a random one, printed).",
)
def emulate(host: str, port: int, flows: int, seed: int, token: str | None) -> None:
    """Serve Diga, GASSAPI, Runflow and Bitrix24 stand-ins on HOST:PORT until Ctrl-C."""
    from flowtui.emulator.admin_client import EmulatorAdmin
    from flowtui.emulator.config import EmulatorConfig
    from flowtui.emulator.server import run_in_thread

    fields: dict[str, Any] = {"flows": flows, "seed": seed}
    if token is not None:
        if not token or "/" in token or not token.isprintable() or " " in token:
            fail("--token must be non-empty, without spaces or '/'", EXIT_USAGE)
        fields["token"] = token
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with run_in_thread(EmulatorConfig(**fields), host=host, port=port) as running:
            admin = EmulatorAdmin(running.base_url)
            try:
                state = admin.state()
            finally:
                admin.close()
            click.echo(describe(running, state))
            click.echo("Press Ctrl-C to stop.")
            while not stop.wait(0.5):
                pass
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}", EXIT_USAGE)
    except KeyboardInterrupt:
        pass
    click.echo("emulator stopped")


def describe(running: RunningEmulator, state: dict[str, Any]) -> str:
    """What a person needs to point a client at each platform."""
    config = running.config
    diga = state["diga"]["flows"][:SAMPLE_FLOWS]
    projects = [p for p in state["gassapi"]["projects"] if p["member"]]
    gass_flows = state["gassapi"]["flows"]
    runflow = state["runflow"]["flows"][:SAMPLE_FLOWS]
    bitrix = state["bitrix24"]["flows"][:SAMPLE_FLOWS]

    def project_line(project: dict[str, Any]) -> str:
        count = sum(1 for f in gass_flows if f["project_id"] == project["id"])
        return f"{project['id']} ({count} flows)"

    lines = [
        f"flowtui emulator on {running.base_url} "
        f"({config.flows} flows per platform, seed {config.seed})",
        "",
        "diga",
        f"  base_url        {running.diga_url}",
        f"  api key         {running.token}",
        "  flows           "
        + ", ".join(
            f"{f['id']} ({f['status']}{'' if f['published'] else ', never published'})"
            for f in diga
        ),
        "gassapi",
        f"  base_url        {running.gassapi_url}",
        f"  access token    {running.token}  (valid {config.gassapi_token_ttl_s:g} s from start)",
        f"  refresh token   {running.gassapi_refresh_token}",
        f"  login           {running.gassapi_email} / {running.gassapi_password}",
        f"  projects        {', '.join(project_line(p) for p in projects)}",
        "  flows           "
        + ", ".join(f"{f['id']} ({'on' if f['is_active'] else 'off'})" for f in gass_flows[:5]),
        "runflow",
        f"  base_url        {running.runflow_url}",
        f"  api key         {running.token}",
        f"  organization    {running.runflow_org_id}",
        "  flows           " + ", ".join(f"{f['id']} ({f['status_code']})" for f in runflow),
        "bitrix24",
        f"  webhook url     {running.bitrix24_webhook_url}",
        f"  oauth portal    {running.bitrix24_url}/rest/  (access token: {running.token})",
        f"  oauth renewal   {running.bitrix24_oauth_url}  client_id={running.bitrix24_client_id}",
        f"                  client_secret={running.bitrix24_client_secret}",
        f"                  refresh_token={running.bitrix24_refresh_token}",
        "  flow ids        "
        + ", ".join(f"{f['id']} ({'on' if f['active'] else 'off'})" for f in bitrix),
        "",
        f"admin API       {running.base_url}/_emulator/ (reset, state, requests, faults)",
    ]
    return "\n".join(lines)
