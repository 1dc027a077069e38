"""An example at the end of every command's --help: one place, so that no command is left
without one (tests/cli/test_examples.py checks every command of the group)."""

from __future__ import annotations

import click

EXAMPLES: dict[str, tuple[str, ...]] = {
    "tui": ("flowtui tui --read-only            # look, change nothing",),
    "demo": ("flowtui demo --flows 2500          # 10,000 sample flows over four platforms",),
    "ls": (
        "flowtui ls --account support",
        'flowtui ls --json | jq -r \'select(.state == "unknown") | "\\(.ref) \\(.error)"\'',
    ),
    "enable": ("flowtui enable support:wf_1 checkout_a --dry-run",),
    "disable": ("flowtui disable 'ops:*' --yes     # every flow of the account",),
    "toggle": ("flowtui toggle crm:517",),
    "publish": ("flowtui publish support:wf_1 && flowtui enable support:wf_1",),
    "create": ('flowtui create support "Nightly export"',),
    "check": ("flowtui --config ./schedules.toml check",),
    "plan": ("flowtui plan --hours 168 --timeline", "flowtui plan --against old.toml"),
    "override": (
        "flowtui override crm:517 --state enabled --until 2h",
        "flowtui override --clear crm:517",
    ),
    "audit": ("flowtui audit --since 1d --flow crm:517",),
    "calendar": ("flowtui calendar --days 14 --rule nightly > windows.ics",),
    "schema": ("flowtui schema > schedules.schema.json",),
    "notify": ("flowtui notify test",),
    "db": ("flowtui db upgrade",),
    "daemon": ("flowtui daemon --once --dry-run   # what the scheduler would change now",),
    "emulate": (
        "flowtui emulate --port 8765 --token demo-token  # as the example schedules.toml expects",
        "flowtui emulate --port 0 --flows 2500           # any free port, 10,000 flows",
    ),
}


def add_example(name: str, command: click.Command) -> None:
    """Append the command's examples to its --help (kept as written: `\b`)."""
    lines = EXAMPLES.get(name)
    if lines and not command.epilog:
        example = "\n".join(f"  {line}" for line in lines)
        command.epilog = f"Examples:\n\n\b\n{example}"
