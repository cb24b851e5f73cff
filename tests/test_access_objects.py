"""Object-level access: own, team and all scopes on customers and on plugin records that opt in.

User A cannot read, list, update, export or delete user B's records: another owner's id answers
404, exactly like an id that does not exist.
"""
import flask_smorest
import peewee
import pytest
from flask.views import MethodView

from crmkit import Manifest, Permission, hookimpl
from crmkit.auth import protect
from crmkit.auth.scoping import get_visible, visible
from crmkit.db import BaseModel


@pytest.fixture
def closer_role(client):
    """Own scope, every customer permission (delete, export, erase too): isolates the scope."""
    response = client.post("/api/v1/roles", json={
        "name": "closer", "permissions": ["customers:*", "privacy:*", "!customers:reassign"],
        "scope": "own"})
    assert response.status_code == 201
    return "closer"


@pytest.fixture
def alice(make_client, closer_role):
    return make_client(closer_role, teams=["north"])


@pytest.fixture
def bob(make_client, closer_role):
    return make_client(closer_role, teams=["south"])


def create(client, **fields):
    response = client.post("/api/v1/customers", json={"first_name": "X", **fields})
    assert response.status_code == 201, response.json
    return response.json


def ids(response):
    assert response.status_code == 200, response.json
    return sorted(c["id"] for c in response.json["items"])


def test_the_creator_owns_a_new_customer(alice):
    assert create(alice)["owner_id"] == alice.user.id


def test_another_owners_customer_is_invisible_everywhere(alice, bob):
    mine = create(alice, first_name="Alice's", email="a@example.com")["id"]
    theirs = create(bob, first_name="Bob's", email="b@example.com")["id"]
    assert ids(alice.get("/api/v1/customers")) == [mine]
    assert ids(bob.get("/api/v1/customers")) == [theirs]
    missing = alice.get("/api/v1/customers/999999")
    for method, path, body in [
        ("get", f"/api/v1/customers/{theirs}", None),
        ("patch", f"/api/v1/customers/{theirs}", {"city": "Oslo"}),
        ("delete", f"/api/v1/customers/{theirs}", None),
        ("get", f"/api/v1/customers/{theirs}/profile", None),
        ("get", f"/api/v1/customers/{theirs}/interactions", None),
        ("post", f"/api/v1/customers/{theirs}/interactions", {"type": "note"}),
        ("get", f"/api/v1/customers/{theirs}/personal-data", None),
        ("post", f"/api/v1/customers/{theirs}/erase", None),
        ("get", f"/api/v1/customers/{theirs}/consents", None),
        ("post", f"/api/v1/customers/{theirs}/consents",
         {"channel": "email", "granted": True, "source": "x"}),
    ]:
        response = alice.open(path, method=method.upper(), json=body)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response.json["message"] == missing.json["message"].replace("999999", str(theirs))
    assert bob.get(f"/api/v1/customers/{theirs}").json["city"] is None  # nothing changed
    export = alice.get("/api/v1/customers/export?format=jsonl").get_data(as_text=True)
    assert "Alice's" in export and "Bob's" not in export
    assert "b@example.com" not in alice.get("/api/v1/customers?q=example").get_data(as_text=True)


def test_the_owner_can_read_change_export_and_delete(alice):
    customer_id = create(alice)["id"]
    assert alice.patch(f"/api/v1/customers/{customer_id}", json={"city": "Oslo"}
                       ).json["city"] == "Oslo"
    assert alice.get(f"/api/v1/customers/{customer_id}/personal-data").status_code == 200
    assert alice.delete(f"/api/v1/customers/{customer_id}").status_code == 204


def test_team_scope_sees_the_team_and_all_scope_sees_everyone(make_client, alice, bob):
    north_manager = make_client("manager", manager_of=["north"])
    south_rep_customer = create(bob)["id"]
    north_rep_customer = create(alice)["id"]
    managers_own = create(north_manager)["id"]
    assert ids(north_manager.get("/api/v1/customers")) == sorted(
        [north_rep_customer, managers_own])
    assert north_manager.get(f"/api/v1/customers/{south_rep_customer}").status_code == 404
    assert north_manager.patch(f"/api/v1/customers/{north_rep_customer}",
                               json={"city": "Bergen"}).status_code == 200
    reader = make_client("read-only")
    assert ids(reader.get("/api/v1/customers")) == sorted(
        [south_rep_customer, north_rep_customer, managers_own])
    assert reader.patch(f"/api/v1/customers/{south_rep_customer}",
                        json={"city": "x"}).status_code == 403


def test_team_members_see_each_other(make_client, closer_role):
    first = make_client(closer_role, teams=["east"])
    second = make_client("manager", teams=["east"])  # a member, not the manager
    customer_id = create(first)["id"]
    assert second.get(f"/api/v1/customers/{customer_id}").status_code == 200


def test_owner_changes_need_the_reassign_permission(alice, bob, make_client):
    customer_id = create(alice)["id"]
    refused = alice.patch(f"/api/v1/customers/{customer_id}", json={"owner_id": bob.user.id})
    assert refused.status_code == 403
    assert refused.json["errors"]["json"] == {"owner_id": ["Not allowed."]}
    assert alice.post("/api/v1/customers", json={"first_name": "Y", "owner_id": bob.user.id}
                      ).status_code == 403
    assert create(alice, owner_id=alice.user.id)["owner_id"] == alice.user.id
    manager = make_client("manager", manager_of=["north"])
    moved = manager.patch(f"/api/v1/customers/{customer_id}", json={"owner_id": bob.user.id})
    assert moved.status_code == 200 and moved.json["owner_id"] == bob.user.id
    assert alice.get(f"/api/v1/customers/{customer_id}").status_code == 404
    assert bob.get(f"/api/v1/customers/{customer_id}").status_code == 200
    assert manager.patch(f"/api/v1/customers/{customer_id}", json={"owner_id": 987654}
                         ).status_code in (404, 422)


def test_the_operator_sees_everything_from_the_command_line(runner, alice, bob):
    create(alice, first_name="Cli-A")
    create(bob, first_name="Cli-B")
    listed = runner.invoke(["customers", "list"]).output
    assert "Cli-A" in listed and "Cli-B" in listed


# -- a plugin record opting in with an owner and a team -------------------------------------------

class Deal(BaseModel):
    title = peewee.CharField(max_length=100)
    owner_id = peewee.IntegerField(null=True, index=True)
    team_id = peewee.IntegerField(null=True, index=True)

    class Meta:
        table_name = "deals_deal"


deals = protect(flask_smorest.Blueprint("deals", __name__, url_prefix="/deals"),
                read="deals:read", write="deals:write")


@deals.route("")
class Deals(MethodView):
    def get(self):
        return {"titles": [d.title for d in visible(Deal.select().order_by(Deal.id))]}


@deals.route("/<int:deal_id>")
class DealItem(MethodView):
    def get(self, deal_id):
        return {"title": get_visible(Deal, deal_id, label="deal").title}


class DealsPlugin:
    manifest = Manifest(name="deals")

    @hookimpl
    def register_models(self):
        return [Deal]

    @hookimpl
    def register_blueprints(self):
        return [deals]

    @hookimpl
    def register_permissions(self):
        return [Permission("deals:read"), Permission("deals:write")]


@pytest.fixture
def crmkit_plugins():
    return [DealsPlugin()]


def test_plugin_records_opt_in_with_owner_and_team_fields(make_client, db):
    from crmkit.auth.models import Team
    rep = make_client("agent", teams=["west"])
    colleague = make_client("manager", teams=["west"])
    outsider = make_client("manager", teams=["elsewhere"])
    west = Team.get(Team.name == "west")
    own = Deal.create(title="rep's", owner_id=rep.user.id)
    team_deal = Deal.create(title="west team's", team_id=west.id)
    other = Deal.create(title="outsider's", owner_id=outsider.user.id)
    assert rep.get("/api/v1/deals/deals").json["titles"] == ["rep's"]
    assert colleague.get("/api/v1/deals/deals").json["titles"] == ["rep's", "west team's"]
    assert outsider.get("/api/v1/deals/deals").json["titles"] == ["outsider's"]
    assert rep.get(f"/api/v1/deals/deals/{team_deal.id}").status_code == 404
    assert colleague.get(f"/api/v1/deals/deals/{team_deal.id}").json == {"title": "west team's"}
    response = rep.get(f"/api/v1/deals/deals/{other.id}")
    assert response.status_code == 404
    assert response.json["message"] == f"No deal with id {other.id}."
    assert own.id
