"""The audit trail: who, when, what, before and after, request id; append-only; filters; and the
same mechanism for plugin models."""
import datetime as dt
import decimal

import flask_smorest
import marshmallow as ma
import peewee
import pytest
from flask.views import MethodView

from crmkit import Manifest, Permission, hookimpl
from crmkit.audit import Audited, record
from crmkit.audit.models import AppendOnlyError, AuditEvent
from crmkit.auth import protect
from crmkit.auth.scoping import get_visible
from crmkit.db import BaseModel


class Gadget(Audited, BaseModel):
    name = peewee.CharField(max_length=100)
    price = peewee.DecimalField(max_digits=10, decimal_places=2)
    secret = peewee.CharField(max_length=100, null=True)
    owner_id = peewee.IntegerField(null=True)

    audit_secret = frozenset({"secret"})

    class Meta:
        table_name = "gadgets_gadget"


class GadgetIn(ma.Schema):
    name = ma.fields.String(required=True)
    price = ma.fields.Decimal(required=True, as_string=True)


class GadgetOut(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    price = ma.fields.Decimal(as_string=True)


class GadgetPatch(ma.Schema):
    name = ma.fields.String()
    price = ma.fields.Decimal(as_string=True)


blp = protect(flask_smorest.Blueprint("gadgets", __name__, url_prefix="/gadgets"),
              read="gadgets:read", write="gadgets:write")


@blp.route("")
class Gadgets(MethodView):
    @blp.arguments(GadgetIn)
    @blp.response(201, GadgetOut)
    def post(self, data):
        return Gadget.create(**data)


@blp.route("/<int:gadget_id>")
class GadgetItem(MethodView):
    @blp.arguments(GadgetPatch)
    @blp.response(200, GadgetOut)
    def patch(self, data, gadget_id):
        gadget = get_visible(Gadget, gadget_id)
        for key, value in data.items():
            setattr(gadget, key, value)
        gadget.save()
        return gadget

    @blp.response(204)
    def delete(self, gadget_id):
        get_visible(Gadget, gadget_id).delete_instance()


class GadgetsPlugin:
    manifest = Manifest(name="gadgets")

    @hookimpl
    def register_models(self):
        return [Gadget]

    @hookimpl
    def register_blueprints(self):
        return [blp]

    @hookimpl
    def register_permissions(self):
        return [Permission("gadgets:read"), Permission("gadgets:write")]


@pytest.fixture
def crmkit_plugins():
    return [GadgetsPlugin()]


def audit_of(object_type, object_id=None):
    query = AuditEvent.select().where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    return list(query.order_by(AuditEvent.id))


def test_plugin_model_changes_are_audited_with_before_and_after(client, db):
    created = client.post("/api/v1/gadgets/gadgets", json={"name": "Lamp", "price": "9.50"},
                          headers={"X-Request-ID": "req-create-1"})
    assert created.status_code == 201
    gadget_id = created.json["id"]
    client.patch(f"/api/v1/gadgets/gadgets/{gadget_id}", json={"price": "11.00"})
    client.patch(f"/api/v1/gadgets/gadgets/{gadget_id}", json={"price": "11.00"})  # no change
    client.delete(f"/api/v1/gadgets/gadgets/{gadget_id}")
    events = audit_of("gadgets_gadget", gadget_id)
    assert [e.action for e in events] == ["create", "update", "delete"]
    create, update, delete = events
    assert create.changes["name"] == [None, "Lamp"]
    assert create.changes["price"] == [None, "9.50"]
    assert create.request_id == "req-create-1"
    assert created.headers["X-Request-ID"] == "req-create-1"
    assert list(update.changes) == ["price"]
    assert [decimal.Decimal(v) for v in update.changes["price"]] == [decimal.Decimal("9.5"),
                                                                      decimal.Decimal("11")]
    assert delete.changes["name"] == ["Lamp", None]
    assert {e.actor for e in events} == {"admin@crmkit.test"}
    assert all(e.actor_id is not None and e.token_id is not None for e in events)
    assert all(e.ip == "127.0.0.1" for e in events)


def test_a_refused_request_leaves_no_audit_record(client, db):
    client.get("/api/v1/users/me")  # the test administrator exists (its creation is audited)
    before = AuditEvent.select().count()
    response = client.post("/api/v1/gadgets/gadgets", json={"name": "No price"})
    assert response.status_code == 422
    assert AuditEvent.select().count() == before


def test_secret_fields_are_recorded_as_changed_without_values(db, app):
    gadget = Gadget.create(name="Safe", price=decimal.Decimal("1"), secret="hunter2")
    gadget.secret = "hunter3"
    gadget.save()
    create, update = audit_of("gadgets_gadget", gadget.id)
    assert create.changes["secret"] == [None, "[redacted]"]
    assert update.changes == {"secret": ["[redacted]", "[redacted]"]}
    assert "hunter" not in str(create.changes) + str(update.changes)
    assert create.actor.startswith("cli")  # outside a request: the operator


def test_the_trail_is_append_only(db, app):
    event = record("test.action", "thing", 1, changes={"a": [1, 2]})
    event.action = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete_instance()
    with pytest.raises(AppendOnlyError):
        AuditEvent.update(action="x").execute()
    with pytest.raises(AppendOnlyError):
        AuditEvent.delete().execute()
    assert AuditEvent.get_by_id(event.id).action == "test.action"


def test_the_api_has_no_way_to_write_the_trail(client):
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/api/v1/audit", json={}).status_code == 405
    assert client.delete("/api/v1/audit/1").status_code == 404


def test_audit_api_filters_by_object_user_action_and_time(client, make_client, db):
    agent = make_client("admin")
    first = client.post("/api/v1/gadgets/gadgets", json={"name": "A", "price": "1"}).json
    second = agent.post("/api/v1/gadgets/gadgets", json={"name": "B", "price": "2"}).json
    client.patch(f"/api/v1/gadgets/gadgets/{first['id']}", json={"name": "A2"})

    def query(**params):
        response = client.get("/api/v1/audit", query_string=params)
        assert response.status_code == 200, response.json
        return response.json["items"]

    by_object = query(object_type="gadgets_gadget", object_id=first["id"])
    assert [e["action"] for e in by_object] == ["update", "create"]  # newest first
    by_user = query(user_id=agent.user.id, object_type="gadgets_gadget")
    assert [e["object_id"] for e in by_user] == [str(second["id"])]
    assert [e["object_id"] for e in query(action="update")] == [str(first["id"])]
    assert {e["action"] for e in query(action="token.*")} == {"token.create"}
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    assert query(since=future) == []
    assert len(query(until=future, object_type="gadgets_gadget")) == 3
    page = client.get("/api/v1/audit?limit=2").json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/audit?limit=2&cursor={page['next_cursor']}").json["items"]
    assert {e["id"] for e in rest}.isdisjoint({e["id"] for e in page["items"]})
    assert client.get("/api/v1/audit?limit=100000").status_code == 422


def test_audit_cli_lists_the_newest_first(runner, client):
    client.post("/api/v1/gadgets/gadgets", json={"name": "Cli", "price": "3"})
    result = runner.invoke(["audit", "list", "--object-type", "gadgets_gadget"])
    assert result.exit_code == 0, result.output
    assert "admin@crmkit.test" in result.output and "create" in result.output
    as_json = runner.invoke(["audit", "list", "--json", "--action", "create"])
    assert '"object_type": "gadgets_gadget"' in as_json.output
