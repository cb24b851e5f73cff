"""The worked example of DOMAIN.md, end to end, through the HTTP API alone: a small installation
company gets a web enquiry and follows it to an installed, paid job.

(The overdue alert comes from the periodic job the worker runs; the test runs that job at the
moments the worker would, which is the only part not started over HTTP.)
"""
import datetime as dt
import decimal
import io

import pytest
import yaml

from crmkit import db
from crmkit_sales.demo import example_pipeline_file
from crmkit_sales.jobs import alert_overdue_tasks

API = "/api/v1/sales"


@pytest.fixture
def crmkit_config(crmkit_database_url):
    return {"DATABASE_URL": crmkit_database_url, "PLUGINS": "sales",
            "SALES_COMPANY_NAME": "Warm Homes Ltd", "SALES_COMPANY_ADDRESS": "9 Forge Road\nYork",
            "SALES_PAYMENT_DETAILS": "Warm Homes Ltd, IBAN GB33 BUKB 2020 1555 5555 55",
            "SALES_ESCALATION_MINUTES": 30}


def parse_time(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def inbox(client):
    response = client.get("/api/v1/notifications")
    assert response.status_code == 200, response.json
    return [item["message"] for item in response.json["items"]]


def test_web_enquiry_to_installed_paid_job(app, client, anon_client, make_client):
    # -- set-up by the administrator -------------------------------------------------------------
    role = client.post("/api/v1/roles", json={
        "name": "installer", "permissions": ["sales.tasks:read", "sales.tasks:write",
                                             "sales.deals:read", "customers:read"],
        "scope": "own"})
    assert role.status_code == 201, role.json
    seller = make_client("agent", teams=("Sales",), name="Sam Seller")
    manager = make_client("manager", manager_of=("Sales",), name="Morgan Manager")
    installer = make_client("installer", name="Ivy Installer")
    team_id = next(t["id"] for t in client.get("/api/v1/teams").json if t["name"] == "Sales")

    for name, kind in (("Quote", "quote"), ("Payment request", "payment")):
        assert client.post(f"{API}/templates", json={"name": name, "kind": kind}).status_code == 201
    loaded = client.post(f"{API}/pipelines/load", json=yaml.safe_load(example_pipeline_file()))
    assert loaded.status_code == 200, loaded.json
    pipeline = client.get(f"{API}/pipelines").json[0]
    stage = {s["name"]: s["id"] for s in pipeline["stages"]}
    heat_pump = client.post(f"{API}/products", json={
        "sku": "HP-INSTALL", "name": "Heat pump installation", "unit_price": "6400.00",
        "currency": "GBP", "tax_rate": "5"}).json
    assert client.post(f"{API}/assignment-rules", json={
        "name": "Web enquiries", "team_id": team_id, "source": "web"}).status_code == 201
    form = client.post(f"{API}/forms", json={"name": "Website", "pipeline_id": pipeline["id"],
                                             "source": "web"})
    assert form.status_code == 201, form.json
    key = form.json["key"]

    # -- the web enquiry --------------------------------------------------------------------------
    enquiry = anon_client.post(f"{API}/intake", headers={"X-Form-Key": key}, json={
        "first_name": "Robin", "last_name": "Hart", "email": "robin.hart@example.com",
        "phone": "+44 20 7946 0321", "message": "We would like a heat pump.",
        "utm_source": "google", "utm_campaign": "spring-heat", "website": ""})
    assert enquiry.status_code == 201, enquiry.json

    deals = seller.get(f"{API}/deals").json["items"]
    assert len(deals) == 1
    deal = deals[0]
    assert deal["stage"]["name"] == "New enquiry"
    assert deal["owner_id"] == seller.user.id and deal["source"] == "web"
    customer_id = deal["customer_id"]

    tasks = seller.get(f"{API}/tasks", query_string={"deal_id": deal["id"]}).json["items"]
    assert len(tasks) == 1
    first = tasks[0]
    assert first["kind"] == "call" and first["assignee_id"] == seller.user.id
    assert first["title"] == "Call Robin Hart about the enquiry"
    due = parse_time(first["due_at"])
    assert due - parse_time(deal["stage_entered_at"]) == dt.timedelta(minutes=15)

    # -- the call is late: the seller is alerted, then their manager ---------------------------
    with app.app_context(), db.connection():
        assert alert_overdue_tasks(now=due - dt.timedelta(minutes=1)) == {"assignee": 0,
                                                                          "manager": 0}
        assert alert_overdue_tasks(now=due + dt.timedelta(minutes=1))["assignee"] == 1
    assert any("Overdue: Call Robin Hart" in m for m in inbox(seller))
    assert not any("Overdue" in m for m in inbox(manager))
    with app.app_context(), db.connection():
        assert alert_overdue_tasks(now=due + dt.timedelta(minutes=31))["manager"] == 1
        assert alert_overdue_tasks(now=due + dt.timedelta(minutes=32)) == {"assignee": 0,
                                                                           "manager": 0}
    assert any("Overdue for Sam Seller: Call Robin Hart" in m for m in inbox(manager))

    done = seller.post(f"{API}/tasks/{first['id']}/complete",
                       json={"outcome": "Site visit booked"})
    assert done.status_code == 200 and done.json["interaction_id"]
    calls = seller.get(f"/api/v1/customers/{customer_id}/interactions",
                       query_string={"type": "call"}).json["items"]
    assert [c["summary"] for c in calls] == ["Call Robin Hart about the enquiry: Site visit booked"]

    # -- each move creates the next task for the right person ----------------------------------
    def move(to, who=seller, expect=200):
        response = who.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": stage[to]})
        assert response.status_code == expect, response.json
        return response.json

    visit = move("Site visit")
    visit_task = seller.get(f"{API}/tasks/{visit['tasks'][0]}").json
    assert visit_task["kind"] == "visit" and visit_task["assignee_id"] == seller.user.id
    visit_due = parse_time(visit_task["due_at"])
    assert visit_due.hour == 10 and visit_due.minute == 0 and visit_due.weekday() < 5
    assert visit_due.date() > parse_time(visit["deal"]["stage_entered_at"]).date()

    estimate = move("Estimate")
    estimate_task = seller.get(f"{API}/tasks/{estimate['tasks'][0]}").json
    assert estimate_task["title"] == "Cost estimate for Robin Hart"
    assert parse_time(estimate_task["due_at"]) - parse_time(
        estimate["deal"]["stage_entered_at"]) == dt.timedelta(hours=2)

    # -- a required field refused --------------------------------------------------------------
    refused = move("Proposal sent", expect=422)
    assert set(refused["errors"]["json"]) == {"lines", "expected_close"}
    assert "lines" in refused["message"] and "expected_close" in refused["message"]
    assert seller.get(f"{API}/deals/{deal['id']}").json["stage"]["name"] == "Estimate"

    patched = seller.patch(f"{API}/deals/{deal['id']}", json={
        "expected_close": "2031-05-30",
        "lines": [{"product_id": heat_pump["id"], "quantity": 1},
                  {"name": "Extra radiator", "quantity": 2, "unit_price": "310.00",
                   "discount_percent": "10", "tax_rate": "20"}]})
    assert patched.status_code == 200, patched.json
    # 6400.00 + 5% tax = 6720.00; 2 x 310.00 less 10% = 558.00 + 20% tax = 669.60.
    assert patched.json["amount"] == "7389.60"

    proposal = move("Proposal sent")
    assert len(proposal["documents"]) == 1 and len(proposal["tasks"]) == 1

    refused = move("Awaiting payment", expect=422)  # the web form gave no address
    assert set(refused["errors"]["json"]) == {"customer.street", "customer.city",
                                              "customer.postal_code"}
    assert seller.patch(f"/api/v1/customers/{customer_id}", json={
        "street": "12 Orchard Way", "city": "Harrogate", "postal_code": "HG1 2AB",
        "country": "GB"}).status_code == 200

    # -- the payment document, with the right figures -------------------------------------------
    payment = move("Awaiting payment")
    doc = seller.get(f"/api/v1/sales/documents/{payment['documents'][0]}").json
    assert doc["kind"] == "payment" and doc["currency"] == "GBP"
    assert doc["number"] == f"PAY-{dt.datetime.now(dt.timezone.utc).year}-00001"
    assert doc["total"] == "7389.60"
    assert doc["figures"]["net"] == "6958.00" and doc["figures"]["tax"] == "431.60"
    html = seller.get(f"{API}/documents/{doc['id']}/html").get_data(as_text=True)
    for expected in ("Robin Hart", "12 Orchard Way", "Harrogate HG1 2AB", "Heat pump installation",
                     "Extra radiator", "7,389.60 GBP", "IBAN GB33 BUKB 2020 1555 5555 55",
                     doc["number"], "Warm Homes Ltd"):
        assert expected in html, expected
    pdf = seller.get(f"{API}/documents/{doc['id']}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert any("Payment request sent to Robin Hart" in m for m in inbox(seller))

    signed = seller.post(f"{API}/deals/{deal['id']}/attachments", data={
        "file": (io.BytesIO(b"%PDF-1.4 signed order"), "order.pdf", "application/pdf")},
        content_type="multipart/form-data")
    assert signed.status_code == 201, signed.json

    # -- the installer hears about the job ------------------------------------------------------
    install = move("Installation")
    install_task = installer.get(f"{API}/tasks/{install['tasks'][0]}").json
    assert install_task["assignee_id"] == installer.user.id and install_task["kind"] == "visit"
    assert any("Installation ready: Robin Hart" in m for m in inbox(installer))
    assert installer.get(f"{API}/deals/{deal['id']}").status_code == 404  # own scope: not theirs

    # -- won: revenue recorded once, even when moved out and back --------------------------------
    won = move("Won")
    assert won["deal"]["status"] == "won" and won["deal"]["revenue_interaction_id"]
    move("Installation")
    move("Won")
    purchases = client.get(f"/api/v1/customers/{customer_id}/interactions",
                           query_string={"type": "purchase"}).json["items"]
    assert len(purchases) == 1
    assert decimal.Decimal(purchases[0]["amount"]) == decimal.Decimal("7389.60")
    assert purchases[0]["currency"] == "GBP"
    assert [line["name"] for line in purchases[0]["lines"]] == ["Heat pump installation",
                                                                "Extra radiator"]

    # -- the reports show the deal --------------------------------------------------------------
    funnel = manager.get(f"{API}/reports/funnel",
                         query_string={"pipeline_id": pipeline["id"]}).json
    rows = {r["stage"]: r for r in funnel["rows"]}
    assert rows["Won"]["deals"] == 1 and rows["Won"]["amount"] == {"GBP": "7389.60"}
    assert rows["New enquiry"]["entered"] == 1 and rows["New enquiry"]["conversion"] == "1.0000"
    sources = manager.get(f"{API}/reports/sources").json["rows"]
    assert sources[0]["source"] == "web" and sources[0]["enquiries"] == 1
    assert sources[0]["won"] == 1 and sources[0]["conversion"] == "1.0000"
    revenue = manager.get(f"{API}/reports/revenue", query_string={"by": "owner"}).json["rows"]
    assert [(r["owner"], r["amount"], r["currency"]) for r in revenue] == [
        ("Sam Seller", "7389.60", "GBP")]
    activity = {r["user"]: r for r in manager.get(f"{API}/reports/activity").json["rows"]}
    assert activity["Sam Seller"]["calls"] == 1
    csv = manager.get(f"{API}/reports/funnel", query_string={"pipeline_id": pipeline["id"],
                                                              "format": "csv"})
    assert csv.mimetype == "text/csv" and "Won,won,100,1,7389.60 GBP" in csv.get_data(True)
