"""The CLI in team mode: the store is the PostgreSQL database named by
`settings.state_url_env`; an unknown schema, a wrong password or an unreachable server is
one line and exit 2, and the password never appears."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner, Result

from flowtui.cli import main
from flowtui.store.admin import upgrade_database


def team_cli(tmp_path: Path, url: str, *args: str) -> Result:
    config = tmp_path / "schedules.toml"
    config.write_text(
        '[settings]\nstate_url_env = "FLOWTUI_TEST_STATE_URL"\n\n[accounts.support]\n'
        'kind = "diga"\nbase_url = "http://127.0.0.1:9/diga"\ntoken_env = "FLOWTUI_TEST_T"\n'
    )
    return CliRunner().invoke(
        main,
        ["--config", str(config), "--state-dir", str(tmp_path / "state"), *args],
        env={"FLOWTUI_TEST_STATE_URL": url},
    )


def exit_2_line(result: Result, secret: str | None) -> str:
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert secret is None or secret not in result.output
    return line


def test_overrides_and_audit_go_to_the_shared_database(tmp_path: Path, pg_url: str) -> None:
    upgrade_database(pg_url)
    done = team_cli(
        tmp_path, pg_url, "override", "support:wf_1", "--state", "skip", "--until", "2h"
    )
    assert done.exit_code == 0, done.output
    shown = team_cli(tmp_path, pg_url, "audit")
    assert shown.exit_code == 0, shown.output
    assert "support:wf_1" in shown.stdout
    assert "@" in shown.stdout  # cli:<user>@<host>
    assert not (tmp_path / "state").exists()  # nothing local in team mode


def test_a_database_without_the_schema_says_run_db_upgrade(tmp_path: Path, pg_url: str) -> None:
    line = exit_2_line(team_cli(tmp_path, pg_url, "audit"), urlsplit(pg_url).password)
    assert "run `flowtui db upgrade`" in line


def test_a_newer_schema_is_refused_with_exit_2(tmp_path: Path, pg_url: str) -> None:
    upgrade_database(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE flowtui_schema SET version = 99")
    for args in (("audit",), ("daemon", "--once"), ("db", "upgrade")):
        line = exit_2_line(team_cli(tmp_path, pg_url, *args), urlsplit(pg_url).password)
        assert "schema version 99, newer than this flowtui knows" in line, args


def test_db_upgrade_is_idempotent(tmp_path: Path, pg_url: str) -> None:
    assert team_cli(tmp_path, pg_url, "db", "upgrade").exit_code == 0
    again = team_cli(tmp_path, pg_url, "db", "upgrade")
    assert again.exit_code == 0
    assert "already at version 1" in again.stdout


@pytest.mark.parametrize("case", ["wrong password", "unreachable", "unset variable"])
def test_a_database_that_cannot_be_used_is_one_line_and_exit_2(
    tmp_path: Path, pg_url: str, case: str
) -> None:
    parts = urlsplit(pg_url)
    host = parts.netloc.rpartition("@")[2]
    url = {
        "wrong password": urlunsplit(parts._replace(netloc=f"postgres:wrong-pw-123@{host}")),
        "unreachable": "postgresql://flowtui:wrong-pw-123@127.0.0.1:9/flowtui",
        "unset variable": "",
    }[case]
    for args in (("audit",), ("daemon",)):  # the daemon: no `scheduler stopped` after it
        line = exit_2_line(team_cli(tmp_path, url, *args), "wrong-pw-123")
        assert line.startswith("flowtui: error: "), args
