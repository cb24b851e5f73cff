"""``crmkit tags list``."""
from __future__ import annotations

import click

from crmkit.cli.output import domain_command, echo_json
from crmkit.customers.tags import list_tags
from crmkit.tables import render_table


@click.group("tags")
def tags_group():
    """Tags on customers."""


@tags_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@domain_command()
def list_cmd(as_json):
    """Every tag with how many customers carry it."""
    tags = list_tags()
    if as_json:
        echo_json(tags)
        return
    click.echo(render_table(["id", "name", "customers"],
                            [[t["id"], t["name"], t["customers"]] for t in tags]))


COMMANDS = [tags_group]
