"""The form to add or edit a maintenance window or an A/B switch, in any window form (SPEC
§2): a Select picks the form and only that form's fields are shown. The fields are the
rule's whole truth: an emptied one is removed (see rule_edits.form_fields). Saving
validates like `check`; problems stay in the form, nothing is written until it passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from flowtui.config import Config, Rule
from flowtui.config_writer import Edit
from flowtui.tui.rule_edits import (
    WINDOW_FORMS,
    RuleEditError,
    edited_keys,
    field_texts,
    form_fields,
    rule_edit,
    written_fields,
)

SELECTS: dict[str, tuple[str, ...]] = {
    "state": ("disabled", "enabled"),
    "after": ("restore", "enabled", "disabled"),
    "order": ("break-before-make", "make-before-break"),
    "enforce": ("false", "true"),
}
FORM_NAMES: dict[str, dict[str, str]] = {
    "maintenance": {
        "cron": "repeating: cron start + length",
        "once": "one-off: start → end",
        "weekly": "weekly: days, from → to",
    },
    "ab_switch": {
        "cron": "B windows: cron start + length",
        "alternate": "alternate A, B, A, … every period",
    },
}
# key → (label, placeholder), in the order shown; which are shown depends on the window form.
FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "maintenance": {
        "name": ("name", "e.g. sunday-db-maintenance"),
        "flows": ("flows", "support:*, crm:517 or aliases, comma-separated"),
        "cron": ("window start (cron)", "e.g. 0 2 * * SUN, in the rule's zone"),
        "duration": ("window length", "e.g. 2h, 90m, 1h30m"),
        "start": ("starts at", "e.g. 2026-12-24 18:00+01:00"),
        "end": ("ends at", "e.g. 2026-12-27 06:00+01:00"),
        "days": ("days", "e.g. mon, tue, wed, thu, fri"),
        "from": ("from", "e.g. 22:00"),
        "to": ("to (next day if ≤ from)", "e.g. 06:00"),
        "except_dates": ("except on (no window starts)", "e.g. 2026-12-24, 2026-12-31"),
        "state": ("state during the window", ""),
        "after": ("after the window", ""),
        "enforce": ("re-apply during the window", ""),
        "priority": ("priority", "0; the higher wins when windows overlap"),
        "timezone": ("time zone", "empty: settings.timezone"),
    },
    "ab_switch": {
        "name": ("name", "e.g. checkout-experiment"),
        "a": ("group A", "on outside B windows, comma-separated"),
        "b": ("group B", "on inside B windows, comma-separated"),
        "b_cron": ("B window start (cron)", "e.g. 0 0 * * SAT, in the rule's zone"),
        "b_duration": ("B window length", "e.g. 48h"),
        "every": ("switch every", "e.g. 12h: A for 12h, then B for 12h, …"),
        "start": ("A starts at", "e.g. 2026-11-01 00:00Z"),
        "order": ("switch order", ""),
        "enforce": ("re-apply if changed by hand", ""),
        "timezone": ("time zone", "empty: settings.timezone"),
    },
}
Save = Callable[[Edit], Config]  # apply to the file, check, write; raises RuleEditError


class RuleFormScreen(ModalScreen[Config | None]):
    """Dismisses with the saved configuration, or None when cancelled."""

    CSS_PATH = "rule_form.tcss"
    AUTO_FOCUS = "#name"
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
        self.base = written_fields(config, rule) if rule else {}

    def compose(self) -> ComposeResult:
        what = "maintenance window" if self.kind == "maintenance" else "A/B switch"
        title = f"Edit {what} {self.rule.name!r}" if self.rule else f"New {what}"
        forms = [(name, form) for form, name in FORM_NAMES[self.kind].items()]
        texts = field_texts(self.base)
        # Only the fields scroll: the problems and the buttons stay in view at any height.
        with Vertical(id="dialog"):
            yield Static(title, id="title", markup=False)
            with VerticalScroll(id="fields"):
                with Horizontal(classes="row"):
                    yield Label("window form")
                    form = self.rule.form if self.rule else next(iter(WINDOW_FORMS[self.kind]))
                    yield Select(forms, value=form, allow_blank=False, id="window")
                for key, (label, placeholder) in FIELDS[self.kind].items():
                    with Horizontal(classes="row field", id=f"{key}-field"):
                        yield Label(label)
                        yield self._field(key, placeholder, texts.get(key, ""))
            yield Static("", id="problems", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel", variant="error")
        yield Footer()  # ctrl+s Save, whether or not the button is scrolled into view

    @staticmethod
    def _field(key: str, placeholder: str, value: str) -> Input | Select[str]:
        if key in SELECTS:
            options = [(option, option) for option in SELECTS[key]]
            start = value if value in SELECTS[key] else SELECTS[key][0]
            return Select(options, value=start, allow_blank=False, id=key)
        typed: Literal["integer", "text"] = "integer" if key == "priority" else "text"
        return Input(value=value, placeholder=placeholder, type=typed, id=key)

    def on_mount(self) -> None:
        self.show_fields()

    @property
    def window_form(self) -> str:
        return str(self.query_one("#window", Select).value)

    @on(Select.Changed, "#window")
    def show_fields(self) -> None:
        """Show the fields of the chosen window form (and those of every form)."""
        shown = {f"{key}-field" for key in edited_keys(self.kind, self.window_form)}
        for row in self.query(".field"):
            row.display = row.id in shown

    def entered(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for key in FIELDS[self.kind]:
            widget = self.query_one(f"#{key}")
            values[key] = str(widget.value) if isinstance(widget, Input | Select) else ""
        return values

    def action_save(self) -> None:
        try:
            fields = form_fields(self.kind, self.window_form, self.base, self.entered())
            edit = rule_edit(self.config, self.kind, fields, self.rule.name if self.rule else None)
            saved = self.save_config(edit)
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
