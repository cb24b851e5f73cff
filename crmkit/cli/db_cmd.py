"""``crmkit db upgrade|status``."""
from __future__ import annotations

import click
from playhouse.migrations import MigrationError

from crmkit.cli.context import cli_context
from crmkit.schema import pending, upgrade


@click.group("db")
def db_group():
    """Database schema: migrations per plugin."""


@db_group.command("upgrade")
@click.option("--plugin", "only", help="Upgrade only this plugin (default: kernel, then all).")
def upgrade_cmd(only):
    """Apply pending migrations: the kernel first, then each enabled plugin in dependency order.

    A fresh database gets its tables created from the models and every migration marked applied.
    """
    pm = cli_context().app().extensions["crmkit"].pm
    if only is not None and only not in pm.active_names():
        raise click.UsageError(f"{only!r} is not an active plugin "
                               f"(active: {', '.join(pm.active_names())})")
    try:
        results = upgrade(pm, only=only)
    except MigrationError as exc:
        raise click.ClickException(f"migration failed: {exc}") from None
    for result in results:
        if result.created:
            click.echo(f"{result.plugin}: created tables ({len(result.applied)} migration(s) "
                       "marked applied)")
        elif result.applied:
            click.echo(f"{result.plugin}: applied {', '.join(result.applied)}")
        else:
            click.echo(f"{result.plugin}: up to date")


@db_group.command("status")
def status_cmd():
    """Migrations not yet applied, per plugin; exit status 1 when any are pending."""
    pm = cli_context().app().extensions["crmkit"].pm
    waiting = pending(pm)
    for plugin, names in waiting.items():
        click.echo(f"{plugin}: " + (", ".join(names) + " pending" if names else "up to date"))
    if any(waiting.values()):
        raise SystemExit(1)


COMMANDS = [db_group]
