"""Demo data: the installation company's pipeline, products, a sales team, deals and tasks."""
from __future__ import annotations

import datetime as dt
import importlib.resources
import random

from crmkit.customers.models import Customer
from crmkit.db import utcnow

from crmkit_sales import deals as deal_rules
from crmkit_sales import documents, pipelines, tasks
from crmkit_sales.models import Deal, Pipeline, Product, StageHistory, Task

PRODUCTS = [("BOILER-SVC", "Boiler service", "180.00", "20"),
            ("HP-INSTALL", "Heat pump installation", "6400.00", "5"),
            ("MAINT-PLAN", "Annual maintenance plan", "240.00", "20"),
            ("RADIATOR", "Radiator", "310.00", "20"),
            ("THERMOSTAT", "Smart thermostat", "199.00", "20")]
LOST_REASONS = ("Too expensive", "Chose a competitor", "No budget this year", "No response")
SOURCES = ("web", "referral", "phone", "trade_show", "ads")


def example_pipeline_file() -> str:
    return (importlib.resources.files("crmkit_sales").joinpath("examples", "installations.yaml")
            .read_text())


def ensure_installer_role() -> None:
    from crmkit.auth import roles
    from crmkit.auth.models import Role
    if not Role.select().where(Role.name == "installer").exists():
        from flask import current_app

        from crmkit.registry import collect_permissions
        known = [p.name for _, p in collect_permissions(current_app.extensions["crmkit"].pm)]
        roles.create_role("installer", ["sales.tasks:read", "sales.tasks:write",
                                        "sales.deals:read", "customers:read"],
                          known, "own", "Installs what was sold; sees their own tasks")


def _demo_users():
    from crmkit.auth import users
    from crmkit.auth.models import Team, User
    made = []
    for email, name, role in (("sales.manager@example.com", "Morgan Manager", "manager"),
                              ("sam.seller@example.com", "Sam Seller", "agent"),
                              ("alex.seller@example.com", "Alex Seller", "agent"),
                              ("ivy.installer@example.com", "Ivy Installer", "installer")):
        user = User.get_or_none(User.email == email) or users.create_user(email, name, role)
        made.append(user)
    manager, sam, alex, _ = made
    team = Team.get_or_none(Team.name == "Sales") or users.create_team("Sales", manager)
    users.add_member(team, sam)
    users.add_member(team, alex)
    return made, team


def load(size: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    ensure_installer_role()
    (manager, sam, alex, _installer), team = _demo_users()
    documents.ensure_default_templates()
    if not Pipeline.select().where(Pipeline.name == "Installations").exists():
        pipelines.load_pipelines(pipelines.parse_file(example_pipeline_file(), "x.yaml"))
    for sku, name, price, tax in PRODUCTS:
        if not Product.select().where(Product.sku == sku).exists():
            Product.create(sku=sku, name=name, unit_price=price, currency="GBP", tax_rate=tax)
    from crmkit_sales import assignment
    if not assignment.list_rules():
        assignment.create_rule({"name": "Web enquiries", "team_id": team.id,
                                "strategy": "round_robin", "source": "web"})
    pipeline = Pipeline.get(Pipeline.name == "Installations")
    stages = pipelines.stages_of(pipeline)
    open_stages = [s for s in stages if s.kind == "open"]
    won = next(s for s in stages if s.kind == "won")
    lost = next(s for s in stages if s.kind == "lost")
    people = (Customer.select().where(Customer.kind == "person", Customer.street.is_null(False),
                                      Customer.phone.is_null(False))
              .order_by(Customer.id).limit(max(3, size // 3)))
    now = utcnow()
    for customer in people:
        sku, name, price, _ = rng.choice(PRODUCTS)
        deal = deal_rules.create_deal({
            "customer_id": customer.id, "title": f"{name} for {customer.name}",
            "owner_id": rng.choice([sam.id, alex.id]), "source": rng.choice(SOURCES),
            "expected_close": (now + dt.timedelta(days=rng.randint(-30, 120))).date(),
            "lines": [{"sku": sku, "quantity": rng.randint(1, 3)}]}, by_user=manager.id)
        target = rng.choice(open_stages + [won, won, lost])
        path = open_stages[:open_stages.index(target) + 1] if target in open_stages \
            else open_stages + [target]
        for stage in path[1:]:
            reason = rng.choice(LOST_REASONS) if stage.kind == "lost" else None
            deal_rules.move_deal(deal, stage.id, deal.owner_id, lost_reason=reason)
        # Spread the story over the past months so reports have something to show.
        age = dt.timedelta(days=rng.randint(5, 240))
        changes = {"created_at": deal.created_at - age}
        if deal.status == "won":
            changes["won_at"] = deal.won_at - age + dt.timedelta(days=rng.randint(10, 60))
        Deal.update(changes).where(Deal.id == deal.id).execute()
        for stay in StageHistory.select().where(StageHistory.deal == deal.id):
            StageHistory.update(entered_at=stay.entered_at - age).where(
                StageHistory.id == stay.id).execute()
    for task in list(Task.select().where(Task.status == "open").limit(size // 10)):
        tasks.complete_task(task, "Done as planned", task.assignee_id)

