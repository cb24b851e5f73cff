"""The ``crmkit`` command line: kernel commands plus whatever enabled plugins register."""
from __future__ import annotations

import click

from crmkit.cli.context import CliContext, cli_context, with_app

__all__ = ["CliContext", "cli_context", "main", "with_app"]


# Kernel commands: name -> (modules that define or extend it, the one-line help shown by
# --help). Modules are imported only when their command runs, so `crmkit --help` and every
# command pay for what they use, not for the whole CLI. tests/test_cli_lazy.py checks that each
# help line here matches the command's own.
BUILTIN: dict[str, tuple[tuple[str, ...], str]] = {
    "audit": (("audit_cmd",), "The audit trail (append-only)."),
    "custom-fields": (("custom_fields_cmd",), "Custom field definitions of customers and..."),
    "customers": (("customers_cmd", "customers_io_cmd", "privacy_cmd",
                   "not_duplicates_cmd"),
                  "Customers and companies: list, show,..."),
    "db": (("db_cmd",), "Database schema: migrations per plugin."),
    "demo": (("demo_cmd",), "Create the schema if needed and load demo..."),
    "interactions": (("customers_io_cmd",), "Interactions (timeline entries) in bulk."),
    "jobs": (("inspect_cmd", "worker_cmd"), "Periodic jobs declared by enabled plugins."),
    "notifications": (("notifications_cmd",), "Notify users or roles (in-app and email),..."),
    "permissions": (("inspect_cmd",), "Permissions declared by the kernel and..."),
    "plugins": (("plugins_cmd",), "List, enable and disable plugins (the..."),
    "roles": (("access_cmd",), "Roles: named sets of permissions with a..."),
    "serve": (("serve_cmd",), "Serve the HTTP API (OpenAPI at..."),
    "tags": (("tags_cmd",), "Tags on customers."),
    "teams": (("access_cmd",), "Teams of users, each with a manager."),
    "tokens": (("access_cmd",), "API tokens: shown once at creation, stored..."),
    "users": (("access_cmd",), "Users: create, list, change, deactivate."),
    "webhooks": (("webhooks_cmd",), "Webhook subscriptions: signed POSTs of..."),
    "worker": (("worker_cmd",), "Run background work: deferred tasks,..."),
}


def load_builtin(name: str) -> click.Command | None:
    """Import the modules of one kernel command and return the command."""
    import importlib
    entry = BUILTIN.get(name)
    if entry is None:
        return None
    command = None
    for module_name in entry[0]:
        module = importlib.import_module(f"crmkit.cli.{module_name}")
        for candidate in getattr(module, "COMMANDS", []):
            if candidate.name == name:
                command = candidate
    return command


class CrmkitGroup(click.Group):
    """Kernel commands, imported on first use, plus the commands of enabled plugins."""

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
                                   if name not in BUILTIN}
        return obj.plugin_commands

    def list_commands(self, ctx):
        return sorted(set(BUILTIN) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx, cmd_name):
        if cmd_name in BUILTIN:
            return load_builtin(cmd_name)
        return self._plugin_commands(ctx).get(cmd_name)

    def format_commands(self, ctx, formatter):
        rows = [(name, help_text) for name, (_, help_text) in BUILTIN.items()]
        rows += [(name, cmd.get_short_help_str(limit=45))
                 for name, cmd in self._plugin_commands(ctx).items() if not cmd.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=CrmkitGroup)
@click.version_option(package_name="crmkit")
def main():
    """crmkit: a plugin-based CRM. Settings come from CRMKIT_* environment variables."""
