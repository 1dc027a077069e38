"""A click group that imports a command's module only when that command runs.

`flowtui --help` and `flowtui check` must not pay for httpx, APScheduler, the store or
textual: each command names its module, and the help lists each command's summary without
importing it (tests/test_cli_startup.py holds every summary to its command's own help).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (`module`, attribute `name`) and its one-line summary."""

    module: str
    attribute: str
    summary: str

    def placeholder(self, name: str) -> click.Command:
        """A stand-in that shortens the summary for the help exactly as click would."""
        return click.Command(name, help=self.summary)

    def load(self) -> click.Command:
        command = getattr(importlib.import_module(self.module), self.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.module}.{self.attribute} is not a click command")
        return command


class LazyGroup(click.Group):
    """`lazy` maps a command name to where it lives; eager `add_command` still works."""

    def __init__(self, *args: object, lazy: Mapping[str, LazyCommand], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows: Sequence[tuple[str, str]] = [
            (name, self._summary(ctx, name, limit))
            for name in names
            if not (name in self.commands and self.commands[name].hidden)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _summary(self, ctx: click.Context, name: str, limit: int) -> str:
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit)
        return self.lazy[name].placeholder(name).get_short_help_str(limit)
