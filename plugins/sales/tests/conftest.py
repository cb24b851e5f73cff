"""Fixtures of the sales tests: the kernel's (crmkit.testing) with only sales switched on, so
other installed plugins (a loyalty discount, say) never change what these tests see."""
from __future__ import annotations

import pytest

from crmkit import db


@pytest.fixture
def crmkit_config(crmkit_database_url):
    return {"DATABASE_URL": crmkit_database_url, "PLUGINS": "sales"}


@pytest.fixture
def run(app):
    """``run(func)``: call ``func`` inside the app, in one write transaction (as a request
    would), and return its result."""

    def call(func, *args, **kwargs):
        with app.app_context(), db.connection(), db.write_transaction():
            return func(*args, **kwargs)

    return call


@pytest.fixture
def read(app):
    """``read(func)``: call ``func`` inside the app with a connection, no transaction."""

    def call(func, *args, **kwargs):
        with app.app_context(), db.connection():
            return func(*args, **kwargs)

    return call


BASIC_PIPELINE = {
    "name": "Sales",
    "currency": "EUR",
    "stages": [
        {"name": "New", "probability": 10, "rotting_days": 3},
        {"name": "Qualified", "probability": 30},
        {"name": "Proposal", "probability": 60,
         "automations": [{"action": "require_fields",
                          "config": {"fields": ["amount", "expected_close"]}}]},
        {"name": "Won", "kind": "won"},
        {"name": "Lost", "kind": "lost"},
    ],
}


@pytest.fixture
def pipeline(client):
    """A five-stage pipeline; ``pipeline["stage"]["Won"]`` is the stage's id."""
    response = client.post("/api/v1/sales/pipelines", json=BASIC_PIPELINE)
    assert response.status_code == 201, response.json
    data = response.json
    data["stage"] = {s["name"]: s["id"] for s in data["stages"]}
    return data


@pytest.fixture
def make_customer(client):
    counter = iter(range(1, 10_000))

    def create(**fields):
        n = next(counter)
        body = {"first_name": "Dana", "last_name": f"Example{n}",
                "email": f"dana{n}@example.com", **fields}
        response = client.post("/api/v1/customers", json=body)
        assert response.status_code == 201, response.json
        return response.json

    return create


@pytest.fixture
def customer(make_customer):
    return make_customer(street="1 Mill Lane", city="Leeds", postal_code="LS1 1AA",
                         country="GB", phone="+44 20 7946 0018")


@pytest.fixture
def make_deal(client, pipeline, customer):
    def create(**fields):
        body = {"customer_id": customer["id"], "title": "Heat pump", "amount": "1000.00",
                **fields}
        response = client.post("/api/v1/sales/deals", json=body)
        assert response.status_code == 201, response.json
        return response.json

    return create
