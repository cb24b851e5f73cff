"""Stage automation: due times, assignees, notifications, documents, events, all-or-nothing."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crmkit_sales.automation import due_at

API = "/api/v1/sales"
UTC = dt.timezone.utc


@pytest.mark.parametrize("spec, start, expected", [
    ("+15 minutes", dt.datetime(2025, 3, 7, 16, 50, tzinfo=UTC),
     dt.datetime(2025, 3, 7, 17, 5, tzinfo=UTC)),
    ("+2 hours", dt.datetime(2025, 3, 7, 23, 30, tzinfo=UTC),
     dt.datetime(2025, 3, 8, 1, 30, tzinfo=UTC)),
    # Friday afternoon: the next business day is Monday.
    ("next business day 10:00", dt.datetime(2025, 3, 7, 16, 0, tzinfo=UTC),
     dt.datetime(2025, 3, 10, 10, 0, tzinfo=UTC)),
    ("next business day 10:00", dt.datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
     dt.datetime(2025, 3, 5, 10, 0, tzinfo=UTC)),
    ("+2 business days", dt.datetime(2025, 3, 6, 12, 0, tzinfo=UTC),
     dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC)),
    ("tomorrow 09:00", dt.datetime(2025, 3, 4, 22, 0, tzinfo=UTC),
     dt.datetime(2025, 3, 5, 9, 0, tzinfo=UTC)),
    ("today 17:00", dt.datetime(2025, 3, 4, 8, 0, tzinfo=UTC),
     dt.datetime(2025, 3, 4, 17, 0, tzinfo=UTC)),
])
def test_due_times(spec, start, expected):
    assert due_at(spec, start, UTC) == expected


def test_business_days_count_in_the_sales_time_zone():
    berlin = ZoneInfo("Europe/Berlin")
    # 23:30 UTC on Friday is already Saturday in Berlin; 10:00 Berlin in March is 09:00 UTC.
    start = dt.datetime(2025, 3, 7, 23, 30, tzinfo=UTC)
    assert due_at("next business day 10:00", start, berlin) == dt.datetime(2025, 3, 10, 9, 0,
                                                                          tzinfo=UTC)


def configure(client, stage_id, automations):
    response = client.patch(f"{API}/stages/{stage_id}", json={"automations": automations})
    assert response.status_code == 200, response.json
    return response.json


def test_tasks_go_to_owner_user_role_and_team_in_turn(client, make_client, make_deal, pipeline):
    sam = make_client("agent", teams=("Crew",), name="Sam")
    kim = make_client("agent", teams=("Crew",), name="Kim")
    fixer = make_client("agent", name="Fixer")
    team_id = next(t["id"] for t in client.get("/api/v1/teams").json if t["name"] == "Crew")
    client.post("/api/v1/roles", json={"name": "surveyor", "permissions": ["sales.tasks:read"]})
    surveyor = make_client("surveyor", name="Surveyor")
    configure(client, pipeline["stage"]["Qualified"], [
        {"action": "create_task", "config": {"title": "Owner: {{ deal.title }}",
                                             "assignee": "owner"}},
        {"action": "create_task", "config": {"title": "User", "assignee": f"user:{fixer.user.id}"}},
        {"action": "create_task", "config": {"title": "Role", "assignee": "role:surveyor"}},
        {"action": "create_task", "config": {"title": "Team", "assignee": f"team:{team_id}"}},
    ])
    turns = []
    for i in range(3):
        deal = make_deal(title=f"D{i}", owner_id=sam.user.id)
        moved = client.post(f"{API}/deals/{deal['id']}/move",
                            json={"stage_id": pipeline["stage"]["Qualified"]}).json
        made = [client.get(f"{API}/tasks/{t}").json for t in moved["tasks"]]
        assert [t["title"] for t in made] == [f"Owner: D{i}", "User", "Role", "Team"]
        assert made[0]["assignee_id"] == sam.user.id
        assert made[1]["assignee_id"] == fixer.user.id
        assert made[2]["assignee_id"] == surveyor.user.id
        assert all(t["automation_id"] for t in made)
        turns.append(made[3]["assignee_id"])
    assert turns == sorted([sam.user.id, kim.user.id]) + [min(sam.user.id, kim.user.id)]


def test_least_loaded_team_member_gets_the_task(client, make_client, make_deal, pipeline):
    busy = make_client("agent", teams=("Pool",))
    idle = make_client("agent", teams=("Pool",))
    team_id = next(t["id"] for t in client.get("/api/v1/teams").json if t["name"] == "Pool")
    for i in range(2):
        client.post(f"{API}/tasks", json={"title": f"busy {i}", "due_at": "2030-01-01T10:00:00Z",
                                          "assignee_id": busy.user.id})
    configure(client, pipeline["stage"]["Qualified"], [{"action": "create_task", "config": {
        "title": "Survey", "assignee": f"team:{team_id}", "strategy": "least_loaded"}}])
    deal = make_deal()
    moved = client.post(f"{API}/deals/{deal['id']}/move",
                        json={"stage_id": pipeline["stage"]["Qualified"]}).json
    assert client.get(f"{API}/tasks/{moved['tasks'][0]}").json["assignee_id"] == idle.user.id


def test_notify_and_emit_event(client, make_client, make_deal, pipeline):
    owner = make_client("agent", teams=("Crew",))
    boss = make_client("manager", manager_of=("Crew",))
    configure(client, pipeline["stage"]["Qualified"], [
        {"action": "notify", "config": {"to": ["owner", "manager"],
                                        "message": "{{ deal.title }} qualified"}},
        {"action": "emit_event", "config": {"type": "sales.deal.qualified"}},
    ])
    deal = make_deal(owner_id=owner.user.id)
    moved = client.post(f"{API}/deals/{deal['id']}/move",
                        json={"stage_id": pipeline["stage"]["Qualified"]})
    assert moved.status_code == 200 and moved.json["events"] == ["sales.deal.qualified"]
    for who in (owner, boss):
        messages = [n["message"] for n in who.get("/api/v1/notifications").json["items"]]
        assert "Heat pump qualified" in messages
    events = client.get("/api/v1/events", query_string={"type": "sales.deal.qualified"}).json
    assert events["events"][0]["payload"]["deal_id"] == deal["id"]


def test_a_failing_automation_leaves_the_deal_where_it_was(client, make_deal, pipeline, run):
    client.post(f"{API}/templates", json={"name": "Quote", "kind": "quote"})
    configure(client, pipeline["stage"]["Qualified"], [
        {"action": "create_task", "config": {"title": "Prepare"}},
        {"action": "generate_document", "config": {"template": "Quote"}},
    ])
    # Switch the template off after the automation was saved: generating it now fails.
    client.put(f"{API}/templates/Quote/active", json={"active": False})
    deal = make_deal()
    moved = client.post(f"{API}/deals/{deal['id']}/move",
                        json={"stage_id": pipeline["stage"]["Qualified"]})
    assert moved.status_code == 422 and "template" in moved.json["errors"]["json"]
    assert client.get(f"{API}/deals/{deal['id']}").json["stage"]["name"] == "New"
    assert client.get(f"{API}/tasks", query_string={"deal_id": deal["id"]}).json["items"] == []
    assert len(client.get(f"{API}/deals/{deal['id']}/history").json) == 1


def test_hook_sales_deal_stage_changed_and_won(make_app, pipeline, client, make_deal):
    """Another plugin hears about moves and wins through the hooks sales adds."""
    from crmkit import Manifest, hookimpl

    seen = []

    class Listener:
        manifest = Manifest(name="listener", requires=("sales",))

        @hookimpl
        def sales_deal_stage_changed(self, deal, old_stage, new_stage):
            seen.append(("moved", deal.id, old_stage.name, new_stage.name))

        @hookimpl
        def sales_deal_won(self, deal, interaction):
            seen.append(("won", deal.id, str(interaction.amount)))

    deal = make_deal()
    app = make_app([Listener()], PLUGINS="sales,listener")
    other = app.test_client()
    other.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": pipeline["stage"]["Won"]})
    other.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": pipeline["stage"]["New"]})
    other.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": pipeline["stage"]["Won"]})
    assert seen == [("won", deal["id"], "1000.0000"), ("moved", deal["id"], "New", "Won"),
                    ("moved", deal["id"], "Won", "New"), ("moved", deal["id"], "New", "Won")]
