"""Leads: source and UTM, qualify, convert without duplicates, disqualify; web-form intake."""
import pytest

API = "/api/v1/sales"


def test_lead_with_source_and_utm(client):
    lead = client.post(f"{API}/leads", json={
        "first_name": "Ola", "last_name": "Berg", "email": " Ola@Example.com ",
        "phone": "+44 20 7946 0999", "source": "ads", "utm_source": "google",
        "utm_medium": "cpc", "utm_campaign": "winter", "company": "Berg AS"})
    assert lead.status_code == 201, lead.json
    body = lead.json
    assert body["name"] == "Ola Berg" and body["status"] == "new"
    assert body["email"] == "Ola@Example.com" and body["phone"] == "+442079460999"
    assert body["utm_campaign"] == "winter"
    assert client.post(f"{API}/leads", json={"email": "nope"}).status_code == 422
    assert client.post(f"{API}/leads", json={"notes": "nameless"}).status_code == 422
    listed = client.get(f"{API}/leads", query_string={"utm_campaign": "winter"}).json["items"]
    assert [x["id"] for x in listed] == [body["id"]]


def test_convert_matches_existing_customer_by_email_or_phone(client, pipeline, make_customer):
    existing = make_customer(email="kai@example.com", phone="+44 20 7946 0555")
    for contact in ({"email": "KAI@example.com"}, {"phone": "020 7946 0555"},
                    {"phone": "+44 (0)20 7946 0555"}):
        if "phone" in contact and not contact["phone"].startswith("+"):
            continue  # no default region configured: only international numbers match
        lead = client.post(f"{API}/leads", json={"name": "Kai", **contact}).json
        converted = client.post(f"{API}/leads/{lead['id']}/convert", json={"amount": "250"})
        assert converted.status_code == 201, converted.json
        assert converted.json["customer_id"] == existing["id"]
        assert converted.json["customer_created"] is False
        assert converted.json["deal"]["customer_id"] == existing["id"]
        assert converted.json["deal"]["lead_id"] == lead["id"]
        assert converted.json["lead"]["status"] == "converted"
    customers = client.get("/api/v1/customers", query_string={"q": "Kai"}).json["items"]
    assert len(customers) <= 1


def test_convert_creates_the_customer_once(client, pipeline):
    lead = client.post(f"{API}/leads", json={"first_name": "Nia", "last_name": "Lund",
                                             "email": "nia@example.com", "source": "referral",
                                             "utm_campaign": "friends"}).json
    converted = client.post(f"{API}/leads/{lead['id']}/convert", json={"title": "Nia's roof"})
    assert converted.status_code == 201 and converted.json["customer_created"] is True
    customer = client.get(f"/api/v1/customers/{converted.json['customer_id']}").json
    assert customer["name"] == "Nia Lund" and customer["email"] == "nia@example.com"
    assert customer["source_channel"] == "referral" and customer["utm_campaign"] == "friends"
    assert converted.json["deal"]["title"] == "Nia's roof"
    assert converted.json["deal"]["source"] == "referral"
    twice = client.post(f"{API}/leads/{lead['id']}/convert", json={})
    assert twice.status_code == 409
    second = client.post(f"{API}/leads", json={"name": "Nia again", "email": "NIA@example.com"})
    again = client.post(f"{API}/leads/{second.json['id']}/convert", json={})
    assert again.json["customer_id"] == converted.json["customer_id"]


def test_qualify_and_disqualify(client, pipeline):
    lead = client.post(f"{API}/leads", json={"name": "Tor", "email": "tor@example.com"}).json
    assert client.post(f"{API}/leads/{lead['id']}/qualify").json["status"] == "qualified"
    missing = client.post(f"{API}/leads/{lead['id']}/disqualify", json={"reason": " "})
    assert missing.status_code == 422
    out = client.post(f"{API}/leads/{lead['id']}/disqualify", json={"reason": "Student project"})
    assert out.json["status"] == "disqualified"
    assert out.json["disqualify_reason"] == "Student project"
    assert client.post(f"{API}/leads/{lead['id']}/convert", json={}).status_code == 409
    back = client.patch(f"{API}/leads/{lead['id']}", json={"status": "new"})
    assert back.status_code == 200
    assert client.post(f"{API}/leads/{lead['id']}/convert", json={}).status_code == 201


def test_leads_are_assigned_by_rules(client, make_client, pipeline):
    a = make_client("agent", teams=("Web",))
    b = make_client("agent", teams=("Web",))
    north = make_client("agent", teams=("North",))
    teams = {t["name"]: t["id"] for t in client.get("/api/v1/teams").json}
    client.post(f"{API}/assignment-rules", json={"name": "North", "team_id": teams["North"],
                                                 "territory": "north"})
    client.post(f"{API}/assignment-rules", json={"name": "Web", "team_id": teams["Web"],
                                                 "source": "web"})
    owners = [client.post(f"{API}/leads", json={"name": f"L{i}", "source": "web",
                                                "auto_assign": True}).json["owner_id"]
              for i in range(4)]
    assert owners == sorted([a.user.id, b.user.id]) * 2
    northern = client.post(f"{API}/leads", json={"name": "N", "source": "web",
                                                 "territory": "north", "auto_assign": True})
    assert northern.json["owner_id"] == north.user.id
    nobody = client.post(f"{API}/leads", json={"name": "X", "source": "fax",
                                               "auto_assign": True})
    assert nobody.json["owner_id"] is None
    mine = client.post(f"{API}/leads", json={"name": "Y", "source": "web"})
    assert mine.json["owner_id"] is not None and mine.json["owner_id"] not in (a.user.id,
                                                                               b.user.id)


@pytest.fixture
def form(client, pipeline):
    response = client.post(f"{API}/forms", json={"name": "Website", "pipeline_id": pipeline["id"],
                                                 "rate_limit": "3 per minute"})
    assert response.status_code == 201
    return response.json


ENQUIRY = {"first_name": "Eva", "last_name": "Stone", "email": "eva@example.com",
           "message": "Quote for solar panels?", "utm_source": "newsletter"}


def test_intake_creates_lead_deal_and_first_task(client, anon_client, form, pipeline):
    response = anon_client.post(f"{API}/intake", json={**ENQUIRY, "form_key": form["key"]})
    assert response.status_code == 201 and response.json == {"status": "received"}
    lead = client.get(f"{API}/leads").json["items"][0]
    assert lead["status"] == "converted" and lead["source"] == "web"
    assert lead["utm_source"] == "newsletter" and lead["form_id"] == form["id"]
    deal = client.get(f"{API}/deals/{lead['deal_id']}").json
    assert deal["stage"]["name"] == "New"
    tasks = client.get(f"{API}/tasks", query_string={"deal_id": deal["id"]}).json["items"]
    assert [t["title"] for t in tasks] == ["Call back Eva Stone"]
    web = client.get(f"/api/v1/customers/{deal['customer_id']}/interactions",
                     query_string={"type": "web_form"}).json["items"]
    assert web[0]["summary"] == "Quote for solar panels?"


def test_intake_key_honeypot_and_rate_limit(client, anon_client, form):
    assert anon_client.post(f"{API}/intake", json=ENQUIRY).status_code == 401
    assert anon_client.post(f"{API}/intake", json=ENQUIRY,
                            headers={"X-Form-Key": form["key"] + "x"}).status_code == 401
    # The form's key opens nothing else.
    assert anon_client.get(f"{API}/leads", headers={
        "Authorization": f"Bearer {form['key']}"}).status_code == 401
    bot = anon_client.post(f"{API}/intake", headers={"X-Form-Key": form["key"]},
                           json={**ENQUIRY, "website": "http://spam.example"})
    assert bot.status_code == 201 and bot.json == {"status": "received"}
    assert client.get(f"{API}/leads").json["items"] == []
    nothing = anon_client.post(f"{API}/intake", headers={"X-Form-Key": form["key"]},
                               json={"first_name": "No contact"})
    assert nothing.status_code == 422
    third = anon_client.post(f"{API}/intake", headers={"X-Form-Key": form["key"]},
                             json=ENQUIRY)
    assert third.status_code == 201
    limited = anon_client.post(f"{API}/intake", headers={"X-Form-Key": form["key"]},
                               json={**ENQUIRY, "email": "eve@example.com"})
    assert limited.status_code == 429  # the fourth request this minute, whatever it held
    assert len(client.get(f"{API}/leads").json["items"]) == 1
    rotated = client.post(f"{API}/forms/{form['id']}/rotate-key").json["key"]
    assert rotated != form["key"]
