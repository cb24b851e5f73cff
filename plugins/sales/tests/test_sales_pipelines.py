"""Pipelines, ordered stages, automations as data, loading from files."""
import yaml

from crmkit.testing import assert_migrations_build_the_models

from crmkit_sales import pipelines
from crmkit_sales.demo import example_pipeline_file

API = "/api/v1/sales"


def test_migrations_build_the_models(make_app):
    assert_migrations_build_the_models(make_app(upgrade=False))


def test_pipeline_with_ordered_stages(client, pipeline):
    stages = pipeline["stages"]
    assert [s["name"] for s in stages] == ["New", "Qualified", "Proposal", "Won", "Lost"]
    assert [s["position"] for s in stages] == [1, 2, 3, 4, 5]
    assert [s["kind"] for s in stages] == ["open", "open", "open", "won", "lost"]
    assert [s["probability"] for s in stages] == [10, 30, 60, 100, 0]
    assert stages[0]["rotting_days"] == 3
    assert stages[2]["automations"][0]["action"] == "require_fields"


def test_reorder_and_add_stages(client, pipeline):
    ids = [s["id"] for s in pipeline["stages"]]
    swapped = [ids[1], ids[0], *ids[2:]]
    response = client.put(f"{API}/pipelines/{pipeline['id']}/stages/order",
                          json={"stage_ids": swapped})
    assert response.status_code == 200
    assert [s["id"] for s in response.json] == swapped
    bad = client.put(f"{API}/pipelines/{pipeline['id']}/stages/order",
                     json={"stage_ids": ids[:2]})
    assert bad.status_code == 422
    added = client.post(f"{API}/pipelines/{pipeline['id']}/stages",
                        json={"name": "Negotiation", "probability": 80})
    assert added.status_code == 201 and added.json["position"] == 6
    dup = client.post(f"{API}/pipelines/{pipeline['id']}/stages", json={"name": "Negotiation"})
    assert dup.status_code == 422 and "name" in dup.json["errors"]["json"]


def test_stage_rules(client, pipeline):
    bad = client.post(f"{API}/pipelines/{pipeline['id']}/stages",
                      json={"name": "X", "probability": 101})
    assert bad.status_code == 422
    bad = client.post(f"{API}/pipelines/{pipeline['id']}/stages", json={"name": "X",
                                                                       "kind": "maybe"})
    assert bad.status_code == 422


def test_automation_configs_are_checked(client, pipeline):
    stage = pipeline["stage"]["Qualified"]
    url = f"{API}/stages/{stage}/automations"
    cases = [
        ({"action": "explode"}, "action"),
        ({"action": "create_task", "config": {"title": "Call", "due": "soonish"}}, "config.due"),
        ({"action": "create_task", "config": {"title": "Call {{ customer.nmae }}"}},
         "config.title"),
        ({"action": "create_task", "config": {"title": "{{ deal.__class__ }}"}}, "config.title"),
        ({"action": "create_task", "config": {"title": "Call", "assignee": "role:nobody"}},
         "config.assignee"),
        ({"action": "create_task", "config": {"title": "Call", "colour": "red"}}, "config.colour"),
        ({"action": "notify", "config": {"to": ["everyone"], "message": "Hi"}}, "config.to.0"),
        ({"action": "require_fields", "config": {"fields": ["shoe_size"]}}, "config.fields"),
        ({"action": "generate_document", "config": {"template": "Missing"}}, "config.template"),
        ({"action": "emit_event", "config": {"type": "customer.created"}}, "config.type"),
    ]
    for body, field in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, body
        assert field in response.json["errors"]["json"], (body, response.json)
    ok = client.post(url, json={"action": "create_task", "config": {
        "title": "Call {{ customer.name }}", "due": "next business day 10:00", "kind": "call"}})
    assert ok.status_code == 201
    assert ok.json["config"]["assignee"] == "owner"


def test_stage_with_deals_cannot_be_deleted(client, make_deal, pipeline):
    make_deal()
    response = client.delete(f"{API}/stages/{pipeline['stage']['New']}")
    assert response.status_code == 409
    empty = client.delete(f"{API}/stages/{pipeline['stage']['Qualified']}")
    assert empty.status_code == 204
    assert client.delete(f"{API}/pipelines/{pipeline['id']}").status_code == 409


def test_load_file_creates_then_updates(client, run, read):
    client.post(f"{API}/templates", json={"name": "Quote", "kind": "quote"})
    client.post(f"{API}/templates", json={"name": "Payment request", "kind": "payment"})
    client.post("/api/v1/roles", json={"name": "installer", "permissions": ["sales.tasks:read"]})
    data = yaml.safe_load(example_pipeline_file())
    first = client.post(f"{API}/pipelines/load", json=data)
    assert first.status_code == 200, first.json
    assert first.json["loaded"][0]["created"] is True
    # The file is the truth: rename nothing, drop a stage, change a probability.
    data["pipelines"][0]["stages"] = [s for s in data["pipelines"][0]["stages"]
                                      if s["name"] != "Estimate"]
    data["pipelines"][0]["stages"][0]["probability"] = 15
    second = client.post(f"{API}/pipelines/load", json=data)
    assert second.status_code == 200 and second.json["loaded"][0]["created"] is False
    stages = client.get(f"{API}/pipelines").json[0]["stages"]
    assert "Estimate" not in [s["name"] for s in stages]
    assert stages[0]["probability"] == 15
    exported = client.get(f"{API}/pipelines/export").json
    assert run(pipelines.load_pipelines, exported)  # what is exported loads back
    again = client.get(f"{API}/pipelines/export").json
    assert again == exported


def test_load_refuses_bad_file_and_stores_nothing(client):
    response = client.post(f"{API}/pipelines/load", json={"pipelines": [
        {"name": "Broken", "stages": [{"name": "A", "automations": [{"action": "nope"}]}]}]})
    assert response.status_code == 422
    assert "pipelines.0.stages.0.automations.0.action" in response.json["errors"]["json"]
    assert client.get(f"{API}/pipelines").json == []


def test_cli_loads_yaml_and_lists(runner, tmp_path, run):
    run(lambda: __import__("crmkit_sales.documents", fromlist=["x"]).ensure_default_templates())
    path = tmp_path / "pipes.yaml"
    path.write_text(yaml.safe_dump({"pipelines": [{"name": "Simple", "currency": "GBP", "stages": [
        {"name": "Call", "automations": [{"action": "create_task", "title": "Call",
                                          "due": "+15 minutes"}]},
        {"name": "Won", "kind": "won"}]}]}))
    result = runner.invoke(["sales", "pipelines", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "Simple: created, 2 stages" in result.output
    listed = runner.invoke(["sales", "pipelines", "list"])
    assert "Simple  GBP" in listed.output and "Call  open 0%  -> create_task" in listed.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"pipelines": [{"name": "X", "stages": [{"name": "A", "kind": "odd"}]}]}')
    failed = runner.invoke(["sales", "pipelines", "load", str(bad)])
    assert failed.exit_code == 1 and "kind" in failed.output
    exported = runner.invoke(["sales", "pipelines", "export"])
    assert yaml.safe_load(exported.output)["pipelines"][0]["name"] == "Simple"
