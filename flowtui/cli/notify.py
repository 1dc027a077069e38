"""`flowtui notify test`: send a sample message to every `[[notify]]` target."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import click
import httpx

from flowtui.cli.check import load_or_exit
from flowtui.cli.context import EXIT_CHANGE_FAILED, EXIT_USAGE, CliContext, fail
from flowtui.ops.incidents import NOTICE, Message
from flowtui.ops.webhooks import DeliveryError, Webhook, body_of, post, webhooks


async def _send_samples(hooks: list[Webhook]) -> list[str | None]:
    """One attempt per target; for each, None or why it failed."""
    sample = Message(
        "leadership",
        "test",
        NOTICE,
        "test notification: this target receives flowtui's messages",
        datetime.now(UTC),
    )

    async def send(client: httpx.AsyncClient, hook: Webhook) -> str | None:
        try:
            await post(client, hook, body_of(sample, hook.config.format))
        except DeliveryError as error:
            return str(error)
        return None

    async with httpx.AsyncClient(follow_redirects=False) as client:
        return await asyncio.gather(*(send(client, hook) for hook in hooks))


@click.group()
def notify() -> None:
    """Webhook notifications (`[[notify]]` in the configuration)."""


@notify.command("test")
@click.pass_obj
def notify_test(cli: CliContext) -> None:
    """Send a sample message to each configured target; exit 1 if one fails."""
    config = load_or_exit(cli)
    if not config.notify:
        fail("no [[notify]] target in the configuration")
    hooks, problems = webhooks(config, os.environ)
    for problem in problems:
        click.echo(f"flowtui: error: {problem}", err=True)
    results = asyncio.run(_send_samples(hooks)) if hooks else []
    for hook, error in zip(hooks, results, strict=True):
        click.echo(f"{hook.label}: sent" if error is None else f"{hook.label}: failed: {error}")
    if problems:
        raise SystemExit(EXIT_USAGE)
    if any(results):
        raise SystemExit(EXIT_CHANGE_FAILED)
