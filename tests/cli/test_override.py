"""`flowtui override` refuses a flow its account does not have (the pin would fail every
scheduler pass), and trusts an account it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.conftest import CliRun
from flowtui.store import SqliteStore

PIN = ("--state", "enabled", "--until", "1h")


def overrides(tmp_path: Path) -> list[str]:
    store = SqliteStore.in_dir(tmp_path / "state")
    try:
        return [str(record.flow) for record in store.overrides(now=datetime.now(UTC))]
    finally:
        store.close()


def test_a_flow_no_account_has_is_refused(emu: Any, cli: CliRun, tmp_path: Path) -> None:
    missing = cli("override", "support:doesnotexist", *PIN)
    assert missing.exit_code == 2
    assert missing.stderr.splitlines() == [
        "flowtui: error: no such flow: support:doesnotexist"
        " (its account does not have it; nothing pinned)"
    ]
    unlisted = cli("override", "crm:999999", *PIN)  # not among the account's flow_ids
    assert unlisted.exit_code == 2
    assert "no such flow: crm:999999" in unlisted.stderr
    existing = emu.state("diga")["flows"][0]["id"]
    pinned = cli("override", f"support:{existing}", *PIN)
    assert pinned.exit_code == 0, pinned.output
    assert overrides(tmp_path) == [f"support:{existing}"]


def test_an_account_that_cannot_be_read_is_trusted(cli: CliRun, tmp_path: Path) -> None:
    pinned = cli("override", "support:maybe", *PIN, env={"FT_DIGA_KEY": ""})
    assert pinned.exit_code == 0, pinned.output
    assert overrides(tmp_path) == ["support:maybe"]
