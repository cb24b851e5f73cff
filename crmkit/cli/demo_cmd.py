"""``crmkit demo``: an empty database filled with realistic records by every enabled plugin."""
from __future__ import annotations

import click

from crmkit import db
from crmkit.cli.context import cli_context
from crmkit.plugin_state import PluginSetting
from crmkit.schema import upgrade


def _has_data(models_by_plugin: dict[str, list[type]]) -> bool:
    """True when any table of an active plugin holds a row (settings do not count)."""
    return any(model.select().exists()
               for models in models_by_plugin.values() for model in models
               if model is not PluginSetting)


@click.command("demo")
@click.option("--size", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="Roughly how many customers; plugins scale their records to it.")
@click.option("--if-empty", is_flag=True,
              help="Do nothing (exit 0) when the database already holds data.")
def demo(size, if_empty):
    """Create the schema if needed and load demo data from the kernel and each enabled plugin.

    Demo data goes into an empty database only; a database holding records is refused.
    """
    app = cli_context().app()
    state = app.extensions["crmkit"]
    upgrade(state.pm)
    with app.app_context(), db.connection():
        if _has_data(state.models):
            if if_empty:
                click.echo("database already holds data; demo data not loaded")
                return
            raise click.ClickException("the database already holds data; demo data goes into "
                                       "an empty database only (use --if-empty in scripts)")
        with db.write_transaction():
            for plugin, _ in state.pm.call_each("load_demo_data", size=size):
                click.echo(f"{plugin}: demo data loaded")


COMMANDS = [demo]
