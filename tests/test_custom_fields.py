"""Custom fields: typed definitions, validated values, filters, sorting."""
import pytest


def define(client, **data):
    response = client.post("/api/v1/custom-fields", json=data)
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def fields(client):
    return {
        "industry": define(client, name="industry", type="choice",
                           choices=["retail", "energy", "finance"]),
        "employees": define(client, name="employees", type="number"),
        "credit": define(client, name="credit", type="decimal"),
        "renewal": define(client, name="renewal", type="date"),
        "gdpr_ok": define(client, name="gdpr_ok", type="boolean"),
        "interests": define(client, name="interests", type="multi_choice",
                            choices=["solar", "heat", "ev"]),
        "code": define(client, name="code", type="text", required=True),
    }


def create(client, **data):
    return client.post("/api/v1/customers", json={"first_name": "X", **data})


def test_values_are_validated_and_returned_typed(client, fields):
    response = create(client, custom={"industry": "energy", "employees": "250",
                                      "credit": "1000.50", "renewal": "2027-01-31",
                                      "gdpr_ok": "yes", "interests": ["heat", "solar"],
                                      "code": "A1"})
    assert response.status_code == 201, response.json
    assert response.json["custom"] == {"industry": "energy", "employees": 250,
                                       "credit": "1000.500000", "renewal": "2027-01-31",
                                       "gdpr_ok": True, "interests": ["heat", "solar"],
                                       "code": "A1"}


@pytest.mark.parametrize("custom, field, message", [
    ({"industry": "mining"}, "custom.industry", "Must be one of: retail, energy, finance."),
    ({"employees": "many"}, "custom.employees", "expected a whole number"),
    ({"employees": 2.5}, "custom.employees", "expected a whole number"),
    ({"credit": "1,5"}, "custom.credit", "expected a decimal number"),
    ({"renewal": "31/01/2027"}, "custom.renewal", "expected a date as YYYY-MM-DD"),
    ({"gdpr_ok": "perhaps"}, "custom.gdpr_ok", "expected true or false"),
    ({"interests": ["solar", "wind"]}, "custom.interests", "Unknown choice(s) wind"),
    ({"colour": "red"}, "custom.colour", "Unknown custom field for customer."),
])
def test_bad_values_are_422_per_field(client, fields, custom, field, message):
    response = create(client, custom={"code": "A1", **custom})
    assert response.status_code == 422
    assert message in response.json["errors"]["json"][field][0]


def test_required_field_must_be_given_on_create(client, fields):
    response = create(client)
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {"custom.code": ["This custom field is required."]}


def test_definition_errors(client, fields):
    for data, field in [({"name": "Bad Name", "type": "text"}, "name"),
                        ({"name": "industry", "type": "text"}, "name"),
                        ({"name": "x", "type": "colour"}, "type"),
                        ({"name": "y", "type": "choice"}, "choices")]:
        response = client.post("/api/v1/custom-fields", json=data)
        assert response.status_code == 422, (data, response.json)
        assert field in response.json["errors"]["json"]


def test_filter_and_sort_by_custom_fields(client, fields):
    for name, employees, industry, interests in [("Ann", 10, "retail", ["ev"]),
                                                 ("Ben", 500, "energy", ["heat", "solar"]),
                                                 ("Cat", 50, "energy", ["solar"]),
                                                 ("Dan", None, "finance", [])]:
        custom = {"code": name, "industry": industry, "interests": interests}
        if employees is not None:
            custom["employees"] = employees
        assert create(client, first_name=name, custom=custom).status_code == 201

    def names(query):
        response = client.get(f"/api/v1/customers?{query}")
        assert response.status_code == 200, response.json
        return [c["name"] for c in response.json["items"]]

    assert names("custom.industry=energy") == ["Ben", "Cat"]
    assert names("custom.employees__gte=50") == ["Ben", "Cat"]
    assert names("custom.interests=solar") == ["Ben", "Cat"]
    assert names("sort=custom.employees") == ["Dan", "Ann", "Cat", "Ben"]
    assert names("sort=-custom.employees&limit=2") == ["Ben", "Cat"]
    page = client.get("/api/v1/customers?sort=custom.employees&limit=2").json
    rest = client.get(f"/api/v1/customers?sort=custom.employees&limit=2"
                      f"&cursor={page['next_cursor']}").json
    assert [c["name"] for c in page["items"] + rest["items"]] == ["Dan", "Ann", "Cat", "Ben"]
    response = client.get("/api/v1/customers?custom.employees__gte=lots")
    assert response.status_code == 422
    assert "custom.employees" in response.json["errors"]["query"]
    response = client.get("/api/v1/customers?custom.industry__gte=a")
    assert response.status_code == 422


def test_patch_merges_custom_values_and_delete_definition_drops_values(client, fields):
    body = create(client, custom={"code": "A", "employees": 5}).json
    response = client.patch(f"/api/v1/customers/{body['id']}", json={"custom": {"employees": 6}})
    assert response.json["custom"] == {"code": "A", "employees": 6}
    assert client.delete(f"/api/v1/custom-fields/{fields['employees']['id']}").status_code == 204
    assert client.get(f"/api/v1/customers/{body['id']}").json["custom"] == {"code": "A"}
    assert client.delete("/api/v1/custom-fields/9999").status_code == 404
