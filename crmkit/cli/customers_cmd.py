"""``crmkit customers list|show|create|duplicates|merge``: the command-line door to customers.

Commands run as the operator of the installation (no principal: every customer is visible) and
call the same domain functions as the API. Other modules add commands to the group::

    from crmkit.cli.customers_cmd import customers

    @customers.command("import")
    ...

and list their module in ``crmkit.cli._register_builtin_commands`` (with ``COMMANDS = []`` when
they add nothing at the top level), so the group is complete before the command line runs.
"""
from __future__ import annotations

import click
from flask import current_app

from crmkit import db
from crmkit.cli.output import domain_command, echo_json, key_values, load_options
from crmkit.customers import schemas
from crmkit.customers.duplicates import RULES, find_duplicates
from crmkit.customers.merge import merge_customers
from crmkit.customers.models import KINDS, STATUSES
from crmkit.customers.profile import build_profile, customer_record, customer_records
from crmkit.customers.search import list_customers
from crmkit.customers.service import create_customer, customer_summary, get_customer
from crmkit.tables import render_table


@click.group("customers")
def customers():
    """Customers and companies: list, show, create, find duplicates, merge."""


def _max_page() -> int:
    return int(current_app.config["CRMKIT_MAX_PAGE_SIZE"])


def _more(next_cursor: str | None) -> None:
    if next_cursor:
        click.echo(f"more: --cursor {next_cursor}", err=True)


# -- list -----------------------------------------------------------------------------------------

# (API name, help): each becomes --api-name; the API's list schema checks the values.
LIST_FILTERS = (
    ("q", "Text in name, email or phone."),
    ("status", f"A status or a comma list ({', '.join(STATUSES)})."),
    ("kind", f"{' or '.join(KINDS)}."),
    ("tag", "A tag; a comma list means all of them."),
    ("owner_id", "Owner's user id."),
    ("company_id", "People of this company."),
    ("source_channel", "Source channel."),
    ("utm_source", "UTM source."),
    ("utm_medium", "UTM medium."),
    ("utm_campaign", "UTM campaign."),
    ("country", "ISO 3166 country code."),
    ("created_after", "Created at or after (ISO 8601)."),
    ("created_before", "Created before (ISO 8601)."),
    ("updated_after", "Changed at or after (ISO 8601)."),
    ("updated_before", "Changed before (ISO 8601)."),
    ("sort", "name, created_at, updated_at, status, id or custom.<name>; prefix - to reverse."),
    ("limit", "Page size (at most CRMKIT_MAX_PAGE_SIZE)."),
    ("cursor", "Continue after the page that printed it."),
)


def _filter_options(func):
    for name, help_text in reversed(LIST_FILTERS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None,
                            help=help_text)(func)
    return func


@customers.command("list")
@_filter_options
@click.option("--custom", "custom", multiple=True, metavar="NAME[__OP]=VALUE",
              help="Custom field filter (ops: gte, lte, contains); repeat for more.")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@domain_command()
def list_cmd(custom, as_json, **filters):
    """List customers with the API's filters and sorts, one page at a time."""
    raw = {k: v for k, v in filters.items() if v is not None}
    raw.update({f"custom.{k}": v for k, v in key_values(custom, "--custom").items()})
    args = load_options(schemas.CustomerListArgs(), raw)
    page = list_customers(args, _max_page())
    records = customer_records(page.items)
    if as_json:
        echo_json({"items": records, "next_cursor": page.next_cursor, "limit": page.limit})
        return
    rows = [[r["id"], r["kind"], r["name"], r["email"], r["phone"], r["status"],
             ", ".join(r["tags"])] for r in records]
    click.echo(render_table(["id", "kind", "name", "email", "phone", "status", "tags"], rows))
    _more(page.next_cursor)


# -- show -----------------------------------------------------------------------------------------

@customers.command("show")
@click.argument("customer_id", type=int)
@domain_command()
def show(customer_id):
    """The 360 profile of a customer as JSON (record, timeline summary, figures, sections)."""
    echo_json(build_profile(customer_id))


# -- create ---------------------------------------------------------------------------------------

# (API name, help) of the single-valued fields `create` takes as --api-name.
CREATE_FIELDS = (
    ("name", "Company name (or a person's full name)."),
    ("first_name", "A person's first name."),
    ("last_name", "A person's last name."),
    ("job_title", "Job title."),
    ("email", "Primary email."),
    ("phone", "Primary phone (international form unless CRMKIT_DEFAULT_PHONE_REGION is set)."),
    ("street", "Street address."),
    ("city", "City."),
    ("region", "Region or state."),
    ("postal_code", "Postal code."),
    ("country", "ISO 3166 country code, e.g. GB."),
    ("competitor", "Competitor a potential customer buys from."),
    ("source_channel", "Where the customer came from."),
    ("utm_source", "UTM source."),
    ("utm_medium", "UTM medium."),
    ("utm_campaign", "UTM campaign."),
    ("utm_term", "UTM term."),
    ("utm_content", "UTM content."),
    ("notes", "Free notes."),
)


def _create_options(func):
    for name, help_text in reversed(CREATE_FIELDS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None,
                            help=help_text)(func)
    return func


@customers.command("create")
@click.option("--kind", type=click.Choice(KINDS), default=None, help="person (default) or company.")
@_create_options
@click.option("--company-id", type=int, default=None, help="The company a person belongs to.")
@click.option("--owner-id", type=int, default=None, help="Owner's user id.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Lifecycle status.")
@click.option("--other-email", "other_emails", multiple=True, help="Another email; repeatable.")
@click.option("--other-phone", "other_phones", multiple=True, help="Another phone; repeatable.")
@click.option("--tag", "tags", multiple=True, help="A tag; repeatable.")
@click.option("--custom", "custom", multiple=True, metavar="NAME=VALUE",
              help="A custom field value; repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the new record as JSON.")
@domain_command(write=True)
def create(custom, as_json, **fields):
    """Create a person or a company."""
    data = {k: v for k, v in fields.items() if v not in (None, ())}
    for name in ("other_emails", "other_phones", "tags"):
        if name in data:
            data[name] = list(data[name])
    if custom:
        data["custom"] = key_values(custom, "--custom")
    customer = create_customer(load_options(schemas.CustomerIn(), data), source="cli")
    if as_json:
        echo_json(customer_record(customer))
    else:
        click.echo(f"created customer {customer.id}: {customer.name}")


# -- duplicates -----------------------------------------------------------------------------------

@customers.command("duplicates")
@click.option("--rule", "rules", multiple=True, type=click.Choice(RULES),
              help="Only this rule; repeatable (default: all).")
@click.option("--customer-id", type=int, default=None,
              help="Only candidates this customer is part of.")
@click.option("--limit", type=int, default=None, help="Page size.")
@click.option("--cursor", default=None, help="Continue after the page that printed it.")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@domain_command()
def duplicates(rules, customer_id, limit, cursor, as_json):
    """Duplicate candidates: a shared mailbox or phone number, or similar names in one company.

    Pairs marked with `crmkit customers not-duplicates add` are left out.
    """
    params = {"rule": ",".join(rules) or None, "customer_id": customer_id, "limit": limit,
              "cursor": cursor}
    page = find_duplicates(params, _max_page())
    if as_json:
        echo_json({"items": [c.as_dict() for c in page.items], "next_cursor": page.next_cursor,
                   "limit": page.limit})
        return
    rows = [[c.rule, c.match, ", ".join(f"{x['id']} {x['name']}" for x in c.customers),
             c.suggested_survivor_id] for c in page.items]
    click.echo(render_table(["rule", "match", "customers", "suggested survivor"], rows))
    _more(page.next_cursor)


# -- merge ----------------------------------------------------------------------------------------

def _describe(customer) -> str:
    s = customer_summary(customer)
    contact = ", ".join(v for v in (s["email"], s["phone"]) if v)
    return f"{s['id']} {s['name']}" + (f" ({contact})" if contact else "")


@customers.command("merge")
@click.argument("survivor_id", type=int)
@click.argument("duplicate_id", type=int)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@domain_command()
def merge(survivor_id, duplicate_id, yes, as_json):
    """Fold customer DUPLICATE into SURVIVOR; the duplicate's id then points to the survivor."""
    if not yes and survivor_id != duplicate_id:
        # Asked before the write transaction opens: a person thinking holds no lock.
        keep, fold = get_customer(survivor_id), get_customer(duplicate_id)
        click.confirm(f"Fold customer {_describe(fold)} into customer {_describe(keep)}? "
                      "This cannot be undone", abort=True)
    with db.write_transaction():
        result = merge_customers(survivor_id, duplicate_id)
    if as_json:
        echo_json({"survivor": customer_record(result.survivor), "merged_id": result.merged.id,
                   "moved": result.moved, "changes": result.changes})
        return
    moved = ", ".join(f"{n} {what}" for what, n in result.moved.items() if n) or "nothing"
    click.echo(f"merged customer {result.merged.id} into {result.survivor.id}; moved: {moved}")


COMMANDS = [customers]
