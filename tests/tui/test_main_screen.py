"""The main table and the flow keys, driven with Pilot against the emulator."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from flowtui.model import FlowRef, State
from flowtui.store import SqliteStore
from flowtui.tui.screens.confirm import ConfirmScreen
from tui.helpers import (
    FIXED_NOW,
    MakeApp,
    diga_flows,
    loaded,
    pick_diga,
    put_cursor,
    wait_for,
)


def _audit(app: Any) -> list[Any]:
    store = SqliteStore.in_dir(app.control.state_dir)
    try:
        return store.audit()
    finally:
        store.close()


async def test_table_lists_every_account_keyed_by_ref(emu: Any, make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        accounts = {row.ref.account for row in app.rows.values()}
        assert accounts == {"support", "ops", "studio", "crm"}
        assert app.table.row_count == len(app.rows)
        for flow_id, flow in diga_flows(emu).items():
            row = app.rows[f"support:{flow_id}"]
            assert row.state == (State.ENABLED if flow["status"] == "ENABLED" else State.DISABLED)
        assert app.status.status.refreshed is not None


async def test_refresh_updates_cells_in_place(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="DISABLED", published=True)
    key = f"support:{flow_id}"
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        index = app.table.get_row_index(key)
        emu.set_flow("diga", flow_id, status="ENABLED")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.rows[key].state is State.ENABLED, "the refresh")
        assert app.table.get_row_index(key) == index  # same row, updated in place
        assert "enabled" in str(app.table.get_cell(key, "state"))


async def test_enable_disable_toggle_change_the_platform(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="DISABLED", published=True)
    key = f"support:{flow_id}"
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, key)
        for press, expected in (("e", "ENABLED"), ("d", "DISABLED"), ("t", "ENABLED")):
            await pilot.press(press)
            await wait_for(pilot, lambda e=expected: diga_flows(emu)[flow_id]["status"] == e, press)
            await wait_for(pilot, lambda: key not in app.table.pending, "the change to end")
            assert app.rows[key].state == State(expected.lower())
    records = _audit(app)
    assert {r.changed_by for r in records} == {f"tui:{app.control.changed_by[4:]}"}
    assert [r.event_type for r in reversed(records)] == ["intent", "outcome"] * 3
    assert records[0].result == "changed"
    assert records[0].reason == "manual"


async def test_confirmation_cancel_changes_nothing_and_yes_changes(
    emu: Any, make_app: MakeApp
) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    key = f"support:{flow_id}"
    app = make_app(confirm=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, key)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("escape")
        await pilot.pause()
        assert diga_flows(emu)[flow_id]["status"] == "ENABLED"
        assert _audit(app) == []
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: diga_flows(emu)[flow_id]["status"] == "DISABLED", "yes")


async def test_publish_makes_a_draft_enableable(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, published=False)
    key = f"support:{flow_id}"
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, key)
        await pilot.press("e")  # the Diga trap: a draft cannot be enabled
        await wait_for(pilot, lambda: app.rows[key].error is not None, "the failure")
        assert "publish" in (app.rows[key].error or "")
        await pilot.press("p")
        await wait_for(pilot, lambda: diga_flows(emu)[flow_id]["published"], "publish")
        await wait_for(pilot, lambda: key not in app.table.pending, "the change to end")
        await pilot.press("e")
        await wait_for(pilot, lambda: diga_flows(emu)[flow_id]["status"] == "ENABLED", "enable")


async def test_read_only_refuses_every_change_with_a_notice(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="DISABLED", published=True)
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, f"support:{flow_id}")
        for key in ("e", "d", "t", "p", "o"):
            await pilot.press(key)
        await pilot.pause()
        notices = [n.message for n in app._notifications]
        assert notices.count("read-only mode: no change made") == 5
        assert app.screen is app.main
        assert "READ-ONLY" in str(app.status.render())
    assert diga_flows(emu)[flow_id]["status"] == "DISABLED"
    assert _audit(app) == []


async def test_filter_by_platform_state_and_name(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"crm")
        await pilot.pause()
        shown = [app.table.key_at(i) for i in range(app.table.row_count)]
        assert shown
        assert all(key.startswith("crm:") for key in shown)
        await pilot.press("enter")
        assert app.focused is app.table
        await pilot.press("slash", "backspace", "backspace", "backspace", *"support enab")
        await pilot.pause()
        rows = [app.rows[app.table.key_at(i)] for i in range(app.table.row_count)]
        assert rows
        assert all(r.ref.account == "support" and r.state is State.ENABLED for r in rows)
        await pilot.press("enter", "escape")
        assert app.table.row_count == len(app.rows)


async def test_marks_and_bulk_disable(emu: Any, make_app: MakeApp) -> None:
    enabled = [i for i, f in diga_flows(emu).items() if f["status"] == "ENABLED"][:3]
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        for flow_id in enabled:
            await put_cursor(pilot, f"support:{flow_id}")
            await pilot.press("space")
        assert app.table.marked == {f"support:{i}" for i in enabled}
        assert str(app.table.get_cell(f"support:{enabled[0]}", "mark")) == "✔"
        await pilot.press("d")
        await wait_for(
            pilot,
            lambda: all(diga_flows(emu)[i]["status"] == "DISABLED" for i in enabled),
            "the bulk change",
        )
        await wait_for(pilot, lambda: not app.table.marked, "marks cleared")


async def test_unreachable_account_shows_an_error_row_without_crashing(
    emu: Any, make_app: MakeApp
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    extra = f"""
[accounts.lost]
kind = "diga"
base_url = "http://127.0.0.1:{port}"
token_env = "FT_DIGA_KEY"
timeout = "1s"
"""
    app = make_app(extra=extra)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        row = app.rows["lost:*"]
        assert row.error
        assert "error" in str(app.table.get_cell("lost:*", "state"))
        assert app.status.status.errors == ("lost",)
        assert any(r.ref.account == "support" for r in app.rows.values())
        emu.set_fault("diga", burst_5xx=100)  # a known account starts failing: keep its rows
        app.notify("[/bold] text from a platform is not markup")
        await pilot.press("r")
        await wait_for(pilot, lambda: "support" in app.account_errors, "the failing refresh")
        support = [r for r in app.rows.values() if r.ref.account == "support"]
        assert support
        assert all(r.error for r in support)
        await put_cursor(pilot, str(support[0].ref))
        await pilot.press("e")
        await wait_for(pilot, lambda: not app.table.pending, "the failed change")
        assert app.is_running


async def test_governed_flow_offers_override_until_next_transition(
    emu: Any, make_app: MakeApp
) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    extra = f"""
[[maintenance]]
name = "always-off"
flows = ["support:{flow_id}"]
cron = "0 * * * *"
duration = "59m"
"""
    app = make_app(extra=extra, clock=lambda: FIXED_NOW)  # inside the 09:00-09:59 window
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        key = f"support:{flow_id}"
        governance = app.rows[key].governance
        assert governance.rule == "always-off"
        assert governance.next_change is not None
        assert governance.next_change.at == datetime(2031, 11, 24, 9, 59, tzinfo=UTC)
        await put_cursor(pilot, key)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the offer")
        await pilot.click("#pin")
        await wait_for(pilot, lambda: key not in app.table.pending, "the change")
        store = SqliteStore.in_dir(app.control.state_dir)
        try:
            await wait_for(pilot, lambda: bool(store.overrides(now=app.now())), "the override")
            (override,) = store.overrides(now=app.now())
        finally:
            store.close()
        assert override.flow == FlowRef("support", flow_id)
        assert override.state == "disabled"
        assert override.until == governance.next_change.at
        assert override.created_by.startswith("tui:")


async def test_keys_are_remappable_from_the_config(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="DISABLED", published=True)
    app = make_app(extra='\n[keys]\nenable = "x"\nhelp = "f1"\nenabel = "y"\n')
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        await put_cursor(pilot, f"support:{flow_id}")
        await pilot.press("e")
        await pilot.pause()
        assert diga_flows(emu)[flow_id]["status"] == "DISABLED"
        await pilot.press("x")
        await wait_for(pilot, lambda: diga_flows(emu)[flow_id]["status"] == "ENABLED", "x")
        assert ("enable", "x", "Enable", "flows") in app.keymap_rows()
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert "[keys]: no key with id 'enabel' (did you mean 'enable'?)" in warnings
        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


async def test_names_with_brackets_are_shown_literally(emu: Any, make_app: MakeApp) -> None:
    flow_id = pick_diga(emu, status="ENABLED")
    key = f"support:{flow_id}"
    emu.set_flow("diga", flow_id, name="[/red] Sync [b]leads")
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        assert str(app.table.get_cell(key, "name")) == "[/red] Sync [b]leads"
        await put_cursor(pilot, key)
        await pilot.press("enter")
        await pilot.pause()
        assert app.is_running
        assert type(app.screen).__name__ == "DetailsScreen"


async def test_an_unexpected_error_in_a_refresh_is_a_notification(
    make_app: MakeApp, monkeypatch: Any
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)

        async def broken() -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(app.control, "read_all", broken)
        await pilot.press("r")
        await wait_for(pilot, lambda: any("boom" in n.message for n in app._notifications), "it")
        assert app.is_running
        assert not app._refreshing


async def test_filter_follows_each_key_and_escape_leaves_then_clears_it(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        total = app.table.row_count
        await pilot.press("slash", *"crm")
        assert app.table.row_count == 5  # filtered as typed, no pause needed
        await pilot.press("escape")  # the first escape leaves the filter line, keeping it
        assert app.focused is app.table
        assert app.table.row_count == 5
        await pilot.press("j")
        assert app.table.cursor_row == 1
        await pilot.press("escape")  # the second clears it
        assert app.table.row_count == total
