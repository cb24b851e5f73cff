"""Customer list paging and money precision.

- A cursor belongs to the sort it came from, and its value must be one the sort could hold: a
  cursor of another sort, or one edited by hand, is a 422 on ``cursor`` (never a 500 or 503).
- Sorted by a custom field, customers without a value come first (last when descending),
  whatever the values of the others, and keyset pages cross that boundary without loss.
- SQLite keeps 15 significant digits of an amount: more is refused there, not rounded.
"""
import base64
import csv
import decimal
import json

import pytest

from crmkit.db import is_sqlite
from crmkit.pagination import make_cursor
from tests.test_customers_import import read_report, run

OTHER_SORT = ("This cursor belongs to a list sorted another way; ask for the first page again "
              "(without a cursor) after changing the sort.")
NOT_A_CURSOR = "Not a cursor returned by this list."
SQLITE_AMOUNT = ("Too many digits: this database (SQLite) keeps 15 significant digits of an "
                 "amount; this one has 18.")


def define(client, name, type):
    r = client.post("/api/v1/custom-fields", json={"name": name, "type": type})
    assert r.status_code == 201, r.json


def person(client, first_name, **custom):
    r = client.post("/api/v1/customers", json={"first_name": first_name, "custom": custom})
    assert r.status_code == 201, r.json
    return r.json["id"]


def raw_cursor(body) -> str:
    """A cursor as a client could forge one: any JSON in the token."""
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def cursor_error(response):
    assert response.status_code == 422, (response.status_code, response.json)
    return response.json["errors"]["query"]["cursor"]


def walk(client, sort, limit=1, path="/api/v1/customers"):
    """Every page of a list, following next_cursor; the first names (or ids) in order."""
    seen, cursor = [], None
    while True:
        params = {"sort": sort, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = client.get(path, query_string=params)
        assert r.status_code == 200, r.json
        seen += [i.get("first_name", i["id"]) for i in r.json["items"]]
        cursor = r.json["next_cursor"]
        if cursor is None:
            return seen


@pytest.fixture
def fields(client):
    for name, kind in (("n", "number"), ("d", "decimal"), ("dt", "date"), ("t", "text"),
                       ("b", "boolean"), ("c", "choice")):
        if kind == "choice":
            assert client.post("/api/v1/custom-fields", json={
                "name": name, "type": kind, "choices": ["x", "y"]}).status_code == 201
        else:
            define(client, name, kind)
    person(client, "A", n=3, d="2.5", dt="2020-01-03", t="b", b=True, c="y")
    person(client, "B", n=-(2 ** 63), d="-999999999999999999.999999" if not is_sqlite()
           else "-999999999999999", dt="0001-01-01", t="", b=False, c="x")
    person(client, "C")  # no value for any field
    person(client, "D", n=2 ** 63 - 1, d="0", dt="9999-12-31", t="a", b=True, c="x")


# Sort values, the customers' order ascending (no value first, ties by id).
ORDERS = {"custom.n": ["C", "B", "A", "D"], "custom.d": ["C", "B", "D", "A"],
          "custom.dt": ["C", "B", "A", "D"], "custom.t": ["B", "C", "D", "A"],  # "" is no value
          "custom.b": ["C", "B", "A", "D"], "custom.c": ["C", "B", "D", "A"],
          "name": ["A", "B", "C", "D"]}


@pytest.mark.parametrize("sort", sorted(ORDERS))
@pytest.mark.parametrize("limit", [1, 2, 50])
def test_pages_cross_the_no_value_boundary_in_both_directions(client, fields, sort, limit):
    assert walk(client, sort, limit) == ORDERS[sort]
    # Descending, no value comes last, and ties (no value, or the same value) go by
    # descending id: the exact reverse.
    assert walk(client, "-" + sort, limit) == ORDERS[sort][::-1]


@pytest.mark.parametrize("ftype, low, high", [
    ("number", -(2 ** 62) - 5, 2 ** 62), ("number", -(2 ** 63), 2 ** 63 - 1),
    ("decimal", "-500000000000000000", "1E+17"), ("date", "0001-01-01", "9999-12-31")])
def test_no_value_sorts_first_whatever_the_values(client, ftype, low, high):
    define(client, "f", ftype)
    person(client, "Low", f=low)
    person(client, "NoValue")
    person(client, "High", f=high)
    person(client, "NoValue2")
    assert walk(client, "custom.f", 50) == ["NoValue", "NoValue2", "Low", "High"]
    assert walk(client, "custom.f", 1) == ["NoValue", "NoValue2", "Low", "High"]
    assert walk(client, "-custom.f", 1) == ["High", "Low", "NoValue2", "NoValue"]


@pytest.mark.parametrize("made_with, used_with", [
    ("custom.dt", "custom.n"), ("created_at", "custom.n"), ("custom.n", "name"),
    ("name", "-name"), ("custom.n", "-custom.n"), ("custom.t", "name"), ("id", "custom.n"),
    ("created_at", "updated_at")])
def test_a_cursor_of_another_sort_is_422(client, fields, made_with, used_with):
    cursor = client.get("/api/v1/customers", query_string={
        "sort": made_with, "limit": 1}).json["next_cursor"]
    assert cursor
    r = client.get("/api/v1/customers", query_string={
        "sort": used_with, "limit": 1, "cursor": cursor})
    assert cursor_error(r) == [OTHER_SORT]


def test_a_timeline_cursor_is_no_customer_list_cursor(client, fields):
    customer = person(client, "E")
    for _ in range(2):
        client.post(f"/api/v1/customers/{customer}/interactions", json={"type": "call"})
    cursor = client.get(f"/api/v1/customers/{customer}/interactions?limit=1").json["next_cursor"]
    assert cursor_error(client.get("/api/v1/customers", query_string={"cursor": cursor}))
    name_cursor = client.get("/api/v1/customers?limit=1").json["next_cursor"]
    assert cursor_error(client.get(f"/api/v1/customers/{customer}/interactions",
                                   query_string={"cursor": name_cursor})) == [OTHER_SORT]


# Values a hand-made cursor may hold; none is a value of any sort below except where listed.
TAMPERED = {
    "object": ["v", {"a": 1}], "list": ["v", [1, 2]], "null": ["v", None],
    "text": ["v", "x"], "nul": ["v", "a\u0000b"], "huge": ["v", 2 ** 70],
    "float": ["v", 1.5], "bool": ["v", True], "int": ["v", 7],
    "bad decimal": ["dec", "abc"], "big decimal": ["dec", "1E+999999"],
    "nan decimal": ["dec", "NaN"], "decimal": ["dec", "1.5"],
    "bad time": ["dt", "yesterday"], "overflowing time": ["dt", "0001-01-01T00:00:00+05:00"],
    "time": ["dt", "2020-01-01T00:00:00+00:00"], "bad date": ["d", "2020-13-01"],
    "date": ["d", "2020-01-01"], "unknown tag": ["zz", 1], "no tag": 5,
}
# The cursor values each sort takes (every other one above is a 422).
GOOD = {"name": {"text"}, "custom.t": {"text", "null"}, "custom.n": {"int", "null"},
        "custom.d": {"decimal", "null"}, "custom.dt": {"date", "null"},
        "custom.b": {"bool", "null"}, "created_at": {"time"}, "id": {"int"}}


@pytest.mark.parametrize("sort", sorted(GOOD))
def test_a_cursor_value_the_sort_cannot_hold_is_422(client, fields, sort):
    for label, value in TAMPERED.items():
        for descending in ("", "-"):
            r = client.get("/api/v1/customers", query_string={
                "sort": descending + sort, "cursor": raw_cursor([value, 1, descending + sort])})
            if label in GOOD[sort]:
                assert r.status_code == 200, (label, r.json)
            else:
                assert cursor_error(r) == [NOT_A_CURSOR], label


@pytest.mark.parametrize("body", [
    [["v", "A"], "1", "name"], [["v", "A"], True, "name"], [["v", "A"], 2 ** 63, "name"],
    [["v", "A"], 1, "name", "extra"], [["v", "A"]], {"a": 1}, "[" * 5000 + "]" * 5000])
def test_a_malformed_cursor_is_422(client, fields, body):
    cursor = raw_cursor(body) if not isinstance(body, str) else \
        base64.urlsafe_b64encode(body.encode()).decode()
    assert cursor_error(client.get("/api/v1/customers", query_string={
        "sort": "name", "cursor": cursor}))


def test_a_cursor_made_before_cursors_named_their_sort_is_refused_clearly(client, fields):
    r = client.get("/api/v1/customers", query_string={"cursor": make_cursor("A", 1)})
    assert cursor_error(r) == [NOT_A_CURSOR]


def test_a_tampered_timeline_cursor_is_422(client):
    customer = person(client, "E")
    for value in (["v", {"a": 1}], ["v", [1, 2]], ["v", 5], ["dt", "0001-01-01T00:00:00+05:00"],
                  ["v", None]):
        r = client.get(f"/api/v1/customers/{customer}/interactions", query_string={
            "cursor": raw_cursor([value, 1, "-interaction.occurred_at"])})
        assert cursor_error(r) == [NOT_A_CURSOR], value


# Money


def purchase(client, customer, amount):
    return client.post(f"/api/v1/customers/{customer}/interactions",
                       json={"type": "purchase", "amount": amount, "currency": "EUR"})


@pytest.mark.parametrize("amount", ["12345678901234.5678", "0.12345678901234567",
                                    "1234567890123.45678", "99999999999999.9999"])
def test_an_amount_is_kept_exactly_or_refused(client, amount):
    customer = person(client, "Buyer")
    stored = str(decimal.Decimal(amount).quantize(decimal.Decimal("0.0001")))
    r = purchase(client, customer, amount)
    if is_sqlite() and len(decimal.Decimal(stored).normalize().as_tuple().digits) > 15:
        assert r.status_code == 422, r.json
        assert r.json["errors"]["json"]["amount"][0].startswith(
            "Too many digits: this database (SQLite) keeps 15 significant digits of an amount")
        assert client.get(f"/api/v1/customers/{customer}/interactions").json["items"] == []
    else:
        assert r.status_code == 201, r.json
        [item] = client.get(f"/api/v1/customers/{customer}/interactions").json["items"]
        assert item["amount"] == stored


def test_eighteen_digits_are_refused_on_sqlite_and_kept_on_postgresql(client):
    customer = person(client, "Buyer")
    r = purchase(client, customer, "12345678901234.5678")
    if is_sqlite():
        assert r.status_code == 422
        assert r.json["errors"]["json"] == {"amount": [SQLITE_AMOUNT]}
    else:
        assert r.status_code == 201, r.json
        assert r.json["amount"] == "12345678901234.5678"


@pytest.mark.parametrize("amount", ["99999999999.9999", "12345678901234.5", "1500.00000000",
                                    "0.0001", "10000000000000"])
def test_fifteen_significant_digits_are_kept_exactly_on_every_engine(client, amount):
    customer = person(client, "Buyer")
    r = purchase(client, customer, amount)
    assert r.status_code == 201, r.json
    [item] = client.get(f"/api/v1/customers/{customer}/interactions").json["items"]
    assert decimal.Decimal(item["amount"]) == decimal.Decimal(amount)
    assert item["amount"] == str(decimal.Decimal(amount).quantize(decimal.Decimal("0.0001")))


def test_import_of_interactions_applies_the_same_limit(runner, client, app, tmp_path):
    customer = person(client, "Buyer")
    path = tmp_path / "timeline.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([
            ["customer_id", "type", "amount", "currency", "external_id"],
            [customer, "purchase", "12345678901234.5678", "EUR", "o-1"],
            [customer, "purchase", "99999999999.9999", "EUR", "o-2"],
        ])
    if is_sqlite():
        output = run(runner, "interactions", "import", str(path))
        assert "1 created" in output and "1 failed" in output, output
        assert read_report(str(tmp_path / "timeline.errors.csv")) == [
            ["row", "column", "message"], ["2", "amount", SQLITE_AMOUNT]]
    else:
        output = run(runner, "interactions", "import", str(path))
        assert "2 created" in output and "0 failed" in output, output
    amounts = sorted(i["amount"] for i in client.get(
        f"/api/v1/customers/{customer}/interactions").json["items"])
    assert amounts == (["99999999999.9999"] if is_sqlite()
                       else ["12345678901234.5678", "99999999999.9999"])
