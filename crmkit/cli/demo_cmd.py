"""``crmkit demo``: an empty database filled with realistic records by every enabled plugin."""
from __future__ import annotations

import click

from crmkit import db
from crmkit.cli.context import cli_context
from crmkit.schema import upgrade


@click.command("demo")
@click.option("--size", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="Roughly how many customers; plugins scale their records to it.")
def demo(size):
    """Create the schema if needed and load demo data from the kernel and each enabled plugin."""
    app = cli_context().app()
    pm = app.extensions["crmkit"].pm
    upgrade(pm)
    with app.app_context(), db.connection():
        for plugin, _ in pm.call_each("load_demo_data", size=size):
            click.echo(f"{plugin}: demo data loaded")


COMMANDS = [demo]
