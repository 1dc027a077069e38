"""What a person meets on the command line every day: a summary after bulk changes,
`already published`, the reason of every unknown flow, a dead host named and given up on
within the account's timeout, one `account NAME:` prefix, an example in every --help."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flowtui.cli import main
from flowtui.providers.base import Transient, account_message
from flowtui.providers.transport import RetryPolicy, Transport

CliRun = Callable[..., Result]
SUMMARY = re.compile(r"^changed \d+, already \d+, failed \d+$")


def diga(emu: Any) -> dict[str, dict[str, Any]]:
    return {flow["id"]: flow for flow in emu.state("diga")["flows"]}


def test_a_bulk_change_ends_with_one_line_of_counts(emu: Any, cli: CliRun) -> None:
    flows = diga(emu)
    published = [i for i, f in flows.items() if f["published"]]
    enabled = sum(1 for i in published if flows[i]["status"] == "ENABLED")
    result = cli("disable", *(f"support:{i}" for i in published), "--yes")
    assert result.exit_code == 0, result.output
    last = result.stdout.splitlines()[-1]
    assert SUMMARY.match(last), last
    assert last == f"changed {enabled}, already {len(published) - enabled}, failed 0"
    as_json = cli("disable", *(f"support:{i}" for i in published), "--json").stdout
    assert all(json.loads(line) for line in as_json.splitlines())  # JSON lines only


def test_publishing_a_published_flow_says_already_published(emu: Any, cli: CliRun) -> None:
    draft = next(i for i, f in diga(emu).items() if not f["published"])
    first = cli("publish", f"support:{draft}")
    assert first.stdout.strip() == f"support:{draft}  published: now disabled"
    again = cli("publish", f"support:{draft}")  # flowtui published it: the audit says so
    assert again.exit_code == 0
    assert again.stdout.strip() == f"support:{draft}  already published"
    running = next(i for i, f in diga(emu).items() if f["status"] == "ENABLED")
    assert cli("publish", f"support:{running}").stdout.strip().endswith("already published")
    publishes = [r for r in emu.requests("diga") if r["path"].endswith("/publish")]
    assert len(publishes) == 1


def test_every_unknown_flow_in_ls_json_says_why(emu: Any, cli: CliRun) -> None:
    result = cli("ls", "--json", "--account", "studio")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    unknown = [row for row in rows if row["state"] == "unknown"]
    assert unknown  # the seeded Runflow data has drafts and archived flows
    assert all("status_code" in row["error"] for row in unknown)
    assert all(row["error"] is None for row in rows if row["state"] != "unknown")


async def test_a_dead_host_fails_within_the_timeout_naming_host_and_port() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = Transport(f"http://127.0.0.1:{port}/api", timeout=1.0, retry=RetryPolicy())
    started = time.monotonic()
    try:
        with pytest.raises(Transient, match=f"cannot connect to 127.0.0.1:{port}"):
            await transport.request("GET", "flows")
    finally:
        await transport.aclose()
    # every backoff of the default policy would take 7.5 s or more
    assert time.monotonic() - started < 3.0


def test_the_account_prefix_is_written_once() -> None:
    assert account_message("ops", "HTTP 500") == "account ops: HTTP 500"
    already = "account ops: environment variable X is not set"
    assert account_message("ops", already) == already


def test_every_command_has_an_example_in_its_help() -> None:
    runner = CliRunner()
    for name in main.commands:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        examples = result.output.split("Examples:")[-1]
        assert "Examples:" in result.output, name
        assert re.search(rf"flowtui .*\b{name}\b", examples), name
