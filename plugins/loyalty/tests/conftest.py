"""Fixtures for the loyalty tests: the kernel's (app, client, db ...) with only this plugin on."""
from __future__ import annotations

import pytest
from crmkit_loyalty.testing import Api


@pytest.fixture
def crmkit_config(crmkit_database_url):
    # Only the kernel and loyalty: the tests must not depend on whatever else is installed.
    return {"DATABASE_URL": crmkit_database_url, "PLUGINS": "loyalty"}


@pytest.fixture
def api(client):
    return Api(client)
