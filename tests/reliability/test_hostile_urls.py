"""Credentials never travel or show in the clear (SPEC §4): `check`, the CLI and the daemon
refuse a plain http:// base URL to a host other than loopback unless the account allows it,
and a `user:password@` URL leaks neither the password nor the Basic header made from it,
even to a platform that quotes back the Authorization header it got."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flowtui.cli import main

from .fake_platform import ECHO, FLOW_IDS, Misbehaving, serve

PASSWORD = "hook-pa55word-4711"
BASIC = base64.b64encode(f"hook:{PASSWORD}".encode()).decode()


def invoke(tmp_path: Path, text: str, *command: str, env: dict[str, str] | None = None) -> Result:
    config = tmp_path / "schedules.toml"
    config.write_text(text)
    args = ["--config", str(config), "--state-dir", str(tmp_path / "state"), *command]
    return CliRunner().invoke(main, args, env={"S_TOKEN": "s-token-123", **(env or {})})


def account(name: str, url: str, extra: str = "") -> str:
    return (
        f'[accounts.{name}]\nkind = "runflow"\nbase_url = "{url}"\ntoken_env = "S_TOKEN"\n{extra}\n'
    )


PLAIN = account("public", "http://api.example.com/diga") + account("lan", "http://10.1.2.3/rf")
ALLOWED = (
    account("loop", "http://127.0.0.1:9/rf")
    + account("named", "http://localhost:9/rf")
    + account("trusted", "http://10.1.2.3/rf", "allow_plain_http = true")
)


def test_check_refuses_plain_http_to_another_host_at_its_line(tmp_path: Path) -> None:
    result = invoke(tmp_path, PLAIN + ALLOWED, "check")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert [line.split(": error: ")[0].rsplit(":", 2)[1:] for line in lines] == [
        ["3", "1"],
        ["8", "1"],
    ]
    assert "plain http:// to api.example.com" in lines[0]
    assert "plain http:// to 10.1.2.3" in lines[1]
    assert all("allow_plain_http = true" in line for line in lines)
    assert invoke(tmp_path, ALLOWED, "check").exit_code == 0


@pytest.mark.parametrize("command", [["ls"], ["daemon", "--once"], ["plan"]])
def test_the_cli_and_the_daemon_refuse_it_at_load(tmp_path: Path, command: list[str]) -> None:
    result = invoke(tmp_path, PLAIN, *command)
    assert result.exit_code == 2
    assert "plain http:// to api.example.com" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_webhook_url_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    text = '[accounts.crm]\nkind = "bitrix24"\nwebhook_url_env = "B24"\nflow_ids = [1]\n'
    webhook = f"http://hook:{PASSWORD}@portal.example.com/rest/1/code4711/"
    result = invoke(tmp_path, text, "ls", env={"B24": webhook})
    assert result.exit_code != 0
    assert "refusing plain http:// to portal.example.com" in result.stderr
    assert PASSWORD not in result.output
    assert "code4711" not in result.output


@pytest.fixture
def echoing() -> Iterator[str]:
    with serve(Misbehaving(mode=ECHO, on=("write",))) as url:
        yield url


def test_url_credentials_stay_out_of_errors_and_audit(tmp_path: Path, echoing: str) -> None:
    url = echoing.replace("http://", f"http://hook:{PASSWORD}@")
    text = f'[accounts.fake]\nkind = "diga"\nbase_url = "{url}"\ntoken_env = "S_TOKEN"\n'
    said = [
        invoke(tmp_path, text, "ls"),
        invoke(tmp_path, text, "disable", f"fake:{FLOW_IDS[0]}", "--yes"),
    ]
    said.append(invoke(tmp_path, text, "audit", "--json"))
    output = "\n".join(result.output for result in said)
    assert "token rejected" in output  # the platform did quote the header back
    assert "Basic ***" in output
    assert "Basic ***" in said[-1].output  # the failure was audited, masked
    for secret in (PASSWORD, BASIC, BASIC[:12]):
        assert secret not in output
