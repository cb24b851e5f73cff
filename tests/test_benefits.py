"""``customer_benefits``: what plugins grant a customer, collected without importing them."""
from decimal import Decimal

import pytest

from crmkit import Manifest, hookimpl
from crmkit.benefits import benefits_for, best_discount_percent
from crmkit.customers.models import Customer


class Perks:
    """A throwaway plugin: VIP-tagged names get 7.5% off and free delivery."""

    manifest = Manifest(name="perks")

    def __init__(self):
        self.contexts = []

    @hookimpl
    def customer_benefits(self, customer, context):
        self.contexts.append(context)
        if not customer.name.startswith("VIP"):
            return None
        return [{"kind": "discount_percent", "value": "7.5", "label": "VIP: 7.5% off"},
                {"kind": "perk", "value": "free_delivery", "label": "VIP: free delivery"}]


class Coupons:
    manifest = Manifest(name="coupons")

    @hookimpl
    def customer_benefits(self, customer, context):
        return [{"kind": "discount_amount", "value": 10, "currency": "EUR",
                 "label": "10 EUR off"},
                {"kind": "discount_percent", "value": Decimal(5), "label": "5% off"}]


def test_hook_customer_benefits(make_app, db_for):
    perks = Perks()
    app = make_app(plugins=[perks, Coupons()])
    with db_for(app):
        vip = Customer.create(name="VIP Ada")
        plain = Customer.create(name="Bob")
        context = {"purpose": "quote", "currency": "EUR", "amount": Decimal("1200.00")}
        granted = benefits_for(vip, context)
        assert sorted((b["source"], b["kind"], str(b["value"])) for b in granted) == [
            ("coupons", "discount_amount", "10"), ("coupons", "discount_percent", "5"),
            ("perks", "discount_percent", "7.5"), ("perks", "perk", "free_delivery")]
        assert all(isinstance(b["value"], Decimal) for b in granted if b["kind"] != "perk")
        assert best_discount_percent(granted) == Decimal("7.5")  # the best one, not the sum
        assert perks.contexts[0] == context
        assert [b["source"] for b in benefits_for(plain)] == ["coupons", "coupons"]


def test_hook_customer_benefits_of_an_unknown_kind_names_the_plugin(make_app, db_for):
    class Broken:
        manifest = Manifest(name="broken")

        @hookimpl
        def customer_benefits(self, customer, context):
            return [{"kind": "cashback", "value": 1}]

    app = make_app(plugins=[Broken()])
    with db_for(app):
        with pytest.raises(ValueError, match="plugin 'broken' returned a benefit of unknown kind"):
            benefits_for(Customer.create(name="Ada"))


@pytest.fixture
def db_for():
    """An app context with a connection, for calling kernel functions directly."""
    from contextlib import contextmanager

    from crmkit import db

    @contextmanager
    def enter(app):
        with app.app_context(), db.connection():
            yield

    return enter
