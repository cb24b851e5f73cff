"""The command-line door: ``crmkit customers``, ``crmkit custom-fields``, ``crmkit tags``."""
import json

import click
import pytest


@pytest.fixture(autouse=True)
def schema(app):
    """The test's database with its tables (the ``app`` fixture creates them)."""
    return app


def ok(runner, args, **kwargs):
    result = runner.invoke(args, **kwargs)
    assert result.exit_code == 0, result.output
    return result.output


def fails(runner, args, **kwargs):
    result = runner.invoke(args, **kwargs)
    assert result.exit_code != 0, result.output
    return result.output


def create(runner, *args):
    output = ok(runner, ["customers", "create", "--json", *args])
    return json.loads(output)


def test_create_and_show_a_customer(runner, client):
    body = create(runner, "--first-name", "Ada", "--last-name", "Lovelace",
                  "--email", "Ada@Example.com", "--phone", "+44 20 7946 0958",
                  "--other-email", "ada@work.example", "--tag", "vip", "--tag", "newsletter",
                  "--status", "prospect", "--city", "London", "--country", "GB")
    assert body["name"] == "Ada Lovelace"
    assert body["phone"] == "+442079460958"
    assert body["other_emails"] == ["ada@work.example"]
    assert body["tags"] == ["newsletter", "vip"]
    # The same record through the API: both doors write the same thing.
    assert client.get(f"/api/v1/customers/{body['id']}").json["email"] == "Ada@Example.com"

    profile = json.loads(ok(runner, ["customers", "show", str(body["id"])]))
    assert profile["customer"]["id"] == body["id"]
    assert profile["timeline"]["count"] == 0
    assert profile["figures"]["purchase_count"] == 0

    plain = ok(runner, ["customers", "create", "--kind", "company", "--name", "Acme"])
    assert plain.startswith("created customer ") and plain.rstrip().endswith(": Acme")


@pytest.mark.parametrize("args, message", [
    (["--first-name", "A", "--email", "not-an-email"], "email: Not a valid email address."),
    (["--first-name", "A", "--phone", "12"], "phone: Not a valid phone number"),
    (["--first-name", "A", "--country", "Germany"], "country: An ISO 3166 code"),
    (["--first-name", "A", "--custom", "nope=1"], "custom.nope: Unknown custom field"),
    (["--kind", "company"], "name: A company needs a name."),
    (["--first-name", "A", "--custom", "novalue"], "expected NAME=VALUE"),
])
def test_create_refuses_bad_input_naming_the_field(runner, client, args, message):
    output = fails(runner, ["customers", "create", *args])
    assert message in output
    assert client.get("/api/v1/customers").json["items"] == []


def test_list_with_the_api_filters(runner):
    ok(runner, ["custom-fields", "define", "tier", "--type", "choice", "--choice", "gold",
                "--choice", "silver"])
    gold = create(runner, "--first-name", "Gold", "--status", "active", "--tag", "vip",
                  "--custom", "tier=gold")
    create(runner, "--first-name", "Silver", "--status", "active", "--custom", "tier=silver")
    create(runner, "--first-name", "Lead", "--status", "potential", "--tag", "vip")

    table = ok(runner, ["customers", "list", "--sort", "name"]).splitlines()
    assert table[0].split() == ["id", "kind", "name", "email", "phone", "status", "tags"]
    assert [line.split()[2] for line in table[2:]] == ["Gold", "Lead", "Silver"]

    page = json.loads(ok(runner, ["customers", "list", "--status", "active", "--tag", "vip",
                                  "--json"]))
    assert [c["id"] for c in page["items"]] == [gold["id"]]
    assert page["items"][0]["custom"] == {"tier": "gold"}
    page = json.loads(ok(runner, ["customers", "list", "--custom", "tier=silver", "--json"]))
    assert [c["name"] for c in page["items"]] == ["Silver"]


def test_list_pages_with_a_cursor(runner):
    for name in ("Ann", "Bob", "Cat"):
        create(runner, "--first-name", name)
    first = runner.invoke(["customers", "list", "--limit", "2", "--sort", "name"])
    assert first.exit_code == 0
    assert "more: --cursor " in first.output
    cursor = first.output.split("more: --cursor ")[1].split()[0]
    rest = ok(runner, ["customers", "list", "--limit", "2", "--sort", "name", "--cursor", cursor])
    assert [line.split()[2] for line in rest.splitlines()[2:]] == ["Cat"]


@pytest.mark.parametrize("args, message", [
    (["--status", "happy"], "status"),
    (["--sort", "shoe_size"], "sort"),
    (["--limit", "0"], "limit"),
    (["--created-after", "yesterday"], "created_after"),
    (["--custom", "nope=1"], "custom.nope"),
])
def test_list_refuses_bad_filters(runner, args, message):
    assert message in fails(runner, ["customers", "list", *args])


def test_duplicates_and_merge(runner, client):
    keep = create(runner, "--first-name", "Anna", "--last-name", "Smith",
                  "--email", "anna@example.com", "--phone", "+44 20 7946 0958")
    fold = create(runner, "--first-name", "Anna", "--last-name", "Smyth",
                  "--email", "ANNA+shop@example.com", "--tag", "newsletter")
    client.post(f"/api/v1/customers/{fold['id']}/interactions", json={"type": "call"})

    table = ok(runner, ["customers", "duplicates"]).splitlines()
    assert table[0].split()[:2] == ["rule", "match"]
    assert table[2].split()[:2] == ["email", "anna@example.com"]
    page = json.loads(ok(runner, ["customers", "duplicates", "--rule", "email", "--json"]))
    assert page["items"][0]["customer_ids"] == [keep["id"], fold["id"]]
    assert page["items"][0]["suggested_survivor_id"] == fold["id"]

    # Answering no leaves both alone.
    refused = runner.invoke(["customers", "merge", str(keep["id"]), str(fold["id"])], input="n\n")
    assert refused.exit_code == 1
    assert "Fold customer" in refused.output and "Aborted" in refused.output
    assert client.get(f"/api/v1/customers/{fold['id']}").status_code == 200

    merged = ok(runner, ["customers", "merge", str(keep["id"]), str(fold["id"])], input="y\n")
    assert f"merged customer {fold['id']} into {keep['id']}" in merged
    assert "1 interactions" in merged and "1 emails" in merged
    survivor = client.get(f"/api/v1/customers/{keep['id']}").json
    assert survivor["tags"] == ["newsletter"]
    assert survivor["other_emails"] == ["ANNA+shop@example.com"]
    assert ok(runner, ["customers", "duplicates"]).splitlines()[2:] == []

    gone = fails(runner, ["customers", "show", str(fold["id"])])
    assert f"merged into customer {keep['id']}" in gone


def test_merge_refuses_bad_pairs(runner):
    a = create(runner, "--first-name", "A")["id"]
    b = create(runner, "--first-name", "B")["id"]
    company = create(runner, "--kind", "company", "--name", "C")["id"]
    assert "cannot be merged into itself" in fails(
        runner, ["customers", "merge", str(a), str(a), "--yes"])
    assert "does not exist" in fails(runner, ["customers", "merge", str(a), "999", "--yes"])
    assert "only customers of one kind" in fails(
        runner, ["customers", "merge", str(a), str(company), "--yes"])
    ok(runner, ["customers", "merge", str(a), str(b), "--yes"])
    assert "already merged" in fails(runner, ["customers", "merge", str(a), str(b), "--yes"])
    as_json = fails(runner, ["customers", "merge", str(b), str(a), "--yes"])
    assert f"merge into customer {a} instead" in as_json


def test_merge_prints_json(runner):
    a = create(runner, "--first-name", "A", "--tag", "x")["id"]
    b = create(runner, "--first-name", "B", "--tag", "y", "--city", "Leeds")["id"]
    result = json.loads(ok(runner, ["customers", "merge", str(a), str(b), "--yes", "--json"]))
    assert result["merged_id"] == b
    assert result["survivor"]["tags"] == ["x", "y"]
    assert result["changes"]["city"] == [None, "Leeds"]


def test_custom_fields_define_list_delete(runner, client):
    ok(runner, ["custom-fields", "define", "tier", "--type", "choice", "--choice", "gold",
                "--choice", "silver", "--label", "Tier", "--required"])
    ok(runner, ["custom-fields", "define", "since", "--type", "date"])
    table = ok(runner, ["custom-fields", "list"]).splitlines()
    assert table[0].split() == ["id", "entity", "name", "type", "required", "choices", "label"]
    assert [line.split()[2] for line in table[2:]] == ["since", "tier"]
    listed = json.loads(ok(runner, ["custom-fields", "list", "--entity", "customer", "--json"]))
    assert [(f["name"], f["type"], f["required"]) for f in listed] == [
        ("since", "date", False), ("tier", "choice", True)]
    assert client.get("/api/v1/custom-fields").json == listed

    assert "already exists" in fails(runner, ["custom-fields", "define", "tier",
                                              "--type", "text"])
    assert "choices" in fails(runner, ["custom-fields", "define", "colour", "--type", "choice"])
    assert "entity" in fails(runner, ["custom-fields", "define", "x", "--type", "text",
                                      "--entity", "nowhere"])
    assert "Invalid value for '--type'" in fails(runner, ["custom-fields", "define", "x",
                                                          "--type", "colour"])

    refused = runner.invoke(["custom-fields", "delete", "tier"], input="n\n")
    assert refused.exit_code == 1
    ok(runner, ["custom-fields", "delete", "tier", "--yes"])
    since_id = listed[0]["id"]
    ok(runner, ["custom-fields", "delete", str(since_id)], input="y\n")
    assert json.loads(ok(runner, ["custom-fields", "list", "--json"])) == []
    assert "No custom field 'tier'" in fails(runner, ["custom-fields", "delete", "tier", "--yes"])


def test_tags_list(runner):
    create(runner, "--first-name", "A", "--tag", "VIP", "--tag", "newsletter")
    create(runner, "--first-name", "B", "--tag", "vip")
    table = ok(runner, ["tags", "list"]).splitlines()
    assert [line.split()[1:] for line in table[2:]] == [["newsletter", "1"], ["VIP", "2"]]
    assert [t["customers"] for t in json.loads(ok(runner, ["tags", "list", "--json"]))] == [1, 2]


def test_other_modules_can_add_commands_to_the_group(runner):
    from crmkit.cli.customers_cmd import customers

    @customers.command("probe")
    def probe():
        click.echo("probe ran")

    try:
        assert ok(runner, ["customers", "probe"]) == "probe ran\n"
        assert "probe" in ok(runner, ["customers", "--help"])
    finally:
        customers.commands.pop("probe")
