"""The ``crmkit`` command line: kernel commands plus whatever enabled plugins register."""
from __future__ import annotations

import click

from crmkit.cli.context import CliContext, cli_context, with_app

__all__ = ["CliContext", "cli_context", "main", "with_app"]


class CrmkitGroup(click.Group):
    """Adds the commands of enabled plugins, loaded on first use."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, click.Command]:
        obj = ctx.ensure_object(CliContext)
        if obj.plugin_commands is None:
            holder = click.Group("plugins-holder")
            try:
                for _plugin, _ in obj.plugin_manager().call_each(
                        "register_commands", _name_errors=True, cli=holder):
                    pass
            except Exception as exc:  # the kernel's own commands must keep working
                click.echo(f"warning: plugin commands unavailable: {exc}", err=True)
            obj.plugin_commands = {name: cmd for name, cmd in holder.commands.items()
                                   if name not in self.commands}
        return obj.plugin_commands

    def list_commands(self, ctx):
        return sorted(set(self.commands) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx, cmd_name):
        return self.commands.get(cmd_name) or self._plugin_commands(ctx).get(cmd_name)


@click.group(cls=CrmkitGroup)
@click.version_option(package_name="crmkit")
def main():
    """crmkit: a plugin-based CRM. Settings come from CRMKIT_* environment variables."""


def _register_builtin_commands() -> None:
    from crmkit.cli import (access_cmd, audit_cmd, db_cmd, demo_cmd, inspect_cmd, plugins_cmd,
                            serve_cmd, webhooks_cmd, worker_cmd)
    from crmkit.cli import custom_fields_cmd, customers_cmd, tags_cmd
    from crmkit.cli import privacy_cmd
    from crmkit.cli import customers_io_cmd  # adds import/export to the customers group
    for module in (db_cmd, demo_cmd, inspect_cmd, plugins_cmd, serve_cmd, webhooks_cmd,
                   worker_cmd, access_cmd, audit_cmd, customers_cmd, custom_fields_cmd,
                   tags_cmd, privacy_cmd, customers_io_cmd):
        for command in module.COMMANDS:
            main.add_command(command)


_register_builtin_commands()
