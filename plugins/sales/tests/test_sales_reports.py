"""Reports, forecast and targets: figures computed in SQL, as JSON, CSV and CLI tables."""
import datetime as dt
import decimal

import pytest

from crmkit.db import utcnow

from crmkit_sales.models import Deal, StageHistory, Task

API = "/api/v1/sales"


def move(client, deal_id, stage_id, **extra):
    response = client.post(f"{API}/deals/{deal_id}/move", json={"stage_id": stage_id, **extra})
    assert response.status_code == 200, response.json


@pytest.fixture
def story(client, make_client, pipeline, make_customer, run):
    """Two sellers, five deals in EUR and one in GBP, at known dates."""
    stage = pipeline["stage"]
    ann = make_client("agent", name="Ann", teams=("T",))
    ben = make_client("agent", name="Ben", teams=("T",))
    customer = make_customer()
    made = {}
    specs = [("a1", ann, "web", "1000.00", "EUR", "Won", "2030-01-15"),
             ("a2", ann, "web", "500.00", "EUR", "Qualified", "2030-02-10"),
             ("a3", ann, "phone", "300.00", "EUR", "Lost", "2030-01-20"),
             ("b1", ben, "web", "2000.00", "EUR", "Won", "2030-04-02"),
             ("b2", ben, "referral", "800.00", "EUR", "New", "2030-05-01"),
             ("b3", ben, "web", "700.00", "GBP", "Won", "2030-01-25")]
    for key, who, source, amount, currency, to, close in specs:
        deal = client.post(f"{API}/deals", json={
            "customer_id": customer["id"], "title": key, "owner_id": who.user.id,
            "source": source, "amount": amount, "currency": currency,
            "expected_close": close}).json
        if to in ("Won", "Lost"):
            move(client, deal["id"], stage["Qualified"])
        if to != "New" and to != "Qualified":
            move(client, deal["id"], stage[to],
                 **({"lost_reason": "Too expensive"} if to == "Lost" else {}))
        elif to == "Qualified":
            move(client, deal["id"], stage["Qualified"])
        made[key] = deal["id"]

    def backdate():
        base = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
        for key, days in (("a1", 14), ("b1", 91), ("b3", 24), ("a3", 19)):
            closed = base + dt.timedelta(days=days)
            Deal.update(created_at=base, won_at=closed if key != "a3" else None,
                        lost_at=closed if key == "a3" else None).where(
                Deal.id == made[key]).execute()
        # Each deal spent exactly a day in "New".
        StageHistory.update(seconds=86400).where(StageHistory.left_at.is_null(False),
                                                 StageHistory.stage == stage["New"]).execute()

    run(backdate)
    return {"ids": made, "ann": ann, "ben": ben, "customer": customer}


def test_funnel(client, story, pipeline):
    report = client.get(f"{API}/reports/funnel").json
    rows = {r["stage"]: r for r in report["rows"]}
    assert rows["New"]["deals"] == 1 and rows["New"]["amount"] == {"EUR": "800.00"}
    assert rows["New"]["entered"] == 6
    assert rows["Qualified"]["entered"] == 5 and rows["Qualified"]["deals"] == 1
    assert rows["New"]["conversion"] == "0.8333"           # 5 of 6 went on to Qualified
    assert rows["Won"]["deals"] == 3
    assert rows["Won"]["amount"] == {"EUR": "3000.00", "GBP": "700.00"}
    assert rows["Lost"]["deals"] == 1
    assert rows["New"]["avg_days_in_stage"] == 1.0
    assert report["win_rate"] == "0.5000"
    mine = story["ann"].get(f"{API}/reports/funnel").json  # own scope: Ann's deals only
    assert sum(r["deals"] for r in mine["rows"]) == 3


def test_sources_revenue_lost_and_cycle(client, story):
    sources = {r["source"]: r for r in client.get(f"{API}/reports/sources").json["rows"]}
    assert sources["web"]["enquiries"] == 4 and sources["web"]["won"] == 3
    assert sources["web"]["conversion"] == "0.7500"
    assert sources["web"]["revenue"] == {"EUR": "3000.00", "GBP": "700.00"}
    assert sources["phone"]["won"] == 0 and sources["phone"]["conversion"] == "0.0000"

    monthly = client.get(f"{API}/reports/revenue", query_string={"grain": "month"}).json["rows"]
    assert [(r["period"], r["currency"], r["amount"]) for r in monthly] == [
        ("2030-01", "EUR", "1000.00"), ("2030-01", "GBP", "700.00"),
        ("2030-04", "EUR", "2000.00")]
    quarterly = client.get(f"{API}/reports/revenue", query_string={
        "grain": "quarter", "by": "owner"}).json["rows"]
    assert [(r["period"], r["owner"], r["currency"], r["amount"]) for r in quarterly] == [
        ("2030-Q1", "Ann", "EUR", "1000.00"), ("2030-Q1", "Ben", "GBP", "700.00"),
        ("2030-Q2", "Ben", "EUR", "2000.00")]
    in_april = client.get(f"{API}/reports/revenue", query_string={
        "start": "2030-04-01", "end": "2030-05-01", "by": "source"}).json["rows"]
    assert [(r["source"], r["amount"]) for r in in_april] == [("web", "2000.00")]

    lost = client.get(f"{API}/reports/lost-reasons").json["rows"]
    assert lost == [{"reason": "Too expensive", "currency": "EUR", "deals": 1,
                     "amount": "300.00"}]
    cycle = client.get(f"{API}/reports/cycle").json["rows"][0]
    assert cycle["deals"] == 3 and cycle["min_days"] == 14.0 and cycle["max_days"] == 91.0
    assert cycle["avg_days"] == 43.0
    by_owner = {r["owner"]: r for r in client.get(
        f"{API}/reports/cycle", query_string={"by": "owner"}).json["rows"]}
    assert by_owner["Ann"]["avg_days"] == 14.0


def test_activity_per_manager(client, story, run):
    ann = story["ann"]
    for i, kind in enumerate(("call", "call", "meeting", "todo")):
        task = ann.post(f"{API}/tasks", json={"kind": kind, "title": f"t{i}",
                                              "due_at": "2030-01-05T10:00:00Z",
                                              "customer_id": story["customer"]["id"]}).json
        if i < 3:
            ann.post(f"{API}/tasks/{task['id']}/complete", json={})
    rows = {r["user"]: r for r in client.get(f"{API}/reports/activity").json["rows"]}
    assert rows["Ann"]["calls"] == 2 and rows["Ann"]["meetings"] == 1
    assert rows["Ann"]["done"] == 3 and rows["Ann"]["open"] == 1
    assert rows["Ann"]["overdue"] == 0
    run(lambda: Task.update(due_at=utcnow() - dt.timedelta(hours=1)).where(
        Task.status == "open").execute())
    rows = {r["user"]: r for r in client.get(f"{API}/reports/activity").json["rows"]}
    assert rows["Ann"]["overdue"] == 1


def test_forecast_weights_open_deals_and_excludes_lost(client, story):
    rows = client.get(f"{API}/forecast", query_string={"grain": "month", "by": "source"}).json
    by_period = {(r["period"], r["currency"]): r for r in rows["rows"]}
    # a2: 500 in Qualified (30%) closing 2030-02; b2: 800 in New (10%) closing 2030-05.
    assert by_period[("2030-02", "EUR")]["weighted"] == "150.00"
    assert by_period[("2030-02", "EUR")]["pipeline"] == "500.00"
    assert by_period[("2030-05", "EUR")]["weighted"] == "80.00"
    assert by_period[("2030-01", "EUR")]["won"] == "1000.00"
    assert by_period[("2030-01", "EUR")]["weighted"] == "0.00"  # a3 lost: not counted
    owners = client.get(f"{API}/forecast", query_string={"grain": "quarter"}).json["rows"]
    ann_q1 = next(r for r in owners if r["owner"] == "Ann" and r["currency"] == "EUR")
    assert (ann_q1["period"], ann_q1["weighted"], ann_q1["won"], ann_q1["expected"]) == (
        "2030-Q1", "150.00", "1000.00", "1150.00")


def test_targets_and_attainment(client, story):
    ann = story["ann"]
    set_target = client.post(f"{API}/targets", json={"user_id": ann.user.id, "period": "2030-Q1",
                                                     "currency": "EUR", "amount": "4000"})
    assert set_target.status_code == 201, set_target.json
    assert set_target.json["period_start"] == "2030-01-01"
    assert set_target.json["period_end"] == "2030-04-01"
    again = client.post(f"{API}/targets", json={"user_id": ann.user.id, "period": "2030-Q1",
                                                "currency": "EUR", "amount": "2000"})
    assert again.json["id"] == set_target.json["id"]
    client.post(f"{API}/targets", json={"user_id": story["ben"].user.id, "period": "2030-04",
                                        "currency": "EUR", "amount": "1000"})
    rows = client.get(f"{API}/targets").json["rows"]
    assert [(r["user"], r["period"], r["target"], r["won"], r["attainment"]) for r in rows] == [
        ("Ann", "2030-Q1", "2000.00", "1000.00", "50.0"),
        ("Ben", "2030-04", "1000.00", "2000.00", "200.0")]
    assert ann.post(f"{API}/targets", json={"user_id": ann.user.id, "period": "2030",
                                            "currency": "EUR", "amount": "1"}).status_code == 403
    bad = client.post(f"{API}/targets", json={"user_id": ann.user.id, "period": "2030-13",
                                              "currency": "EUR", "amount": "1"})
    assert bad.status_code == 422


def test_csv_and_cli_tables(client, runner, story, pipeline):
    csv = client.get(f"{API}/reports/revenue", query_string={"format": "csv"})
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert lines[0] == "period,currency,deals,amount"
    assert "2030-01,EUR,1,1000.00" in lines
    result = runner.invoke(["sales", "report", "funnel", "--pipeline", str(pipeline["id"])])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split()[:3] == ["stage", "kind", "probability"]
    assert "3000.00 EUR; 700.00 GBP" in result.output
    as_csv = runner.invoke(["sales", "report", "lost-reasons", "--csv"])
    assert "Too expensive,EUR,1,300.00" in as_csv.output
    forecast = runner.invoke(["sales", "report", "forecast", "--grain", "quarter"])
    assert forecast.exit_code == 0 and "2030-Q1" in forecast.output
    assert client.get(f"{API}/reports/nonsense").status_code == 422


def test_csv_reports_escape_text_a_spreadsheet_would_run(client):
    """A lost reason (or a title, a name) typed as a formula is shown by a spreadsheet, never
    run; figures, negative ones too, stay numbers."""
    from crmkit_sales.reports import to_csv
    text = to_csv({"columns": ["reason", "currency", "deals", "amount"],
                   "rows": [{"reason": "=HYPERLINK(\"http://x\",\"y\")", "currency": "EUR",
                             "deals": 1, "amount": decimal.Decimal("-5.00")},
                            {"reason": "@SUM(A1)", "currency": "EUR", "deals": 2,
                             "amount": decimal.Decimal("7.00")}]})
    assert text.splitlines()[1:] == ['"\'=HYPERLINK(""http://x"",""y"")",EUR,1,-5.00',
                                     "'@SUM(A1),EUR,2,7.00"]
