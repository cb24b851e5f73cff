"""crmkit-loyalty: programmes, earn rules, a points ledger with pending points and expiry, tiers,
rewards with vouchers, referrals.

This module is the plugin's manifest and its hook implementations, nothing else: each hook hands
over to a domain module (ledger, earn, tiers, rewards, referrals, ...). It imports only the kernel.
"""
from crmkit import Manifest, PeriodicJob, Permission, hookimpl

manifest = Manifest(name="loyalty", version="0.1.0",
                    description="Loyalty programmes: points, tiers, rewards, referrals")


@hookimpl
def register_models():
    from crmkit_loyalty.models import MODELS
    return MODELS


@hookimpl
def register_blueprints():
    from crmkit_loyalty.api import BLUEPRINTS
    return BLUEPRINTS


@hookimpl
def register_commands(cli):
    from crmkit_loyalty.cli import register
    register(cli)


@hookimpl
def register_permissions():
    return [
        Permission("loyalty.programmes:read", "See loyalty programmes, earn rules, tiers, rewards"),
        Permission("loyalty.programmes:manage",
                   "Configure loyalty programmes, rules, tiers and rewards; evaluate tiers"),
        Permission("loyalty.members:read", "See members, balances, statements and redemptions"),
        Permission("loyalty.members:write", "Enrol members, redeem rewards, record referrals"),
        Permission("loyalty.points:adjust", "Add or take points by hand"),
        Permission("loyalty.vouchers:read", "Check vouchers"),
        Permission("loyalty.vouchers:write", "Consume vouchers"),
    ]


@hookimpl
def register_jobs():
    from crmkit_loyalty import jobs
    return [PeriodicJob("expire-points", "15 2 * * *", jobs.expire_points),
            PeriodicJob("evaluate-tiers", "45 2 * * *", jobs.evaluate_due_tiers)]


@hookimpl
def register_interaction_types():
    return ["loyalty.reward_redeemed"]


@hookimpl
def interaction_recorded(interaction):
    from crmkit_loyalty.earn import on_interaction
    on_interaction(interaction)


@hookimpl
def customer_benefits(customer, context):
    from crmkit_loyalty.customer_data import benefits
    return benefits(customer, context)


@hookimpl
def register_segment_fields():
    from crmkit_loyalty.customer_data import segment_fields
    return segment_fields()


@hookimpl
def customer_merged(survivor, merged):
    from crmkit_loyalty.customer_data import merge
    merge(survivor, merged)


@hookimpl
def customer_profile_section(customer):
    from crmkit_loyalty.customer_data import profile_section
    return profile_section(customer)


@hookimpl
def export_personal_data(customer):
    from crmkit_loyalty.customer_data import export
    return export(customer)


@hookimpl
def erase_personal_data(customer, pseudonym):
    from crmkit_loyalty.customer_data import erase
    erase(customer, pseudonym)


@hookimpl
def load_demo_data(size):
    from crmkit_loyalty.demo import load_demo
    load_demo(size)
