"""``crmkit permissions list`` and ``crmkit jobs list``: what enabled plugins declare."""
from __future__ import annotations

import click

from crmkit.cli.context import cli_context
from crmkit.registry import collect_jobs, collect_permissions
from crmkit.tables import render_table


@click.group("permissions")
def permissions_group():
    """Permissions declared by the kernel and enabled plugins."""


@permissions_group.command("list")
def list_permissions():
    """Every permission with the plugin that declares it."""
    pm = cli_context().plugin_manager()
    rows = [[plugin, p.name, p.description] for plugin, p in collect_permissions(pm)]
    click.echo(render_table(["plugin", "permission", "description"], rows))


@click.group("jobs")
def jobs_group():
    """Periodic jobs declared by enabled plugins."""


@jobs_group.command("list")
def list_jobs():
    """Every periodic job with its plugin and schedule."""
    pm = cli_context().plugin_manager()
    rows = [[plugin, job.name, job.schedule] for plugin, job in collect_jobs(pm)]
    click.echo(render_table(["plugin", "job", "schedule"], rows))


COMMANDS = [permissions_group, jobs_group]
