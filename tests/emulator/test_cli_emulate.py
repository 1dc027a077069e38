"""`flowtui emulate`: prints where each platform is and how to log in; Ctrl-C exits 0."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys

import httpx
from click.testing import CliRunner

from flowtui.cli import main


def test_emulate_prints_credentials_serves_and_stops_on_ctrl_c() -> None:
    command = [sys.executable, "-m", "flowtui", "emulate", "--port", "0", "--token", "tok-1"]
    process = subprocess.Popen(
        [*command, "--flows", "7", "--seed", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        output = "".join(lines)
        base_url = re.search(r"emulator on (http://127\.0\.0\.1:\d+)", output).group(1)
        assert "7 flows per platform, seed 3" in output
        assert f"{base_url}/bitrix24/rest/1/tok-1/" in output
        assert "refresh token" in output
        assert "517" in output
        answer = httpx.get(
            f"{base_url}/diga/v1/workflow/", headers={"Authorization": "Bearer tok-1"}
        )
        assert len(answer.json()["data"]) == 7
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(main, ["emulate", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
