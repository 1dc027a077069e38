import subprocess
import sys

from click.testing import CliRunner

from flowtui.cli import main


def test_help_lists_the_program() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "flowtui" in result.output


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flowtui", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "0.1.0" in done.stdout


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
