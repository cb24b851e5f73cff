"""Custom field definitions and values: long text on PostgreSQL, operators that do not apply,
concurrent definitions, strict types, names, decimals SQLite cannot keep, and the CLI's ids.

Every test runs on SQLite and on PostgreSQL (CRMKIT_TEST_DATABASE_URL)."""
import json
import random
import threading

import pytest
from playhouse.migrations import Runner

from crmkit import custom_fields, db
from crmkit.custom_fields import CustomField, CustomValue
from crmkit.customers.models import Customer
from crmkit.schema import KERNEL_MIGRATIONS, drift, upgrade


def define(client, **data):
    response = client.post("/api/v1/custom-fields", json=data)
    assert response.status_code == 201, response.json
    return response.json


def create(client, **custom):
    return client.post("/api/v1/customers", json={"first_name": "X", "custom": custom})


def field_error(response, name, location="json"):
    assert response.status_code == 422, response.json
    return response.json["errors"][location][name][0]


def stored_values(app):
    with app.app_context(), db.connection():
        return CustomValue.select().count()


def cjk(rnd, length):
    return "".join(chr(rnd.randint(0x4E00, 0x9FFF)) for _ in range(length))


# -- 1. text values up to the documented 1000 characters, in any script -------------------------

def test_1000_cjk_characters_are_stored_found_and_sorted(client):
    define(client, name="t", type="text")
    rnd = random.Random(1)
    common = cjk(rnd, 400)  # beyond the indexed prefix: only the tails tell these apart
    values = {name: common + cjk(rnd, 600) for name in ("Ann", "Ben", "Cat")}
    ids = {}
    for name, value in values.items():
        response = client.post("/api/v1/customers", json={"first_name": name,
                                                          "custom": {"t": value}})
        assert response.status_code == 201, (response.status_code, response.json)
        assert response.json["custom"]["t"] == value
        ids[name] = response.json["id"]
    assert client.get(f"/api/v1/customers/{ids['Ben']}").json["custom"]["t"] == values["Ben"]
    emoji = "\U0001F600" * 1000  # four bytes each
    assert create(client, t=emoji).status_code == 201

    for name, value in values.items():
        found = client.get("/api/v1/customers", query_string={"custom.t": value})
        assert found.status_code == 200, found.json
        assert [c["id"] for c in found.json["items"]] == [ids[name]]
    prefix_only = client.get("/api/v1/customers", query_string={"custom.t": common})
    assert prefix_only.json["items"] == []
    short = client.get("/api/v1/customers", query_string={"custom.t__contains": values["Cat"][-5:]})
    assert [c["id"] for c in short.json["items"]] == [ids["Cat"]]

    by_value = sorted(values, key=values.get)
    listed = client.get("/api/v1/customers?sort=custom.t&custom.t__contains=" + common[:3]).json
    assert [c["first_name"] for c in listed["items"]] == by_value
    # The emoji sort after every CJK character. (No cursor paging here: a cursor carries the
    # last value, and the list refuses cursors over 500 characters.)
    names = [c["first_name"] for c in client.get("/api/v1/customers?sort=-custom.t").json["items"]]
    assert names == ["X"] + by_value[::-1]


def test_text_longer_than_1000_characters_is_422(client):
    define(client, name="t", type="text")
    message = field_error(create(client, t="\u4e00" * 1001), "custom.t")
    assert message == "Longer than 1000 characters."


def test_equality_filter_on_text_uses_an_index_with_50000_values(app, client):
    """The plan, not a timing: the prefix index serves an equality filter on both engines."""
    define(client, name="t", type="text")
    define(client, name="u", type="text")
    rnd = random.Random(7)
    wanted = cjk(rnd, 1000)
    with app.app_context(), db.connection():
        fields = custom_fields.fields_for("customer")
        rows = [{"field": fields["t" if i % 2 else "u"].id, "record_id": i,
                 "text_value": f"customer value {i}"} for i in range(50_000)]
        rows[101]["text_value"] = wanted
        with db.write_transaction():
            for start in range(0, len(rows), 5000):
                CustomValue.insert_many(rows[start:start + 5000]).execute()
        db.database.execute_sql("ANALYZE")
        query = Customer.select(Customer.id).where(custom_fields.filter_condition(
            "customer", Customer.id, "t", "eq", wanted))
        sql, params = query.sql()
        explain = "EXPLAIN QUERY PLAN " if db.is_sqlite() else "EXPLAIN "
        plan = "\n".join(str(row) for row in db.database.execute_sql(explain + sql, params))
        assert custom_fields.TEXT_INDEX in plan, plan
        matching = (CustomValue.select(CustomValue.record_id)
                    .where(custom_fields.filter_condition(
                        "customer", CustomValue.record_id, "t", "eq", wanted)))
        assert [row.record_id for row in matching] == [101]


def test_migration_0008_swaps_the_index_of_an_existing_database(make_app):
    app = make_app(upgrade=False)
    pm = app.extensions["crmkit"].pm
    runner = Runner(db.database.obj, KERNEL_MIGRATIONS, table_name="migrations_crmkit")
    name = "0008_custom_value_text_prefix_index"

    def text_indexes():
        return sorted((index.name, tuple(index.columns))
                      for index in db.database.get_indexes("custom_value")
                      if "text_value" in index.sql)

    with db.connection():
        runner.up("0007_event_indexes")
        db.database.execute_sql(
            "INSERT INTO custom_field (entity, name, label, type, required, created_at) "
            "VALUES ('customer', 't', 't', 'text', false, '2026-01-01 00:00:00')")
        db.database.execute_sql(
            "INSERT INTO custom_value (field_id, record_id, text_value) "
            "SELECT id, 1, %s FROM custom_field" % ("'" + "a" * 1000 + "'"))
        before = text_indexes()
        assert [columns for _, columns in before] == [("field_id", "text_value")]

    assert name in upgrade(pm, only="crmkit")[0].applied  # with any later script
    assert drift(pm) == {}
    # Down and up again, this script alone (later scripts are not this test's business).
    script = next(m for m in runner.status() if m.name == name).load()
    with db.connection():
        assert [index for index, _ in text_indexes()] == [custom_fields.TEXT_INDEX]
        assert db.database.execute_sql(
            "SELECT text_value FROM custom_value").fetchone()[0] == "a" * 1000
        with db.write_transaction():
            script.down(runner.migrator, db.database.obj)
        assert [columns for _, columns in text_indexes()] == [("field_id", "text_value")]
        with db.write_transaction():
            script.up(runner.migrator, db.database.obj)
    assert drift(pm) == {}


# -- 2. contains applies to text fields only ------------------------------------------------------

@pytest.mark.parametrize("kind, value, query", [
    ("number", 15, "5"), ("decimal", "1.5", "1.5"), ("date", "2020-01-05", "2020-01"),
    ("boolean", True, "true"), ("choice", "retail", "ret"), ("multi_choice", ["retail"], "ret")])
def test_contains_on_a_field_other_than_text_is_422(client, kind, value, query):
    define(client, name="f", type=kind, **({"choices": ["retail"]} if "choice" in kind else {}))
    assert create(client, f=value).status_code == 201
    response = client.get(f"/api/v1/customers?custom.f__contains={query}")
    message = field_error(response, "custom.f__contains", "query")
    assert message == f"Operator 'contains' applies to text fields only; f is a {kind} field."


def test_contains_on_text_still_matches(client):
    define(client, name="t", type="text")
    created = create(client, t="Heat pump owner").json
    response = client.get("/api/v1/customers?custom.t__contains=pump")
    assert [c["id"] for c in response.json["items"]] == [created["id"]]


# -- 3. the same name defined from eight threads at once -----------------------------------------

def test_concurrent_definitions_of_one_name_lose_like_a_later_duplicate(app, client):
    assert client.get("/api/v1/custom-fields").status_code == 200  # the admin token, made once
    for round_ in range(3):
        answers = []
        barrier = threading.Barrier(8)

        def define_it():
            other = app.test_client()
            barrier.wait()
            response = other.post("/api/v1/custom-fields", json={"name": "dup", "type": "text"})
            answers.append((response.status_code, response.json))

        threads = [threading.Thread(target=define_it) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        later = client.post("/api/v1/custom-fields", json={"name": "dup", "type": "text"})
        assert later.status_code == 422
        codes = sorted(code for code, _ in answers)
        assert codes == [201] + [422] * 7, answers
        assert all(body == later.json for code, body in answers if code == 422), answers
        dup = [f for f in client.get("/api/v1/custom-fields").json if f["name"] == "dup"]
        assert len(dup) == 1
        assert client.delete(f"/api/v1/custom-fields/{dup[0]['id']}").status_code == 204


# -- 4. text values are strings ---------------------------------------------------------------

@pytest.mark.parametrize("raw", [{"a": 1}, [1], ["x"], [], True, False, 5, 1.5])
def test_text_field_refuses_what_is_not_a_string(app, client, raw):
    define(client, name="t", type="text")
    assert field_error(create(client, t=raw), "custom.t") == "Not a valid string."
    customer = create(client, t="kept").json
    response = client.patch(f"/api/v1/customers/{customer['id']}", json={"custom": {"t": raw}})
    assert field_error(response, "custom.t") == "Not a valid string."
    assert client.get(f"/api/v1/customers/{customer['id']}").json["custom"] == {"t": "kept"}
    assert stored_values(app) == 1


# -- 5. names: the whole name must match ---------------------------------------------------------

@pytest.mark.parametrize("name", ["abc\n", "abc\r\n", "\nabc", "abc def", "abc-"])
def test_name_must_match_in_full_through_the_api(client, name):
    response = client.post("/api/v1/custom-fields", json={"name": name, "type": "text"})
    assert field_error(response, "name").startswith("Use lower case letters")
    assert client.get("/api/v1/custom-fields").json == []


def test_name_with_a_trailing_newline_is_refused_by_the_cli(runner, client):
    result = runner.invoke(["custom-fields", "define", "abc\n", "--type", "text"])
    assert result.exit_code == 1, result.output
    assert "name: Use lower case letters" in result.output
    assert client.get("/api/v1/custom-fields").json == []


# -- 6. whole numbers ---------------------------------------------------------------------------

@pytest.mark.parametrize("body, stored", [
    ('{"n": 5.0}', 5), ('{"n": 1e2}', 100), ('{"n": -3E0}', -3), ('{"n": 42}', 42),
    ('{"n": "42"}', 42), ('{"n": " -7 "}', -7), ('{"n": "+8"}', 8),
    ('{"n": 9223372036854775807}', 9223372036854775807),
    ('{"n": "-9223372036854775808"}', -9223372036854775808)])
def test_integral_json_numbers_and_ascii_digit_strings_are_whole_numbers(client, body, stored):
    define(client, name="n", type="number")
    response = client.post("/api/v1/customers", data='{"first_name": "X", "custom": %s}' % body,
                           content_type="application/json")
    assert response.status_code == 201, response.json
    assert response.json["custom"]["n"] == stored
    found = client.get("/api/v1/customers", query_string={"custom.n": str(stored)})
    assert [c["id"] for c in found.json["items"]] == [response.json["id"]]


@pytest.mark.parametrize("body, message", [
    ('"1_000"', "expected a whole number"), ('"\u0661\u0662\u0663"', "expected a whole number"),
    ('"\uff11\uff12"', "expected a whole number"), ('"1e2"', "expected a whole number"),
    ('"5.0"', "expected a whole number"), ('2.5', "expected a whole number"),
    ('true', "expected a whole number"), ('[1]', "expected a whole number"),
    ('{"a": 1}', "expected a whole number"), ('"0x10"', "expected a whole number"),
    ('1e300', "Too large to be exact as a JSON number"),
    ('9223372036854775808', "Out of range"), ('"-9223372036854775809"', "Out of range")])
def test_other_numbers_are_422_on_the_field(app, client, body, message):
    define(client, name="n", type="number")
    response = client.post("/api/v1/customers",
                           data='{"first_name": "X", "custom": {"n": %s}}' % body,
                           content_type="application/json")
    assert message in field_error(response, "custom.n")
    assert stored_values(app) == 0


@pytest.mark.parametrize("query", ["1_000", "\u0661\u0662\u0663", "99999999999999999999"])
def test_number_filter_refuses_the_same(client, query):
    define(client, name="n", type="number")
    response = client.get("/api/v1/customers", query_string={"custom.n": query})
    assert "custom.n" in response.json["errors"]["query"], response.json


# -- 7. choices belong to choice fields --------------------------------------------------------

@pytest.mark.parametrize("kind", ["text", "number", "decimal", "date", "boolean"])
def test_choices_on_a_field_without_choices_are_422(client, kind):
    response = client.post("/api/v1/custom-fields",
                           json={"name": "f", "type": kind, "choices": ["x"]})
    assert field_error(response, "choices") == "Only choice and multi_choice fields take choices."
    assert client.get("/api/v1/custom-fields").json == []
    assert define(client, name="f", type=kind, choices=[])["choices"] == []


def test_choices_on_a_field_without_choices_are_refused_by_the_cli(runner, client):
    result = runner.invoke(["custom-fields", "define", "n", "--type", "number", "--choice", "x"])
    assert result.exit_code == 1, result.output
    assert "choices: Only choice and multi_choice fields take choices." in result.output
    assert client.get("/api/v1/custom-fields").json == []


# -- 8. decimals: what the database keeps -------------------------------------------------------

LONG_DECIMALS = ["123456789012.123456", "999999999999999999.999999", "1234567890123456",
                 "1234567890.123456"]


@pytest.mark.parametrize("raw", LONG_DECIMALS)
def test_decimal_with_more_digits_than_sqlite_keeps(app, client, raw):
    define(client, name="d", type="decimal")
    response = create(client, d=raw)
    if db.is_sqlite():
        assert field_error(response, "custom.d") == (
            "Too many digits: this database (SQLite) keeps 15 significant digits of a decimal.")
        assert stored_values(app) == 0
        response = client.get("/api/v1/customers", query_string={"custom.d__gte": raw})
        assert "15 significant digits" in field_error(response, "custom.d", "query")
    else:  # PostgreSQL's NUMERIC(24, 6) keeps every digit
        assert response.status_code == 201, response.json
        read = client.get(f"/api/v1/customers/{response.json['id']}").json["custom"]["d"]
        assert read == format(custom_fields.decimal.Decimal(raw).quantize(
            custom_fields.decimal.Decimal("0.000001")), "f")
        found = client.get("/api/v1/customers", query_string={"custom.d": raw})
        assert [c["id"] for c in found.json["items"]] == [response.json["id"]]


@pytest.mark.parametrize("raw, read", [
    ("123456789.123456", "123456789.123456"), ("12345678901.2345", "12345678901.234500"),
    ("100000000000000000", "100000000000000000.000000"), ("-0.000001", "-0.000001"),
    ("999999999999999", "999999999999999.000000"), ("1000.50000000", "1000.500000"),
    (0.1, "0.100000"), (12, "12.000000")])
def test_decimal_within_15_significant_digits_reads_back_exactly(client, raw, read):
    define(client, name="d", type="decimal")
    response = create(client, d=raw)
    assert response.status_code == 201, response.json
    assert client.get(f"/api/v1/customers/{response.json['id']}").json["custom"]["d"] == read


@pytest.mark.parametrize("raw", ["1_000.5", "\u0661.5", "Infinity", "NaN", "1,5", True, [1]])
def test_decimal_written_otherwise_is_422(client, raw):
    define(client, name="d", type="decimal")
    assert "expected a decimal number" in field_error(create(client, d=raw), "custom.d")


def test_the_decimal_limit_is_documented():
    from pathlib import Path
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    assert "15 significant digits" in text


# -- dates, strictly as documented (YYYY-MM-DD) -------------------------------------------------

@pytest.mark.parametrize("raw", ["20270131", "2027-W05-1", 20270131, "2027-1-31", "2027-02-30"])
def test_date_other_than_yyyy_mm_dd_is_422(client, raw):
    define(client, name="d", type="date")
    assert "expected a date as YYYY-MM-DD" in field_error(create(client, d=raw), "custom.d")


# -- 9. the CLI's ids ---------------------------------------------------------------------------

@pytest.mark.parametrize("ref, message", [
    ("99999999999999999999", "Custom field 99999999999999999999 does not exist."),
    ("9223372036854775807", "Custom field 9223372036854775807 does not exist."),
    ("0", "Custom field 0 does not exist."),
    ("\u0661", "No custom field '\u0661' on customer.")])
def test_cli_delete_of_an_id_no_field_has_is_a_clear_error(runner, client, ref, message):
    kept = define(client, name="kept", type="text")
    result = runner.invoke(["custom-fields", "delete", ref, "-y"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"Error: {message}"
    assert isinstance(result.exception, SystemExit)  # a message, no traceback
    assert [f["id"] for f in client.get("/api/v1/custom-fields").json] == [kept["id"]]
    assert client.delete("/api/v1/custom-fields/99999999999999999999").status_code == 404


def test_cli_delete_by_id_and_name_still_works(runner, client):
    first = define(client, name="first", type="text")
    define(client, name="second", type="number")
    assert runner.invoke(["custom-fields", "delete", str(first["id"]), "-y"]).exit_code == 0
    assert runner.invoke(["custom-fields", "delete", "second", "-y"]).exit_code == 0
    assert client.get("/api/v1/custom-fields").json == []
    with_json = runner.invoke(["custom-fields", "list", "--json"])
    assert json.loads(with_json.output) == []


def test_field_definitions_outside_a_request_are_unchanged(app):
    with app.app_context(), db.connection(), db.write_transaction():
        field = custom_fields.define_field("customer", "plain", "text")
        assert CustomField.get_by_id(field.id).name == "plain"
