"""The form to add or edit a maintenance window or an A/B switch (cron form). Saving
validates like `check`; problems stay in the form, nothing is written until it passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from flowtui.config import Config, Rule
from flowtui.tui.rule_edits import RuleEditError, merged_fields, rule_fields, with_rule

SELECTS: dict[str, tuple[str, ...]] = {
    "state": ("disabled", "enabled"),
    "after": ("restore", "enabled", "disabled"),
    "order": ("break-before-make", "make-before-break"),
    "enforce": ("false", "true"),
}
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "maintenance": (
        ("name", "name"),
        ("flows", "flows (comma-separated refs, aliases or account:*)"),
        ("cron", "window start (cron, in the rule's zone), e.g. 0 2 * * SUN"),
        ("duration", "window length, e.g. 2h"),
        ("state", "state during the window"),
        ("after", "after the window"),
        ("enforce", "re-apply during the window"),
        ("timezone", "time zone (empty: settings.timezone)"),
    ),
    "ab_switch": (
        ("name", "name"),
        ("a", "group A (on outside B windows)"),
        ("b", "group B (on inside B windows)"),
        ("b_cron", "B window start (cron), e.g. 0 0 * * SAT"),
        ("b_duration", "B window length, e.g. 48h"),
        ("order", "switch order"),
        ("enforce", "re-apply if changed by hand"),
        ("timezone", "time zone (empty: settings.timezone)"),
    ),
}
Save = Callable[[Config], Config]  # validate + write; raises RuleEditError


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class RuleFormScreen(ModalScreen[Config | None]):
    """Dismisses with the saved configuration, or None when cancelled."""

    CSS_PATH = "rule_form.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form_cancel"),
        Binding("ctrl+s", "save", "Save", id="form_save"),
    ]

    def __init__(self, config: Config, kind: str, save: Save, rule: Rule | None = None) -> None:
        super().__init__()
        self.config = config
        self.kind = kind
        self.save_config = save
        self.rule = rule
        self.base = rule_fields(rule) if rule else {}

    def compose(self) -> ComposeResult:
        what = "maintenance window" if self.kind == "maintenance" else "A/B switch"
        title = f"Edit {what} {self.rule.name!r}" if self.rule else f"New {what}"
        with VerticalScroll(id="dialog"):
            yield Static(title, id="title", markup=False)
            if self.rule and self.rule.form != "cron":
                yield Static(
                    f"This rule uses the {self.rule.form} form; fill the cron fields to replace"
                    " it, or leave them empty to keep it.",
                    classes="note",
                )
            for key, label in FIELDS[self.kind]:
                yield Label(label)
                value = _shown(self.base.get(key))
                if key in SELECTS:
                    options = [(option, option) for option in SELECTS[key]]
                    start = value if value in SELECTS[key] else SELECTS[key][0]
                    yield Select(options, value=start, allow_blank=False, id=key)
                else:
                    yield Input(value=value, id=key)
            yield Static("", id="problems", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel", variant="error")

    def entered(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for key, _ in FIELDS[self.kind]:
            widget = self.query_one(f"#{key}")
            values[key] = str(widget.value) if isinstance(widget, Input | Select) else ""
        return values

    def action_save(self) -> None:
        fields = merged_fields(self.kind, self.base, self.entered())
        try:
            changed = with_rule(
                self.config, self.kind, fields, self.rule.name if self.rule else None
            )
            saved = self.save_config(changed)
        except RuleEditError as error:
            self.query_one("#problems", Static).update("\n".join(error.problems))
            return
        except OSError as error:
            self.query_one("#problems", Static).update(f"cannot write the file: {error}")
            return
        self.dismiss(saved)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)
