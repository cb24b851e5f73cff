"""``crmkit customers not-duplicates list|add|remove``: pairs the duplicate list leaves out."""
from __future__ import annotations

import click
from flask import current_app

from crmkit.cli.customers_cmd import customers
from crmkit.cli.output import domain_command, echo_json
from crmkit.tables import render_table


@customers.group("not-duplicates")
def not_duplicates_group():
    """Pairs of customers marked as not duplicates (left out of `customers duplicates`)."""


@not_duplicates_group.command("add")
@click.argument("customer_id", type=int)
@click.argument("other_id", type=int)
@domain_command(write=True)
def add(customer_id, other_id):
    """Mark two customers as not duplicates: the candidate list stops pairing them."""
    from crmkit.customers.not_duplicates import mark
    row, created = mark(customer_id, other_id)
    pair = f"{row.customer_low_id} and {row.customer_high_id}"
    click.echo(f"marked customers {pair} as not duplicates" if created
               else f"customers {pair} were marked as not duplicates already")


@not_duplicates_group.command("remove")
@click.argument("customer_id", type=int)
@click.argument("other_id", type=int)
@domain_command(write=True)
def remove(customer_id, other_id):
    """Remove a mark: the pair may be listed as duplicate candidates again."""
    from crmkit.customers.not_duplicates import pair_of, unmark
    unmark(customer_id, other_id)
    low, high = pair_of(customer_id, other_id)
    click.echo(f"customers {low} and {high} may be listed as duplicates again")


@not_duplicates_group.command("list")
@click.option("--customer-id", type=int, default=None, help="Only pairs this customer is in.")
@click.option("--limit", type=int, default=None, help="Page size.")
@click.option("--cursor", default=None, help="Continue after the page that printed it.")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@domain_command()
def list_cmd(customer_id, limit, cursor, as_json):
    """Marked pairs, newest first."""
    from crmkit.customers.not_duplicates import list_marks, mark_dict
    page = list_marks({"customer_id": customer_id, "limit": limit, "cursor": cursor},
                      int(current_app.config["CRMKIT_MAX_PAGE_SIZE"]))
    items = [mark_dict(row) for row in page.items]
    if as_json:
        echo_json({"items": items, "next_cursor": page.next_cursor, "limit": page.limit})
        return
    rows = [[*item["customer_ids"], item["created_by"] or "", item["created_at"].isoformat()]
            for item in items]
    click.echo(render_table(["customer", "not a duplicate of", "marked by", "marked at"], rows))
    if page.next_cursor:
        click.echo(f"more: --cursor {page.next_cursor}", err=True)


COMMANDS: list = []
