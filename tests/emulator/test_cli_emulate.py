"""`flowtui emulate`: prints where each platform is and how to log in; Ctrl-C exits 0."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from flowtui.cli import main

REPO = Path(__file__).resolve().parents[2]


def variables_of_the_example_config() -> set[str]:
    """Every environment variable the repository's schedules.toml names."""
    accounts = tomllib.loads((REPO / "schedules.toml").read_text())["accounts"]
    return {
        value
        for account in accounts.values()
        for key, value in account.items()
        if key.endswith("_env")
    }


@contextmanager
def emulating(*options: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    """`flowtui emulate` in a subprocess: (process, its banner, its base URL)."""
    command = [sys.executable, "-m", "flowtui", "emulate", "--port", "0", "--token", "tok-1"]
    process = subprocess.Popen(
        [*command, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(lines)
        base_url = re.search(r"emulator on (http://127\.0\.0\.1:\d+)", output).group(1)
        yield process, output, base_url
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_emulate_prints_credentials_serves_and_stops_on_ctrl_c() -> None:
    with emulating("--flows", "7", "--seed", "3") as (process, output, base_url):
        assert "7 flows per platform, seed 3" in output
        assert f"{base_url}/bitrix24/rest/1/tok-1/" in output
        assert "refresh token" in output
        assert "517" in output
        assert "latency 0 ms a request; rate limits: runflow off; bitrix24 2 req/s, burst 50" in (
            output
        )
        exported = dict(re.findall(r"^export (\w+)=(\S+)$", output, re.MULTILINE))
        assert set(exported) >= variables_of_the_example_config()
        assert exported["B24_WEBHOOK_URL"] == f"{base_url}/bitrix24/rest/1/tok-1/"
        answer = httpx.get(
            f"{base_url}/diga/v1/workflow/", headers={"Authorization": "Bearer tok-1"}
        )
        assert len(answer.json()["data"]) == 7
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        assert "Traceback" not in process.stderr.read()


def test_latency_and_rate_limits_are_set_from_the_command_line_and_survive_a_reset() -> None:
    options = ["--latency", "40", "--runflow-limit", "1/2", "--runflow-retry-after", "none"]
    with emulating(*options, "--bitrix24-limit", "off") as (_, output, base_url):
        assert "latency 40 ms a request" in output
        assert "runflow 1 req/s, burst 2, Retry-After none; bitrix24 off" in output
        httpx.post(f"{base_url}/_emulator/reset", json={}).raise_for_status()
        faults = httpx.get(f"{base_url}/_emulator/faults").json()
        assert {faults[p]["latency_ms"] for p in faults} == {40}
        headers = {"Authorization": "Bearer tok-1"}
        with httpx.Client(base_url=f"{base_url}/runflow", headers=headers) as client:
            answers = [client.get("/v1/flow-summaries") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["code"] == "RATE_LIMITED"
        assert "Retry-After" not in answers[2].headers
        webhook = f"{base_url}/bitrix24/rest/1/tok-1/tasks.flow.Flow.get"
        with httpx.Client() as client:
            statuses = {client.post(webhook, json={"flowId": 517}).status_code for _ in range(60)}
        assert statuses == {200}  # the bucket (50) would have refused some of 60


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--runflow-limit", "fast", "--runflow-limit must be RATE/BURST"),
        ("--bitrix24-limit", "0/50", "--bitrix24-limit needs a rate above 0"),
        ("--runflow-retry-after", "soon", "--runflow-retry-after must be whole seconds"),
    ],
)
def test_a_bad_limit_is_one_line_and_exit_2(option: str, value: str, says: str) -> None:
    result = CliRunner().invoke(main, ["emulate", "--port", "0", option, value])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert says in result.output


def test_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(main, ["emulate", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
