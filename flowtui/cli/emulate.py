"""`flowtui emulate`: run the emulator of the four platforms alone, until Ctrl-C."""

from __future__ import annotations

import shlex
import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from flowtui.cli.context import EXIT_USAGE, fail

if TYPE_CHECKING:
    from flowtui.emulator.server import RunningEmulator

SAMPLE_FLOWS = 5
LIFTED = 10**9  # a Bitrix24 bucket that never fills: the limit is off


def parse_limit(text: str, option: str) -> tuple[float, int] | None:
    """`RATE/BURST` (requests per second, requests at once) or `off` → None."""
    if text.strip().lower() == "off":
        return None
    rate_text, _, burst_text = text.partition("/")
    try:
        rate, burst = float(rate_text), int(burst_text)
    except ValueError:
        fail(f"{option} must be RATE/BURST (e.g. 2/50) or off, not {text!r}", EXIT_USAGE)
    if not (rate > 0 and burst >= 1):
        fail(f"{option} needs a rate above 0 and a burst of at least 1", EXIT_USAGE)
    return rate, burst


def limit_fields(runflow: str, retry_after: str, bitrix24: str) -> dict[str, Any]:
    """EmulatorConfig fields for the documented rate limits asked on the command line."""
    fields: dict[str, Any] = {}
    runflow_limit = parse_limit(runflow, "--runflow-limit")
    if runflow_limit is not None:
        fields["runflow_rate_per_s"], fields["runflow_burst"] = runflow_limit
    if retry_after.strip().lower() == "none":
        fields["runflow_retry_after_s"] = None
    elif retry_after.isdigit():
        fields["runflow_retry_after_s"] = int(retry_after)
    else:
        fail(f"--runflow-retry-after must be whole seconds or none, not {retry_after!r}")
    bucket = parse_limit(bitrix24, "--bitrix24-limit")
    drain, threshold = (LIFTED, LIFTED) if bucket is None else bucket
    fields["bitrix24_drain_per_s"], fields["bitrix24_threshold"] = drain, threshold
    return fields


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
@click.option(
    "--latency",
    type=click.FloatRange(0, 60_000),
    default=0,
    show_default=True,
    help="Milliseconds added to every platform request (benchmarks use 50).",
)
@click.option(
    "--runflow-limit",
    default="off",
    show_default=True,
    help="Runflow's per-organisation rate limit as RATE/BURST (e.g. 10/20): over it, "
    "429 RATE_LIMITED.",
)
@click.option(
    "--runflow-retry-after",
    default="1",
    show_default=True,
    help="Seconds sent in Retry-After with Runflow's 429, or none (the current docs: no header).",
)
@click.option(
    "--bitrix24-limit",
    default="2/50",
    show_default=True,
    help="Bitrix24's leaky bucket as DRAIN/THRESHOLD (Enterprise: 5/250), or off: over it, "
    "503 QUERY_LIMIT_EXCEEDED.",
)
def emulate(
    host: str,
    port: int,
    flows: int,
    seed: int,
    token: str | None,
    latency: float,
    runflow_limit: str,
    runflow_retry_after: str,
    bitrix24_limit: str,
) -> None:
    """Serve Diga, GASSAPI, Runflow and Bitrix24 stand-ins on HOST:PORT until Ctrl-C."""
    from flowtui.emulator.admin_client import EmulatorAdmin
    from flowtui.emulator.config import EmulatorConfig
    from flowtui.emulator.server import run_in_thread

    fields: dict[str, Any] = {"flows": flows, "seed": seed, "latency_ms": latency}
    fields |= limit_fields(runflow_limit, runflow_retry_after, bitrix24_limit)
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
            click.echo("")
            click.echo(exports(running))
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

    runflow_limit = (
        "off"
        if config.runflow_rate_per_s is None
        else f"{config.runflow_rate_per_s:g} req/s, burst {config.runflow_burst}, Retry-After "
        + ("none" if config.runflow_retry_after_s is None else f"{config.runflow_retry_after_s} s")
    )
    bitrix_limit = (
        "off"
        if config.bitrix24_threshold >= LIFTED
        else f"{config.bitrix24_drain_per_s:g} req/s, burst {config.bitrix24_threshold}"
    )
    lines = [
        f"flowtui emulator on {running.base_url} "
        f"({config.flows} flows per platform, seed {config.seed})",
        f"latency {config.latency_ms:g} ms a request; rate limits: runflow {runflow_limit}; "
        f"bitrix24 {bitrix_limit}",
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


def exports(running: RunningEmulator) -> str:
    """Ready-to-paste `export` lines for every variable the example schedules.toml reads."""
    values = {
        "DIGA_API_KEY": running.token,
        "GASS_TOKEN": running.token,
        "GASS_REFRESH_TOKEN": running.gassapi_refresh_token,
        "RUNFLOW_API_KEY": running.token,
        "B24_WEBHOOK_URL": running.bitrix24_webhook_url,
    }
    lines = ["# for the example schedules.toml (paste into your shell):"]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    return "\n".join(lines)
