"""A platform answer too big, too compressed or nested too deep costs one clear line for
its account: never gigabytes of memory, never a deadline overrun, never a traceback
(SPEC §4: `settings.max_response`, 10 MiB by default, measured after decompression)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowtui.cli import main

from .fake_platform import FLOW_IDS, Misbehaving, serve

TIMEOUT_S = 2.0  # the account's timeout; the whole-answer deadline is three of them
# the command's whole run (start-up included, slow on a loaded machine) within a bound the
# old client overran reading the bomb (44 s); the answer itself gets 3 × TIMEOUT_S
SECONDS = 30.0
PEAK_MB = 150  # `flowtui ls` itself needs about 60 MB; before the cap it took 900-2100 MB
TOKEN = "hostile-answer-token"


@pytest.fixture
def fake() -> Iterator[tuple[Misbehaving, str]]:
    platform = Misbehaving(on=("read",))
    with serve(platform) as url:
        yield platform, url


def config_for(tmp_path: Path, url: str, settings: str = "") -> list[str]:
    config = tmp_path / "schedules.toml"
    config.write_text(f"""
[settings]
timezone = "UTC"
{settings}

[accounts.fake]
kind = "diga"
base_url = "{url}"
token_env = "FAKE_TOKEN"
timeout = "{TIMEOUT_S:g}s"
""")
    return ["--config", str(config), "--state-dir", str(tmp_path / "state")]


# A small launcher measures flowtui's peak memory: a child forked straight from pytest would
# report pytest's own resident size (the kernel counts the forked image until exec).
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.executable, [sys.executable, "-m", "flowtui", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def run_measured(args: list[str]) -> tuple[int, str, float, float]:
    """Run `flowtui ARGS` in a child process: exit code, stderr, seconds, peak RSS in MB."""
    env = {**os.environ, "FAKE_TOKEN": TOKEN}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, *args],
            env=env,
            capture_output=True,
            timeout=60,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired as late:
        raise AssertionError(f"flowtui did not finish within 60 s: {args}") from late
    seconds = time.monotonic() - started
    code, peak_kb = (int(word) for word in done.stdout.split())
    return code, done.stderr.decode(), seconds, peak_kb / 1024


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["300 MB", "gzip bomb"])
def test_an_answer_past_the_cap_is_one_line_in_bounded_memory_and_time(
    tmp_path: Path, fake: tuple[Misbehaving, str], mode: str
) -> None:
    platform, url = fake
    platform.mode = mode
    code, stderr, seconds, peak_mb = run_measured([*config_for(tmp_path, url), "ls"])
    assert code == 1
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1
    assert "fake" in lines[0]
    assert "answer larger than 10 MiB (settings.max_response)" in lines[0]
    assert seconds < SECONDS
    assert peak_mb < PEAK_MB


def test_the_cap_is_a_setting(tmp_path: Path, fake: tuple[Misbehaving, str]) -> None:
    platform, url = fake
    platform.mode = "huge"  # 20 MiB of JSON: over the default cap, under this one
    args = config_for(tmp_path, url, 'max_response = "64MiB"')
    result = CliRunner().invoke(main, [*args, "ls"], env={"FAKE_TOKEN": TOKEN})
    assert "larger than" not in result.output
    args = config_for(tmp_path, url, 'max_response = "1MiB"')
    result = CliRunner().invoke(main, [*args, "ls"], env={"FAKE_TOKEN": TOKEN})
    assert result.exit_code == 1
    assert "answer larger than 1 MiB (settings.max_response)" in result.stderr


@pytest.mark.parametrize("command", [["ls"], ["disable", f"fake:{FLOW_IDS[0]}", "--yes"]])
def test_json_nested_200000_deep_is_one_line(
    tmp_path: Path, fake: tuple[Misbehaving, str], command: list[str]
) -> None:
    platform, url = fake
    platform.mode = "deep json"
    result = CliRunner().invoke(
        main, [*config_for(tmp_path, url), *command], env={"FAKE_TOKEN": TOKEN}
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    said = [line for line in result.output.splitlines() if "fake" in line]
    assert len(said) == 1  # (`ls` still prints the header of its empty table)
    assert "answer nested too deeply to read" in said[0]
