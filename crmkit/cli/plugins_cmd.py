"""``crmkit plugins list|enable|disable``."""
from __future__ import annotations

import json

import click

from crmkit.cli.context import cli_context
from crmkit.plugin_state import store_choice
from crmkit.plugins import KERNEL
from crmkit.schema import upgrade
from crmkit.tables import render_table


@click.group("plugins")
def plugins_group():
    """List, enable and disable plugins (the choice is stored in the database)."""


@plugins_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_plugins(as_json):
    """Installed plugins: version, enabled, state, requirements and hooks."""
    pm = cli_context().plugin_manager()
    infos = sorted(pm.infos.values(), key=lambda i: (not i.builtin, i.name))
    if as_json:
        click.echo(json.dumps([i.as_dict() for i in infos], indent=2))
        return
    rows = [[i.name, i.version, "yes" if i.enabled else "no",
             i.state + (f" ({i.reason})" if i.reason else ""),
             ", ".join(i.requires) or "-", ", ".join(i.hooks) or "-"] for i in infos]
    click.echo(render_table(["name", "version", "enabled", "state", "requires", "hooks"], rows))


def _set_enabled(name: str, enabled: bool) -> None:
    ctx = cli_context()
    pm = ctx.plugin_manager()
    if name == KERNEL:
        raise click.UsageError("the kernel plugin 'crmkit' cannot be switched off or on")
    if name not in pm.infos:
        installed = ", ".join(sorted(n for n in pm.infos if n != KERNEL)) or "none"
        raise click.UsageError(f"no plugin named {name!r} is installed (installed: {installed})")
    # The setting lives in a kernel table; make sure it exists.
    upgrade(pm, only=KERNEL)
    store_choice(name, enabled)
    word = "enabled" if enabled else "disabled"
    click.echo(f"{name}: {word}")
    if ctx.settings.get("PLUGINS") is not None:
        click.echo("note: CRMKIT_PLUGINS is set and overrides the stored choice until unset",
                   err=True)
    if enabled:
        missing = [r for r in pm.infos[name].requires
                   if r not in pm.infos or not pm.infos[r].enabled]
        if missing:
            click.echo(f"note: {name} stays inactive until these are enabled: "
                       + ", ".join(missing), err=True)
        click.echo("run `crmkit db upgrade` to create or update its tables", err=True)
    else:
        dependants = sorted(i.name for i in pm.infos.values()
                            if name in i.requires and i.enabled)
        if dependants:
            click.echo("note: these require it and become inactive too: " + ", ".join(dependants),
                       err=True)


@plugins_group.command("enable")
@click.argument("name")
def enable(name):
    """Switch a plugin on: its routes, commands, jobs and hooks come back."""
    _set_enabled(name, True)


@plugins_group.command("disable")
@click.argument("name")
def disable(name):
    """Switch a plugin off; its data stays in the database untouched."""
    _set_enabled(name, False)


COMMANDS = [plugins_group]
