"""Tasks, calendar queries, agendas and the per-user iCalendar feed."""
import datetime as dt

from icalendar import Calendar

API = "/api/v1/sales"


def test_completing_a_call_records_it_once(client, make_deal):
    deal = make_deal()
    task = client.post(f"{API}/tasks", json={"kind": "call", "title": "Call back",
                                             "due_at": "2030-01-02T09:00:00Z",
                                             "deal_id": deal["id"]}).json
    assert task["customer_id"] == deal["customer_id"] and task["status"] == "open"
    done = client.post(f"{API}/tasks/{task['id']}/complete", json={"outcome": "Interested"})
    assert done.status_code == 200 and done.json["status"] == "done"
    again = client.post(f"{API}/tasks/{task['id']}/complete", json={"outcome": "Twice"})
    assert again.json["outcome"] == "Interested"
    calls = client.get(f"/api/v1/customers/{deal['customer_id']}/interactions",
                       query_string={"type": "call"}).json["items"]
    assert len(calls) == 1 and calls[0]["summary"] == "Call back: Interested"
    assert client.post(f"{API}/tasks/{task['id']}/reopen").status_code == 409


def test_a_todo_does_not_touch_the_timeline(client, make_deal):
    deal = make_deal()
    task = client.post(f"{API}/tasks", json={"title": "Order parts", "due_at":
                                             "2030-01-02T09:00:00Z", "deal_id": deal["id"]}).json
    client.post(f"{API}/tasks/{task['id']}/complete", json={})
    items = client.get(f"/api/v1/customers/{deal['customer_id']}/interactions").json["items"]
    assert [i["type"] for i in items] == []


def test_task_rules(client, make_client):
    agent = make_client("agent")
    other = make_client("agent")
    bad = agent.post(f"{API}/tasks", json={"title": "x", "due_at": "2030-01-01T10:00:00"})
    assert bad.status_code == 422  # a due time without a zone is ambiguous
    mine = agent.post(f"{API}/tasks", json={"title": "Mine", "due_at": "2030-01-01T10:00:00Z"})
    assert mine.json["assignee_id"] == agent.user.id
    given = agent.post(f"{API}/tasks", json={"title": "Yours", "due_at": "2030-01-01T10:00:00Z",
                                             "assignee_id": other.user.id})
    assert given.status_code == 403
    assert other.get(f"{API}/tasks/{mine.json['id']}").status_code == 404
    cancelled = agent.post(f"{API}/tasks/{mine.json['id']}/cancel")
    assert cancelled.json["status"] == "cancelled"
    assert agent.patch(f"{API}/tasks/{mine.json['id']}", json={"title": "y"}).status_code == 409


def test_calendar_and_agenda(client, make_client):
    agent = make_client("agent")
    for day, hour in ((1, 9), (1, 14), (2, 9), (5, 9)):
        agent.post(f"{API}/tasks", json={"title": f"d{day} {hour}h",
                                         "due_at": f"2030-01-0{day}T{hour:02d}:00:00Z"})
    week = agent.get(f"{API}/calendar", query_string={"start": "2030-01-01T00:00:00Z",
                                                      "end": "2030-01-03T00:00:00Z"}).json
    assert [t["title"] for t in week] == ["d1 9h", "d1 14h", "d2 9h"]
    agenda = agent.get(f"{API}/agenda", query_string={"date": "2030-01-02"}).json
    assert [t["title"] for t in agenda["tasks"]] == ["d2 9h"]
    assert [t["title"] for t in agenda["overdue"]] == ["d1 9h", "d1 14h"]


def test_ical_feed_for_calendar_clients(client, make_client, anon_client):
    agent = make_client("agent")
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).replace(microsecond=0)
    agent.post(f"{API}/tasks", json={"kind": "meeting", "title": "Meet Ana; agenda, pricing",
                                     "due_at": soon.isoformat(), "duration_minutes": 45,
                                     "location": "Office, room 2"})
    assert agent.get(f"{API}/calendar/feed").json["active"] is False
    created = agent.post(f"{API}/calendar/feed")
    assert created.status_code == 201
    url = created.json["url"]
    path = url[url.index("/api/v1/"):]
    response = anon_client.get(path)  # no token: calendar clients cannot send one
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    body = response.data
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))  # folded as RFC 5545 says
    cal = Calendar.from_ical(body)
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["SUMMARY"]) == "Meet Ana; agenda, pricing"
    assert str(event["LOCATION"]) == "Office, room 2"
    assert event.decoded("DTSTART") == soon
    assert event.decoded("DTEND") - event.decoded("DTSTART") == dt.timedelta(minutes=45)
    assert str(event["UID"]).endswith("@crmkit") and "DTSTAMP" in event
    # Wrong, tampered and revoked URLs are all the same 404.
    assert anon_client.get(path.replace(".ics", "x.ics")).status_code == 404
    assert anon_client.get(f"{API}/calendar/feeds/nonsense.ics").status_code == 404
    rotated = agent.post(f"{API}/calendar/feed").json["url"]
    assert anon_client.get(path).status_code == 404
    new_path = rotated[rotated.index("/api/v1/"):]
    assert anon_client.get(new_path).status_code == 200
    assert agent.delete(f"{API}/calendar/feed").status_code == 204
    assert anon_client.get(new_path).status_code == 404
    # The feed's secret is no API token.
    token = new_path.rsplit("/", 1)[1][:-4]
    assert anon_client.get(f"{API}/tasks", headers={"Authorization": f"Bearer {token}"}
                           ).status_code == 401


def test_cli_agenda(runner, make_client):
    agent = make_client("agent", email="ana@crmkit.test")
    now = dt.datetime.now(dt.timezone.utc)
    agent.post(f"{API}/tasks", json={"kind": "call", "title": "Ring the Smiths",
                                     "due_at": (now - dt.timedelta(days=3)).isoformat()})
    result = runner.invoke(["sales", "agenda", "--user", "ana@crmkit.test"])
    assert result.exit_code == 0, result.output
    assert "Overdue:" in result.output and "Ring the Smiths" in result.output
