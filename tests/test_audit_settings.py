"""Settings changes (tags, custom field definitions) are in the audit trail too."""


def audit_rows(client, **query):
    response = client.get("/api/v1/audit", query_string=query)
    assert response.status_code == 200, response.json
    body = response.json
    return body["items"] if isinstance(body, dict) else body


def test_tag_create_and_delete_are_audited(client):
    tag = client.post("/api/v1/tags", json={"name": "VIP"}).json
    client.post("/api/v1/customers", json={"first_name": "A", "tags": ["VIP"]})
    assert client.delete(f"/api/v1/tags/{tag['id']}").status_code == 204
    rows = audit_rows(client, object_type="tag")
    assert [r["action"] for r in rows if r["object_id"] == str(tag["id"])] in (
        ["tag.create", "tag.delete"], ["tag.delete", "tag.create"])
    deleted = next(r for r in rows if r["action"] == "tag.delete")
    assert deleted["changes"] == {"name": ["VIP", None]}


def test_custom_field_definitions_are_audited(client):
    field = client.post("/api/v1/custom-fields",
                        json={"name": "industry", "type": "choice", "choices": ["a", "b"]}).json
    client.delete(f"/api/v1/custom-fields/{field['id']}")
    rows = audit_rows(client, object_type="custom_field")
    actions = sorted(r["action"] for r in rows)
    assert actions == ["custom_field.create", "custom_field.delete"]
    created = next(r for r in rows if r["action"] == "custom_field.create")
    assert created["changes"]["name"] == [None, "industry"]
    assert created["changes"]["choices"] == [None, ["a", "b"]]


def test_refused_settings_change_leaves_no_audit_record(client):
    response = client.post("/api/v1/custom-fields", json={"name": "Bad Name", "type": "text"})
    assert response.status_code == 422
    assert audit_rows(client, object_type="custom_field") == []
