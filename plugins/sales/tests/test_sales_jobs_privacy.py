"""The overdue-task job, the sales profile section, personal-data export and erasure, demo data,
and the deals command line."""
import datetime as dt

from crmkit import db
from crmkit.db import utcnow

from crmkit_sales.jobs import JOBS, alert_overdue_tasks

API = "/api/v1/sales"


def test_overdue_job_alerts_assignee_then_manager_once(app, client, make_client):
    seller = make_client("agent", teams=("Field",), name="Sol")
    boss = make_client("manager", manager_of=("Field",))
    due = utcnow() + dt.timedelta(minutes=5)
    task = seller.post(f"{API}/tasks", json={"title": "Ring back", "due_at": due.isoformat()}).json
    done = seller.post(f"{API}/tasks", json={"title": "Already done",
                                             "due_at": due.isoformat()}).json
    seller.post(f"{API}/tasks/{done['id']}/complete", json={})
    with app.app_context(), db.connection():
        assert alert_overdue_tasks(due) == {"assignee": 0, "manager": 0}
        assert alert_overdue_tasks(due + dt.timedelta(minutes=1)) == {"assignee": 1,
                                                                      "manager": 0}
        assert alert_overdue_tasks(due + dt.timedelta(minutes=2)) == {"assignee": 0,
                                                                      "manager": 0}
        assert alert_overdue_tasks(due + dt.timedelta(minutes=61)) == {"assignee": 0,
                                                                       "manager": 1}
    got = seller.get(f"{API}/tasks/{task['id']}").json
    assert got["alerted_at"] and got["escalated_at"] and got["overdue"] is False
    seller_inbox = seller.get("/api/v1/notifications").json["items"]
    assert [n["kind"] for n in seller_inbox] == ["sales.task_overdue"]
    boss_inbox = boss.get("/api/v1/notifications").json["items"]
    assert [n["message"].split(":")[0] for n in boss_inbox] == ["Overdue for Sol"]
    # A new due time earns a new alert.
    seller.patch(f"{API}/tasks/{task['id']}", json={"due_at": due.isoformat()})
    with app.app_context(), db.connection():
        assert alert_overdue_tasks(due + dt.timedelta(minutes=3))["assignee"] == 1


def test_overdue_job_is_registered_and_runs_in_the_worker(app):
    from crmkit.worker.runtime import Runtime
    assert JOBS[0].schedule == "* * * * *"
    runtime = Runtime(app, immediate=True)
    name = "sales:overdue-task-alerts"
    assert name in runtime.runnable_names()
    with app.app_context(), db.connection():
        job_id = runtime.record_periodic_run(name, utcnow())
    from crmkit.worker.pump import drain
    drain(runtime)
    from crmkit.worker.models import Job
    with app.app_context(), db.connection():
        assert Job.get_by_id(job_id).status == "done"


def test_profile_section_export_and_erase(client, make_deal, pipeline, customer):
    deal = make_deal(lines=[{"name": "Boiler", "unit_price": "100"}])
    client.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": pipeline["stage"]["Won"]})
    open_deal = make_deal(title=f"Roof for {customer['name']}")
    client.post(f"{API}/tasks", json={"kind": "call", "title": f"Call {customer['name']}",
                                      "due_at": "2030-01-01T09:00:00Z",
                                      "deal_id": open_deal["id"]})
    client.post(f"{API}/leads", json={"name": customer["name"], "email": customer["email"],
                                      "message": "My phone is 0123"})
    client.post(f"{API}/templates", json={"name": "Quote", "kind": "quote"})
    doc = client.post(f"{API}/deals/{deal['id']}/documents", json={"template": "Quote"}).json

    profile = client.get(f"/api/v1/customers/{customer['id']}/profile").json
    section = profile["sections"]["sales"]
    assert section["won"] == {"deals": 1, "amount": {"EUR": "100.00"}}
    assert section["open"]["deals"] == 1
    assert section["next_task"]["title"] == f"Call {customer['name']}"

    from crmkit.customers.models import Customer
    from crmkit.profile_sections import erase_personal_data, personal_data
    app = client.application
    with app.app_context(), db.connection(), db.write_transaction():
        person = Customer.get_by_id(customer["id"])
        exported = personal_data(person)["sales"]
        assert {d["id"] for d in exported["deals"]} == {deal["id"], open_deal["id"]}
        assert exported["leads"][0]["message"] == "My phone is 0123"
        assert exported["documents"][0]["number"] == doc["number"]
        erase_personal_data(person, "person-7f3a")
    erased = client.get(f"{API}/deals/{open_deal['id']}").json
    assert erased["title"] == "person-7f3a"
    won = client.get(f"{API}/deals/{deal['id']}").json
    assert won["amount"] == "100.00" and won["status"] == "won"   # the financial record stays
    lead = client.get(f"{API}/leads").json["items"][0]
    assert lead["email"] is None and lead["message"] is None and lead["name"] == "person-7f3a"
    kept = client.get(f"{API}/documents/{doc['id']}").json
    assert kept["number"] == doc["number"] and kept["total"] == "100.00" and kept["erased"]
    assert client.get(f"{API}/documents/{doc['id']}/pdf").status_code == 404
    task = client.get(f"{API}/tasks").json["items"][0]
    assert task["title"] == "person-7f3a"


def test_demo_data(runner):
    result = runner.invoke(["demo", "--size", "30"])
    assert result.exit_code == 0, result.output
    assert "sales: demo data loaded" in result.output
    listed = runner.invoke(["sales", "deals", "list", "--limit", "5"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 7
    funnel = runner.invoke(["sales", "report", "funnel"])
    assert "New enquiry" in funnel.output and "Won" in funnel.output
    agenda = runner.invoke(["sales", "agenda", "--user", "sam.seller@example.com"])
    assert agenda.exit_code == 0, agenda.output


def test_cli_moves_deals(runner, client, make_deal, pipeline):
    deal = make_deal()
    result = runner.invoke(["sales", "deals", "move", str(deal["id"]), "Qualified"])
    assert result.exit_code == 0, result.output
    assert "moved to 'Qualified'" in result.output
    refused = runner.invoke(["sales", "deals", "move", str(deal["id"]), "Lost"])
    assert refused.exit_code == 1 and "lost_reason" in refused.output
    lost = runner.invoke(["sales", "deals", "move", str(deal["id"]), "Lost", "--lost-reason",
                          "Went quiet"])
    assert lost.exit_code == 0
    listed = runner.invoke(["sales", "deals", "list", "--status", "lost"])
    assert "Heat pump" in listed.output and "lost" in listed.output


def test_merged_customers_take_their_deals_along(client, run, read, make_deal, make_customer,
                                                 pipeline):
    twin = make_customer(first_name="Dana", last_name="Twin")
    deal = make_deal(customer_id=twin["id"])
    keeper = make_customer()
    from crmkit.customers.merge import merge_customers
    run(merge_customers, keeper["id"], twin["id"])
    assert client.get(f"{API}/deals/{deal['id']}").json["customer_id"] == keeper["id"]
    task = client.get(f"{API}/tasks", query_string={"deal_id": deal["id"]}).json["items"]
    assert all(t["customer_id"] == keeper["id"] for t in task)


def test_segment_fields(client, read, make_deal, pipeline, make_customer):
    from crmkit.customers.models import Customer
    from crmkit.segment_fields import join_field, segment_fields
    make_deal()
    make_deal()
    won = make_deal()
    client.post(f"{API}/deals/{won['id']}/move", json={"stage_id": pipeline["stage"]["Won"]})
    nobody = make_customer()

    def counts(name):
        query, value = join_field(Customer.select(Customer.id), segment_fields()[name])
        return dict(query.select(Customer.id, value).tuples())

    open_deals = read(counts, "sales.open_deals")
    assert open_deals[won["customer_id"]] == 2 and open_deals[nobody["id"]] is None
    assert read(counts, "sales.won_deals")[won["customer_id"]] == 1


def test_the_profile_section_shows_only_deals_and_tasks_the_caller_may_see(
        client, make_client, make_deal, customer):
    """An agent seeing a customer sees its own deals and tasks with it, not every colleague's:
    the plugin's endpoints answer 404 for the others, and so must the profile."""
    seller = make_client("agent", name="Sol")
    client.patch(f"/api/v1/customers/{customer['id']}", json={"owner_id": seller.user.id})
    make_deal(title="The admin's deal", amount="5000.00")
    client.post(f"{API}/tasks", json={"title": "The admin's call", "customer_id": customer["id"],
                                      "due_at": "2030-01-01T09:00:00Z"})
    mine = seller.post(f"{API}/deals", json={"customer_id": customer["id"], "title": "Mine",
                                             "amount": "10.00"})
    assert mine.status_code == 201, mine.json
    seller.post(f"{API}/tasks", json={"title": "My call", "customer_id": customer["id"],
                                      "due_at": "2031-01-01T09:00:00Z"})
    section = seller.get(f"/api/v1/customers/{customer['id']}/profile").json["sections"]["sales"]
    assert section["open"] == {"deals": 1, "amount": {"EUR": "10.00"}}
    assert [d["title"] for d in section["recent_deals"]] == ["Mine"]
    assert section["next_task"]["title"] == "My call"
    everything = client.get(f"/api/v1/customers/{customer['id']}/profile").json
    assert everything["sections"]["sales"]["open"]["deals"] == 2
    assert everything["sections"]["sales"]["next_task"]["title"] == "The admin's call"
