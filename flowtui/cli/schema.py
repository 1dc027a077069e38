"""`flowtui schema`: the JSON Schema of schedules.toml, for editors and CI."""

from __future__ import annotations

import click

from flowtui.config_schema import config_json_schema_text


@click.command()
def schema() -> None:
    """Print the JSON Schema of schedules.toml (what schedules.schema.json holds).

    Point an editor at it with a first line `#:schema ./schedules.schema.json`."""
    click.echo(config_json_schema_text(), nl=False)
