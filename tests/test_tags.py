"""Tags: one per name whatever its case, on both engines alike, and usable in the list filter."""
import pytest


def create(client, **data):
    response = client.post("/api/v1/customers", json=data)
    assert response.status_code == 201, response.json
    return response.json


def test_creating_a_tag_that_exists_in_another_case_answers_200_with_its_use(client):
    create(client, first_name="Ada", tags=["VIP"])
    again = client.post("/api/v1/tags", json={"name": "vip"})
    assert again.status_code == 200, again.json
    assert again.json["name"] == "VIP" and again.json["customers"] == 1
    new = client.post("/api/v1/tags", json={"name": "Newsletter"})
    assert new.status_code == 201 and new.json["customers"] == 0
    listed = {t["name"]: t["customers"] for t in client.get("/api/v1/tags").json}
    assert listed == {"Newsletter": 0, "VIP": 1}


def test_a_tag_whose_lower_case_is_longer_is_held_to_100_characters_on_every_engine(client):
    """"İ".lower() is two characters: 100 of them make a 200-character key."""
    assert client.post("/api/v1/tags", json={"name": "İ" * 50}).status_code == 201
    for attempt in (lambda: client.post("/api/v1/tags", json={"name": "İ" * 100}),
                    lambda: client.post("/api/v1/customers", json={"first_name": "X",
                                                                   "tags": ["İ" * 60]})):
        response = attempt()
        assert response.status_code == 422, response.json
        errors = response.json["errors"]["json"]
        message = errors["name"] if "name" in errors else errors["tags"]["0"]  # the item
        assert message == ["Each tag must be 1 to 100 characters."]
    assert client.get("/api/v1/customers").json["items"] == []


@pytest.mark.parametrize("where", ["tags endpoint", "customer"])
def test_a_tag_holding_a_comma_is_refused_since_the_filter_could_not_name_it(client, where):
    if where == "tags endpoint":
        response = client.post("/api/v1/tags", json={"name": "sales, north"})
        field = "name"
    else:
        response = client.post("/api/v1/customers", json={"first_name": "X",
                                                           "tags": ["sales, north"]})
        field = "tags"
    assert response.status_code == 422, response.json
    messages = response.json["errors"]["json"][field]
    assert "cannot hold a comma" in (messages[0] if field == "name" else messages["0"][0])
    assert client.get("/api/v1/tags").json == []


def test_an_import_reports_such_tags_against_the_row(runner, client, tmp_path):
    from tests.test_customers_import import read_report, run, write_csv
    path = write_csv(tmp_path, [["first_name", "tags"], ["A", "sales, north"], ["B", "ok|fine"],
                                ["C", "İ" * 60]])
    report = tmp_path / "report.csv"
    assert "1 created" in run(runner, "customers", "import", path, "--report", str(report))
    assert [r[:2] for r in read_report(report)[1:]] == [["2", "tags"], ["4", "tags"]]


def test_the_filter_takes_several_tags_in_any_case(client):
    ada = create(client, first_name="Ada", tags=["VIP", "Newsletter"])
    create(client, first_name="Bob", tags=["VIP"])
    found = client.get("/api/v1/customers?tag=vip,NEWSLETTER").json["items"]
    assert [c["id"] for c in found] == [ada["id"]]
