"""``crmkit customers export-personal-data|erase|consent``: personal data from the command line."""
from __future__ import annotations

import json

import click

from crmkit.cli.customers_cmd import customers
from crmkit.cli.output import domain_command


@customers.command("export-personal-data")
@click.argument("customer_id", type=int)
@domain_command(write=True)  # the export itself is recorded in the audit trail
def export_personal_data_cmd(customer_id):
    """Print one JSON document with everything held on the person, kernel and plugins."""
    from crmkit.customers.service import get_customer
    from crmkit.privacy.personal_data import export_personal_data
    click.echo(json.dumps(export_personal_data(get_customer(customer_id)), indent=2))


@customers.command("erase")
@click.argument("customer_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@domain_command(write=True)
def erase_cmd(customer_id, yes):
    """Erase the person's personal data everywhere (kernel and plugins); cannot be undone."""
    from crmkit.customers.service import get_customer
    from crmkit.privacy.personal_data import erase_person
    customer = get_customer(customer_id)
    if not yes:
        click.confirm(f"Erase the personal data of customer {customer.id} ({customer.name})?",
                      abort=True)
    result = erase_person(customer)
    click.echo(f"erased customer {customer_id}: now {result['pseudonym']}"
               + (f"; plugins: {', '.join(result['plugins'])}" if result["plugins"] else ""))


@customers.command("consent")
@click.argument("customer_id", type=int)
@click.argument("channel")
@click.argument("decision", type=click.Choice(["grant", "withdraw"]))
@click.option("--source", required=True, help="Where the decision came from.")
@domain_command(write=True)
def consent_cmd(customer_id, channel, decision, source):
    """Record a person's marketing consent on one channel."""
    from crmkit.customers.service import get_customer
    from crmkit.privacy.consent import record_consent
    customer = get_customer(customer_id)
    record_consent(customer.id, channel, decision == "grant", source)
    click.echo(f"customer {customer_id}: {channel} {decision}ed")


COMMANDS: list = []
