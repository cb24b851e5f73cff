"""crmkit-sales: sales force automation. Manifest and hook implementations only: the rules live in
the modules named for what they do (deals, pipelines, automation, tasks, ...)."""
from crmkit import Manifest, Permission, hookimpl

manifest = Manifest(
    name="sales", version="0.1.0",
    description="Leads, pipelines with stage automation, tasks and calendar, quotes, documents, "
                "forecasts and reports")

PERMISSIONS = [
    Permission("sales.leads:read", "See leads"),
    Permission("sales.leads:write", "Create, change, qualify, convert and disqualify leads"),
    Permission("sales.deals:read", "See deals, their history, documents and attachments"),
    Permission("sales.deals:write", "Create and change deals, move them between stages"),
    Permission("sales.deals:reassign", "Give a deal, lead or task to another user"),
    Permission("sales.tasks:read", "See tasks and calendars"),
    Permission("sales.tasks:write", "Create, change and complete tasks; own calendar feed"),
    Permission("sales.pipelines:read", "See pipelines, stages and their automations"),
    Permission("sales.pipelines:manage", "Change pipelines, stages and stage automations"),
    Permission("sales.catalog:read", "See products and price lists"),
    Permission("sales.catalog:manage", "Change products and price lists"),
    Permission("sales.templates:manage", "Change document templates"),
    Permission("sales.forms:manage", "Create web forms and their keys"),
    Permission("sales.assignment:manage", "Change assignment rules"),
    Permission("sales.reports:read", "See sales reports, forecasts and target attainment"),
    Permission("sales.targets:manage", "Set sales targets"),
]


@hookimpl
def add_hookspecs(pm):
    from crmkit_sales.hookspecs import SalesSpecs
    pm.add_hookspecs(SalesSpecs)


@hookimpl
def register_models():
    from crmkit_sales.models import MODELS
    return MODELS


@hookimpl
def register_blueprints():
    from crmkit_sales.api import BLUEPRINTS
    return BLUEPRINTS


@hookimpl
def register_commands(cli):
    from crmkit_sales.cli import sales
    cli.add_command(sales)


@hookimpl
def register_permissions():
    return PERMISSIONS


@hookimpl
def register_jobs():
    from crmkit_sales.jobs import JOBS
    return JOBS


@hookimpl
def register_interaction_types():
    return ["sales.document"]


@hookimpl
def register_custom_field_entities():
    return ["sales.deal"]


@hookimpl
def register_segment_fields():
    from crmkit_sales.privacy import segment_fields
    return segment_fields()


@hookimpl
def customer_merged(survivor, merged):
    from crmkit_sales.privacy import move_to_survivor
    move_to_survivor(survivor, merged)


@hookimpl
def customer_profile_section(customer):
    from crmkit_sales.privacy import profile_section
    return profile_section(customer)


@hookimpl
def export_personal_data(customer):
    from crmkit_sales.privacy import export
    return export(customer)


@hookimpl
def erase_personal_data(customer, pseudonym):
    from crmkit_sales.privacy import erase
    erase(customer, pseudonym)


@hookimpl
def load_demo_data(size):
    from crmkit_sales.demo import load
    load(size)
