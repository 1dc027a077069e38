"""The command line imports only what a command uses (flowtui.cli.lazy): start-up time is
a promise (benchmarks/startup.py measures it), so the imports behind it are tested here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowtui.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]
NETWORK_STORE_APP = ("httpx", "textual", "uvicorn", "starlette", "sqlite3", "flowtui.engine")
# What neither `--help` nor `check` uses, each a few per cent of their start-up: the search for
# pydantic plugins (importlib.metadata, which imports the email package), platformdirs (with
# tempfile and shutil) when --config is given, and the stdlib's second TOML parser.
UNUSED_BY_BOTH = ("importlib.metadata", "email", "platformdirs", "tomllib")
# what `--help` alone also leaves out: it ends before any command, or the logging, runs
UNUSED_BY_HELP = ("logging", "json", "zoneinfo", "flowtui.logs", "pydantic", "flowtui.config")


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `flowtui ARGS`."""
    script = (
        "import sys\n"
        "from flowtui.cli import main\n"
        f"try:\n    main({list(args)!r})\n"
        "except SystemExit:\n    pass\n"
        "loaded = sorted(sys.modules)\n"
        "import json\n"
        "print(json.dumps(loaded), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(package + ".") for name in modules)


def test_help_imports_no_command_module_and_no_heavy_library() -> None:
    modules = modules_after("--help")
    for heavy in (*NETWORK_STORE_APP, "apscheduler", *UNUSED_BY_BOTH, *UNUSED_BY_HELP):
        assert not loaded(modules, heavy), heavy
    assert not loaded(modules, "flowtui.cli.flows")


def test_check_imports_neither_the_network_nor_the_engine_nor_the_app() -> None:
    modules = modules_after("--config", str(REPO / "schedules.toml"), "check")
    assert loaded(modules, "flowtui.config")
    for heavy in (*NETWORK_STORE_APP, *UNUSED_BY_BOTH):
        assert not loaded(modules, heavy), heavy


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_listed_summary_is_the_commands_own(name: str) -> None:
    command = COMMANDS[name].load()
    assert main.get_command(None, name) is command  # type: ignore[arg-type]
    listed = COMMANDS[name].placeholder(name).get_short_help_str(300)
    assert listed == command.get_short_help_str(300)
