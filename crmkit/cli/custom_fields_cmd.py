"""``crmkit custom-fields list|define|delete``: extra fields an installation defines per entity."""
from __future__ import annotations

import click

from crmkit import custom_fields, db
from crmkit.cli.output import domain_command, echo_json, load_options
from crmkit.custom_fields import TYPES, CustomField
from crmkit.customers import schemas
from crmkit.errors import NotFound
from crmkit.tables import render_table


@click.group("custom-fields")
def custom_fields_group():
    """Custom field definitions of customers and of plugins' entities."""


@custom_fields_group.command("list")
@click.option("--entity", default=None, help="Only this entity (customer, sales.deal, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@domain_command()
def list_fields(entity, as_json):
    """Every definition: entity, name, type, required and choices."""
    query = CustomField.select().order_by(CustomField.entity, CustomField.name)
    if entity:
        query = query.where(CustomField.entity == entity)
    fields = [f.as_dict() for f in query]
    if as_json:
        echo_json(fields)
        return
    rows = [[f["id"], f["entity"], f["name"], f["type"], "yes" if f["required"] else "no",
             ", ".join(f["choices"]) or "-", f["label"]] for f in fields]
    click.echo(render_table(["id", "entity", "name", "type", "required", "choices", "label"],
                            rows))


@custom_fields_group.command("define")
@click.argument("name")
@click.option("--type", "type_", required=True, type=click.Choice(TYPES), help="Value type.")
@click.option("--entity", default="customer", show_default=True, help="Entity the field is on.")
@click.option("--label", default=None, help="Label shown to people (default: from the name).")
@click.option("--choice", "choices", multiple=True,
              help="An allowed value of a choice or multi_choice field; repeatable.")
@click.option("--required", is_flag=True, help="Every record must have a value.")
@domain_command(write=True)
def define(name, type_, entity, label, choices, required):
    """Define custom field NAME on an entity."""
    data = {"name": name, "type": type_, "entity": entity, "required": required}
    if label is not None:
        data["label"] = label
    if choices:
        data["choices"] = list(choices)
    field = custom_fields.define_field(**load_options(schemas.CustomFieldIn(), data))
    click.echo(f"defined {field.entity}.{field.name} ({field.type}), id {field.id}")


def _find(ref: str, entity: str) -> CustomField:
    # ASCII digits only: isdigit() is also true of "١٢٣", which int() reads as 123. Names start
    # with a letter, so a reference of digits is always an id (get_field bounds its size).
    if ref.isascii() and ref.isdigit():
        return custom_fields.get_field(int(ref))
    field = CustomField.get_or_none((CustomField.entity == entity) & (CustomField.name == ref))
    if field is None:
        raise NotFound(f"No custom field {ref!r} on {entity}.")
    return field


@custom_fields_group.command("delete")
@click.argument("field")
@click.option("--entity", default="customer", show_default=True,
              help="Entity of a field given by name.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@domain_command()
def delete(field, entity, yes):
    """Delete FIELD (an id or a name) together with every value stored for it."""
    found = _find(field, entity)
    if not yes:
        click.confirm(f"Delete {found.entity}.{found.name} and every value stored for it?",
                      abort=True)
    with db.write_transaction():
        custom_fields.delete_field(found.id)
    click.echo(f"deleted {found.entity}.{found.name}")


COMMANDS = [custom_fields_group]
