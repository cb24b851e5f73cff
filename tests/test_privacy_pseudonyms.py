"""An erased customer's pseudonym depends on nothing but its id: reaching the same database by
another URL (a new password, host or option) keeps it erased, and no hash of the URL is given
to whoever reads the pseudonym (webhook subscribers get it in customer.erased)."""
import importlib
import os

from crmkit.customers.models import Customer
from crmkit.db import connection, database
from crmkit.events import Event
from crmkit.privacy.personal_data import pseudonym_for
from crmkit.testing import _is_postgres, configured_test_database

MIGRATION = importlib.import_module("crmkit.migrations.0009_erasure_pseudonyms")


def same_database_by_another_url(url, tmp_path):
    if _is_postgres(configured_test_database()):
        return url + ("&" if "?" in url else "?") + "application_name=crmkit-other"
    path = url.removeprefix("sqlite:///")
    link = tmp_path / "another-way-in"
    os.symlink(os.path.dirname(path), link)
    return f"sqlite:///{link / os.path.basename(path)}"


def test_a_customer_stays_erased_when_the_database_is_reached_by_another_url(
        client, make_app, crmkit_database_url, tmp_path):
    customer = client.post("/api/v1/customers", json={
        "first_name": "Ada", "email": "ada@example.com"}).json
    erased = client.post(f"/api/v1/customers/{customer['id']}/erase")
    assert erased.status_code == 200, erased.json
    other_url = same_database_by_another_url(crmkit_database_url, tmp_path)
    assert other_url != crmkit_database_url
    other = make_app(DATABASE_URL=other_url).test_client()
    again = other.post(f"/api/v1/customers/{customer['id']}/erase")
    assert again.status_code == 409, again.json
    assert other.get(f"/api/v1/customers/{customer['id']}").json["name"] == (
        erased.json["pseudonym"])


def test_the_pseudonym_holds_nothing_of_the_settings(client, app):
    customer = client.post("/api/v1/customers", json={"first_name": "Ada"}).json
    pseudonym = client.post(f"/api/v1/customers/{customer['id']}/erase").json["pseudonym"]
    assert pseudonym == pseudonym_for(customer["id"])  # computed outside any app
    with app.app_context(), connection():
        event = Event.get(Event.type == "customer.erased")
    assert event.payload == f'{{"customer_id":{customer["id"]},"pseudonym":"{pseudonym}"}}'
    assert len({pseudonym_for(i) for i in range(1, 1001)}) == 1000


def test_the_migration_renames_customers_erased_under_the_old_scheme(client, app):
    ids = [client.post("/api/v1/customers", json=data).json["id"] for data in (
        {"first_name": "Ada"}, {"first_name": "Bob"}, {"first_name": "Cy"})]
    client.post(f"/api/v1/customers/{ids[0]}/erase")
    with app.app_context(), connection():
        # ids[0] as erasure left it under the URL-salted scheme; ids[1] a real customer whose
        # name looks like a pseudonym (but has a first name); ids[2] erased now.
        Customer.update(name="erased-0123456789ab").where(Customer.id == ids[0]).execute()
        Customer.update(name="erased-abcdefabcdef").where(Customer.id == ids[1]).execute()
        client.post(f"/api/v1/customers/{ids[2]}/erase")
        MIGRATION.up(None, database.obj)
        names = {c.id: c.name for c in Customer.select()}
    assert names == {ids[0]: pseudonym_for(ids[0]), ids[1]: "erased-abcdefabcdef",
                     ids[2]: pseudonym_for(ids[2])}
    assert client.post(f"/api/v1/customers/{ids[0]}/erase").status_code == 409
