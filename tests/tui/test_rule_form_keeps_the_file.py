"""The repository's annotated schedules.toml edited through the rule form and paused: each
save changes only the lines it means to (comments, key order, spellings and explicit
defaults survive), and any sequence of edits undone restores the file byte for byte."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App
from textual.widgets import Input, Select

from flowtui.config import Config, load_config
from flowtui.config_writer import Edit, set_paused
from flowtui.tui.rule_edits import (
    edited_keys,
    field_texts,
    form_fields,
    kind_of,
    rule_edit,
    save,
    written_fields,
)
from flowtui.tui.screens.rule_form import SELECTS, RuleFormScreen
from tui.helpers import wait_for

EXAMPLE = Path(__file__).parents[2] / "schedules.toml"
# rule → (key, new text as typed in the form): one change per rule of the example
CHANGES: dict[str, tuple[str, str]] = {
    "sunday-db-maintenance": ("duration", "3h"),
    "christmas-freeze": ("end", "2026-12-28T06:00:00+01:00"),
    "nightly-batch": ("to", "05:00"),
    "new-york-business-hours": ("state", "disabled"),
    "checkout-experiment": ("order", "make-before-break"),
    "import-alternation": ("every", "6h"),
}
# Keys the file writes, or inputs (emptied: removed), so that undoing restores every byte.
OTHER_CHANGES: dict[str, tuple[str, str]] = {
    "sunday-db-maintenance": ("priority", "4"),
    "christmas-freeze": ("flows", "checkout_a, checkout_b"),
    "nightly-batch": ("except_dates", "2026-12-24"),
    "new-york-business-hours": ("cron", "30 7 * * MON-FRI"),
    "checkout-experiment": ("b_duration", "24h"),
    "import-alternation": ("start", "2026-11-02T00:00:00Z"),
}


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:1] in "+-"
    ]


class FormHost(App[None]):
    """Just the rule form over the file at `path`, saving like the schedules screen."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.config = load_config(path)

    def save_edit(self, edit: Edit) -> Config:
        self.config = save(self.path, edit)
        return self.config


async def edit_through_the_form(pilot: Any, host: FormHost, name: str, changes: dict[str, str]):
    rule = next(rule for rule in host.config.rules if rule.name == name)
    form = RuleFormScreen(host.config, kind_of(rule), host.save_edit, rule)
    await host.push_screen(form)
    await pilot.pause()
    for key, text in changes.items():
        widget = form.query_one(f"#{key}")
        assert isinstance(widget, Input | Select)
        widget.value = text
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: host.screen is not form, "the save")


@pytest.mark.slow  # twelve saves through the form
async def test_every_rule_edited_and_paused_through_the_form(tmp_path: Path) -> None:
    path = tmp_path / "schedules.toml"
    shutil.copy(EXAMPLE, path)
    host = FormHost(path)
    async with host.run_test(size=(120, 60)) as pilot:
        for name, (key, text) in CHANGES.items():
            before = path.read_text()
            await edit_through_the_form(pilot, host, name, {})
            assert path.read_text() == before, f"saving {name} unchanged changed the file"
            await edit_through_the_form(pilot, host, name, {key: text})
            after = path.read_text()
            changed = changed_lines(before, after)
            assert 1 <= len(changed) <= 2, changed
            assert all(line[2:].startswith(f"{key} = ") for line in changed), changed
            assert path.with_name("schedules.toml.bak").read_text() == before
            host.save_edit(set_paused(name, True))
            assert changed_lines(after, path.read_text()) == ["+ paused = true"]
    final = path.read_text()
    original = EXAMPLE.read_text()
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    assert all(comment in final.splitlines() for comment in comments)
    assert 'b_duration = "48h"' in final
    assert 'duration = "PT9H"' in final
    assert len(changed_lines(original, final)) == 3 * len(CHANGES)  # -old, +new, +paused


def form_save(path: Path, config: Config, name: str, changes: dict[str, str]) -> Config:
    """What the form does on ctrl+s, without widgets: its texts pre-filled from the file,
    `changes` typed over them."""
    rule = next(rule for rule in config.rules if rule.name == name)
    kind = kind_of(rule)
    base = written_fields(config, rule)
    texts = field_texts(base)
    entered = {
        key: texts.get(key, SELECTS.get(key, ("",))[0]) for key in edited_keys(kind, rule.form)
    }
    fields = form_fields(kind, rule.form, base, entered | changes)
    return save(path, rule_edit(config, kind, fields, name))


STEPS = st.lists(
    st.tuples(st.sampled_from(sorted(CHANGES)), st.sampled_from(["change", "other", "pause"])),
    max_size=8,
)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_any_sequence_of_edits_touches_only_its_lines_and_undoes(
    tmp_path: Path, steps: list[tuple[str, str]]
) -> None:
    path = tmp_path / "schedules.toml"
    shutil.copy(EXAMPLE, path)
    config = load_config(path)
    originals = {rule.name: field_texts(written_fields(config, rule)) for rule in config.rules}
    touched: dict[str, set[str]] = {}
    for name, step in steps:
        before = path.read_text()
        if step == "pause":
            config = save(path, set_paused(name, True))
            key = "paused"
        else:
            key, text = (CHANGES if step == "change" else OTHER_CHANGES)[name]
            config = form_save(path, config, name, {key: text})
        assert all(
            line[2:].startswith(f"{key} = ") for line in changed_lines(before, path.read_text())
        )
        touched.setdefault(name, set()).add(key)
    for name, keys in touched.items():
        if "paused" in keys:
            config = save(path, set_paused(name, False))
        restore = {key: originals[name].get(key, "") for key in keys - {"paused"}}
        if restore:
            config = form_save(path, config, name, restore)
    assert path.read_text() == EXAMPLE.read_text()
