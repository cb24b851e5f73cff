"""Deals: creation, stage moves with history, required fields, lost reasons, revenue once,
lines and Decimal totals, custom fields, lists, object-level access."""
import decimal

API = "/api/v1/sales"


def move(client, deal, stage_id, **extra):
    return client.post(f"{API}/deals/{deal['id']}/move", json={"stage_id": stage_id, **extra})


def test_new_deal_starts_in_first_stage_with_history(client, make_deal, pipeline):
    deal = make_deal()
    assert deal["stage"]["name"] == "New" and deal["status"] == "open"
    assert deal["currency"] == "EUR" and deal["amount"] == "1000.00"
    history = client.get(f"{API}/deals/{deal['id']}/history").json
    assert len(history) == 1 and history[0]["stage"] == "New" and history[0]["left_at"] is None


def test_move_records_history_entered_left_and_by_whom(client, make_deal, pipeline):
    deal = make_deal()
    assert move(client, deal, pipeline["stage"]["Qualified"]).status_code == 200
    history = client.get(f"{API}/deals/{deal['id']}/history").json
    assert [h["stage"] for h in history] == ["New", "Qualified"]
    admin_id = history[0]["entered_by"]
    assert admin_id is not None
    assert history[0]["left_at"] == history[1]["entered_at"]
    assert history[0]["left_by"] == admin_id and history[0]["seconds"] >= 0
    same = move(client, deal, pipeline["stage"]["Qualified"])
    assert same.json["moved"] is False
    assert len(client.get(f"{API}/deals/{deal['id']}/history").json) == 2


def test_required_fields_refuse_the_move_naming_them(client, make_deal, pipeline):
    deal = make_deal(amount="0")
    response = move(client, deal, pipeline["stage"]["Proposal"])
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"amount", "expected_close"}
    assert "Proposal" in response.json["message"]
    got = client.get(f"{API}/deals/{deal['id']}").json
    assert got["stage"]["name"] == "New"
    assert len(client.get(f"{API}/deals/{deal['id']}/history").json) == 1
    client.patch(f"{API}/deals/{deal['id']}", json={"amount": "500", "expected_close": "2030-01-31"})
    assert move(client, deal, pipeline["stage"]["Proposal"]).status_code == 200


def test_lost_needs_a_reason(client, make_deal, pipeline):
    deal = make_deal()
    refused = move(client, deal, pipeline["stage"]["Lost"])
    assert refused.status_code == 422 and "lost_reason" in refused.json["errors"]["json"]
    lost = move(client, deal, pipeline["stage"]["Lost"], lost_reason="Too expensive")
    assert lost.status_code == 200
    assert lost.json["deal"]["status"] == "lost"
    assert lost.json["deal"]["lost_reason"] == "Too expensive"


def test_won_records_revenue_exactly_once(client, make_deal, pipeline, customer):
    deal = make_deal(lines=[{"name": "Boiler", "quantity": 2, "unit_price": "450.00",
                             "tax_rate": "20"}])
    assert deal["amount"] == "1080.00"
    won = move(client, deal, pipeline["stage"]["Won"])
    assert won.status_code == 200 and won.json["deal"]["won_at"]
    first_won_at = won.json["deal"]["won_at"]
    move(client, deal, pipeline["stage"]["Qualified"])
    again = move(client, deal, pipeline["stage"]["Won"])
    assert again.json["deal"]["won_at"] == first_won_at
    purchases = client.get(f"/api/v1/customers/{customer['id']}/interactions",
                           query_string={"type": "purchase"}).json["items"]
    assert len(purchases) == 1
    purchase = purchases[0]
    assert decimal.Decimal(purchase["amount"]) == decimal.Decimal("1080.00")
    assert purchase["currency"] == "EUR" and purchase["source"] == "sales"
    assert purchase["lines"][0]["name"] == "Boiler"
    assert purchase["payload"]["deal_id"] == deal["id"]
    assert again.json["deal"]["revenue_interaction_id"] == purchase["id"]
    assert client.get(f"/api/v1/customers/{customer['id']}").json["status"] == "active"
    assert client.delete(f"{API}/deals/{deal['id']}").status_code == 409


def test_stage_changed_event_is_emitted(client, make_deal, pipeline):
    deal = make_deal()
    move(client, deal, pipeline["stage"]["Qualified"])
    events = client.get("/api/v1/events", query_string={"type": "sales.deal.stage_changed"})
    assert events.status_code == 200
    payload = events.json["events"][-1]["payload"]
    assert payload["deal"]["id"] == deal["id"]
    assert payload["to_stage"]["name"] == "Qualified" and payload["from_stage"]["name"] == "New"


def test_lines_are_priced_with_decimal_and_half_up_rounding(client, make_deal):
    deal = make_deal(lines=[
        {"name": "Cable", "quantity": "3", "unit_price": "0.335", "tax_rate": "19"},
        {"name": "Pipe", "quantity": "1.5", "unit_price": "10.10", "discount_percent": "7.5",
         "tax_rate": "7"},
    ])
    lines = deal["lines"]
    # 3 x 0.34 = 1.02 (unit price rounded half up to the cent first); tax 19% = 0.1938 -> 0.19
    assert lines[0]["unit_price"] == "0.34" and lines[0]["net"] == "1.02"
    assert lines[0]["tax"] == "0.19" and lines[0]["total"] == "1.21"
    # 1.5 x 10.10 = 15.15, less 7.5% = 14.01375 -> 14.01; tax 7% = 0.9807 -> 0.98
    assert lines[1]["net"] == "14.01" and lines[1]["tax"] == "0.98"
    assert deal["amount"] == "16.20"
    assert deal["pricing"]["total"] == "16.20" and deal["pricing"]["benefit"] is None


def test_amount_follows_lines(client, make_deal):
    deal = make_deal(lines=[{"name": "A", "unit_price": "10"}])
    refused = client.patch(f"{API}/deals/{deal['id']}", json={"amount": "99"})
    assert refused.status_code == 422 and "amount" in refused.json["errors"]["json"]
    bad = client.patch(f"{API}/deals/{deal['id']}", json={"lines": [
        {"name": "A", "quantity": "-1", "unit_price": "x"}]})
    assert bad.status_code == 422
    assert set(bad.json["errors"]["json"]) == {"lines.0.quantity", "lines.0.unit_price"}
    cleared = client.patch(f"{API}/deals/{deal['id']}", json={"lines": []})
    assert cleared.json["lines"] == []
    assert client.patch(f"{API}/deals/{deal['id']}", json={"amount": "99"}).json["amount"] == \
        "99.00"


def test_bad_input_is_422_not_500(client, pipeline, customer):
    for body, field in (({"customer_id": 999999}, "customer_id"),
                        ({"customer_id": customer["id"], "stage_id": 999999}, "stage_id"),
                        ({"customer_id": customer["id"], "currency": "euro"}, "currency"),
                        ({"customer_id": customer["id"], "amount": "lots"}, "amount"),
                        ({"customer_id": customer["id"], "owner_id": 424242}, "owner_id")):
        response = client.post(f"{API}/deals", json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"]["json"]


def test_custom_fields_on_deals(client, make_deal, pipeline):
    defined = client.post("/api/v1/custom-fields", json={
        "entity": "sales.deal", "name": "roof_type", "type": "choice",
        "choices": ["flat", "pitched"]})
    assert defined.status_code == 201, defined.json
    deal = make_deal(custom={"roof_type": "flat"})
    assert deal["custom"] == {"roof_type": "flat"}
    make_deal(custom={"roof_type": "pitched"})
    bad = client.post(f"{API}/deals", json={"customer_id": deal["customer_id"],
                                            "custom": {"roof_type": "round"}})
    assert bad.status_code == 422 and "custom.roof_type" in bad.json["errors"]["json"]
    flat = client.get(f"{API}/deals", query_string={"custom.roof_type": "flat"}).json
    assert [d["id"] for d in flat["items"]] == [deal["id"]]
    # A stage may require a custom field.
    client.patch(f"{API}/stages/{pipeline['stage']['Qualified']}", json={"automations": [
        {"action": "require_fields", "config": {"fields": ["custom.survey_date"]}}]})
    client.post("/api/v1/custom-fields", json={"entity": "sales.deal", "name": "survey_date",
                                               "type": "date"})
    client.patch(f"{API}/stages/{pipeline['stage']['Qualified']}", json={"automations": [
        {"action": "require_fields", "config": {"fields": ["custom.survey_date"]}}]})
    refused = move(client, deal, pipeline["stage"]["Qualified"])
    assert refused.status_code == 422 and "custom.survey_date" in refused.json["errors"]["json"]
    client.patch(f"{API}/deals/{deal['id']}", json={"custom": {"survey_date": "2030-02-01"}})
    assert move(client, deal, pipeline["stage"]["Qualified"]).status_code == 200


def test_list_filters_and_keyset_pages(client, make_deal, pipeline):
    made = [make_deal(title=f"Deal {i}", source="web" if i % 2 else "phone") for i in range(7)]
    move(client, made[0], pipeline["stage"]["Lost"], lost_reason="No budget")
    seen, cursor = [], None
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/deals", query_string=query).json
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted((d["id"] for d in made), reverse=True)
    web = client.get(f"{API}/deals", query_string={"source": "web"}).json["items"]
    assert {d["title"] for d in web} == {"Deal 1", "Deal 3", "Deal 5"}
    lost = client.get(f"{API}/deals", query_string={"status": "lost"}).json["items"]
    assert [d["id"] for d in lost] == [made[0]["id"]]
    assert client.get(f"{API}/deals", query_string={"limit": 100000}).status_code == 422


def test_rotting_deals(client, make_deal, pipeline, run):
    import datetime as dt

    from crmkit.db import utcnow
    from crmkit_sales.models import Deal
    fresh, stale = make_deal(), make_deal()
    run(lambda: Deal.update(stage_entered_at=utcnow() - dt.timedelta(days=4))
        .where(Deal.id == stale["id"]).execute())
    assert client.get(f"{API}/deals/{stale['id']}").json["rotting"] is True
    assert client.get(f"{API}/deals/{fresh['id']}").json["rotting"] is False
    rotting = client.get(f"{API}/deals", query_string={"rotting": "true"}).json["items"]
    assert [d["id"] for d in rotting] == [stale["id"]]


def test_agents_see_their_own_deals_managers_their_teams(client, make_client, pipeline,
                                                         make_customer):
    alice = make_client("agent", teams=("North",))
    bob = make_client("agent", teams=("South",))
    boss = make_client("manager", manager_of=("North",))
    mine = make_customer(owner_id=alice.user.id)
    created = alice.post(f"{API}/deals", json={"customer_id": mine["id"], "title": "Alice's"})
    assert created.status_code == 201, created.json
    deal = created.json
    assert deal["owner_id"] == alice.user.id and deal["team_id"] is not None
    assert bob.get(f"{API}/deals/{deal['id']}").status_code == 404
    assert bob.get(f"{API}/deals").json["items"] == []
    assert boss.get(f"{API}/deals/{deal['id']}").status_code == 200
    assert move(bob, deal, pipeline["stage"]["Qualified"]).status_code == 404
    # Giving a deal away needs the reassign permission.
    given = alice.patch(f"{API}/deals/{deal['id']}", json={"owner_id": bob.user.id})
    assert given.status_code == 403
    assert boss.patch(f"{API}/deals/{deal['id']}",
                      json={"owner_id": bob.user.id}).status_code == 200
    # A customer the agent may not see is as missing.
    other = make_customer(owner_id=bob.user.id)
    refused = alice.post(f"{API}/deals", json={"customer_id": other["id"]})
    assert refused.status_code == 422 and "customer_id" in refused.json["errors"]["json"]
    assert client.get(f"{API}/deals").status_code == 200
    read_only = make_client("read-only")
    assert read_only.post(f"{API}/deals", json={"customer_id": mine["id"]}).status_code == 403
