"""CSV exports are safe to open in a spreadsheet and their list cells keep items holding ``|``.

A text cell starting like a formula (= + - @, a tab, a carriage return) is written with a leading
``'``; inside a list cell an item's ``|`` and ``\\`` are written ``\\|`` and ``\\\\``. The import
undoes both, so an export imports back to exactly the values it was made from, on the same
installation (nothing changes) and on an empty one.
"""
import io
import itertools
import json
import re

import pytest

from crmkit.imports.base import join_list, split_list
from crmkit.imports.csvfile import FORMULA_STARTS, escape_formula, unescape_formula
from tests.test_customers_export import comparable, create, define, parse_csv
from tests.test_interactions_export import parse_jsonl, record

# Columns whose cells are numbers or dates, never text: written as they are.
TYPED = {"id", "company_id", "owner_id", "custom.budget", "custom.seats", "custom.since",
         "created_at", "updated_at", "customer_id", "amount", "occurred_at"}


@pytest.fixture(autouse=True)
def schema(app):
    return app


PARSE = {"csv": parse_csv, "jsonl": parse_jsonl}


def run(runner, *args, exit_code=0):
    result = runner.invoke(list(args))
    assert result.exit_code == exit_code, result.output
    return result.output



def runs_as_formula(cell: str) -> bool:
    """What a spreadsheet would evaluate as a formula calling something: a formula start,
    unless the cell is only a phone number or a signed number."""
    return cell.startswith(FORMULA_STARTS) and re.fullmatch(r"[+-][\d ().,/-]*", cell) is None

# -- the rules themselves ---------------------------------------------------------------------

def test_the_formula_escape_is_undone_exactly_and_leaves_no_formula():
    alphabet = ["'", "=", "+", "-", "@", "\t", "\r", "a", "1"]
    for size in range(6):
        for letters in itertools.product(alphabet, repeat=size):
            value = "".join(letters)
            cell = escape_formula(value)
            assert unescape_formula(cell) == value, repr(value)
            assert not runs_as_formula(cell), repr(value)
    for value, cell in [("=1+1", "'=1+1"), ("+x", "'+x"), ("-y", "'-y"), ("@cmd", "'@cmd"),
                        ("\tx", "'\tx"), ("\rx", "'\rx"), ("'=z", "''=z"), ("''-z", "'''-z"),
                        ("'plain", "'plain"), ("'", "'"), ("", ""), ("a=b", "a=b"),
                        # phone numbers and signed numbers call nothing: left bare
                        ("+44 20 7946 0958", "+44 20 7946 0958"), ("-5.5", "-5.5"),
                        ("+1 (555) 010-0100", "+1 (555) 010-0100"), ("'+1", "'+1"),
                        ("+1+cmd", "'+1+cmd"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0")]:
        assert escape_formula(value) == cell, repr(value)


def test_list_items_holding_the_separator_or_a_backslash_are_kept_apart():
    alphabet = ["a", "|", "\\"]
    for size in range(1, 6):
        for letters in itertools.product(alphabet, repeat=size):
            item = "".join(letters)
            for items in ([item], [item, "b"], ["b", item, item]):
                assert split_list(join_list(items)) == items, items
    assert join_list(["a|b", "c:\\dir", "x"]) == "a\\|b|c:\\\\dir|x"
    # A backslash before anything else is read as it is: hand-written files keep working.
    assert split_list("c:\\dir| b ||c\\") == ["c:\\dir", "b", "c\\"]


# -- customers --------------------------------------------------------------------------------

def sample(client):
    define(client, "motto", "text")
    define(client, "topics", "multi_choice", choices=["x|y", "=opt", "plain", "c:\\dir"])
    define(client, "level", "choice", choices=["-y", "b"])
    define(client, "budget", "decimal")
    define(client, "seats", "number")
    define(client, "since", "date")
    acme = create(client, kind="company", name="@Acme", email="info@acme.example",
                  tags=["a|b"])
    ada = create(client, first_name="=1+1", last_name="+x", job_title="-y", city="@cmd",
                 notes="'=z", street="'plain", region="c:\\dir", email="ada@example.com",
                 phone="+44 20 7946 0958", company_id=acme["id"],
                 tags=["a|b", "c:\\dir", "=tag"],
                 custom={"motto": '=HYPERLINK("http://example.com","x")',
                         "topics": ["x|y", "=opt", "c:\\dir"], "level": "-y",
                         "budget": "-5.5", "seats": -3, "since": "2020-02-29"})
    bob = create(client, first_name="'plain", last_name="-", email="bob@example.com",
                 tags=["'quoted", "=q"], custom={"topics": ["plain"], "motto": "'+1"})
    return acme, ada, bob


def test_a_csv_export_escapes_text_cells_and_list_items(client, runner):
    acme, ada, bob = sample(client)
    text = client.get("/api/v1/customers/export").get_data(as_text=True)
    assert run(runner, "customers", "export") == text  # the CLI writes the same file
    rows = {int(r["id"]): r for r in parse_csv(text)}
    row = rows[ada["id"]]
    assert (row["first_name"], row["last_name"], row["job_title"], row["city"]) == (
        "'=1+1", "'+x", "'-y", "'@cmd")
    assert row["name"] == "'=1+1 +x"
    assert row["notes"] == "''=z" and row["street"] == "'plain"  # 'plain needs nothing
    assert row["region"] == "c:\\dir"  # a backslash is escaped inside list cells only
    assert row["phone"] == "+442079460958"  # a phone number calls nothing: bare
    assert row["tags"] == "'=tag|a\\|b|c:\\\\dir"
    assert row["custom.topics"] == "'=opt|c:\\\\dir|x\\|y"
    assert row["custom.motto"] == "'=HYPERLINK(\"http://example.com\",\"x\")"
    assert row["custom.level"] == "'-y"
    # Numbers and dates are not text: a spreadsheet reads -5.5 as the number it is.
    assert row["custom.budget"].startswith("-5.5") and row["custom.seats"] == "-3"
    assert row["custom.since"] == "2020-02-29"
    assert rows[acme["id"]]["name"] == "'@Acme" and rows[acme["id"]]["tags"] == "a\\|b"
    assert (rows[bob["id"]]["first_name"], rows[bob["id"]]["last_name"]) == ("'plain", "-")
    assert rows[bob["id"]]["custom.motto"] == "'+1"  # '+1 reads back as itself
    assert rows[bob["id"]]["tags"] == "'quoted|=q"  # starts with 'quoted: no formula
    for r in rows.values():  # no text cell starts like a formula
        for column, cell in r.items():
            if column not in TYPED:
                assert not runs_as_formula(cell), (column, cell)
    # The raw text too, quoting aside.
    assert "\n" + str(ada["id"]) + ",person,'=1+1 +x,'=1+1,'+x,'-y," in text


def test_a_jsonl_export_holds_the_values_as_they_are(client):
    _, ada, _ = sample(client)
    records = parse_jsonl(client.get("/api/v1/customers/export?format=jsonl").get_data(
        as_text=True))
    found = next(r for r in records if r["id"] == ada["id"])
    assert (found["first_name"], found["notes"], found["phone"]) == ("=1+1", "'=z",
                                                                      "+442079460958")
    assert found["tags"] == ["=tag", "a|b", "c:\\dir"]
    assert found["custom"]["topics"] == ["=opt", "c:\\dir", "x|y"]


def customers_of(client):
    return {c["email"]: c for c in client.get(
        "/api/v1/customers", query_string={"sort": "id", "limit": 200}).json["items"]}


def test_reimporting_a_csv_export_with_update_changes_nothing(client, runner, tmp_path):
    sample(client)
    before = customers_of(client)
    path = tmp_path / "customers.csv"
    run(runner, "customers", "export", "--output", str(path))
    output = run(runner, "customers", "import", str(path), "--on-duplicate", "update")
    assert "0 created, 0 updated, 3 unchanged" in output
    assert customers_of(client) == before
    assert client.get("/api/v1/customers/export").get_data(as_text=True) == path.read_text()


@pytest.mark.parametrize("fmt", sorted(PARSE))
def test_an_export_imported_into_an_empty_installation_gives_the_exact_values(
        make_app, make_runner, client, tmp_path, fmt, other_database_url):
    sample(client)
    before = {email: {k: v for k, v in c.items()
                      if k not in ("id", "company_id", "created_at", "updated_at")}
              for email, c in customers_of(client).items()}
    exported = client.get(f"/api/v1/customers/export?format={fmt}").get_data(as_text=True)
    path = tmp_path / f"customers.{fmt}"
    path.write_text(exported)
    definitions = client.get("/api/v1/custom-fields").json

    fresh = make_app(DATABASE_URL=other_database_url)  # from here on, the other database
    fresh_client = fresh.test_client()
    for field in definitions:
        fresh_client.post("/api/v1/custom-fields", json={
            k: field[k] for k in ("name", "type", "label", "choices", "required")
            if field[k] not in (None, [])})
    output = run(make_runner(DATABASE_URL=other_database_url), "customers", "import", str(path))
    assert "3 created" in output
    after = {email: {k: v for k, v in c.items()
                     if k not in ("id", "company_id", "created_at", "updated_at")}
             for email, c in customers_of(fresh_client).items()}
    assert after == before
    ada = after["ada@example.com"]
    assert (ada["first_name"], ada["notes"], ada["street"]) == ("=1+1", "'=z", "'plain")
    assert ada["tags"] == ["=tag", "a|b", "c:\\dir"]
    assert after["bob@example.com"]["tags"] == ["'quoted", "=q"]
    assert ada["custom"]["topics"] == ["=opt", "c:\\dir", "x|y"]
    reexported = fresh_client.get(f"/api/v1/customers/export?format={fmt}").get_data(
        as_text=True)
    assert comparable(PARSE[fmt](reexported)) == comparable(PARSE[fmt](exported))


def test_a_hand_written_csv_is_read_as_before(client, runner, tmp_path):
    """Cells no export would write keep their meaning: a ' before text that is no formula
    stays, a backslash in a list before anything but | or \\ stays."""
    define(client, "topics", "multi_choice", choices=["c:\\dir", "x"])
    path = tmp_path / "people.csv"
    path.write_text("first_name,last_name,email,tags,custom.topics\n"
                    "'plain,'=x,ada@example.com,c:\\dir| vip ,c:\\dir|x\n")
    run(runner, "customers", "import", str(path))
    [ada] = customers_of(client).values()
    assert (ada["first_name"], ada["last_name"]) == ("'plain", "=x")
    assert ada["tags"] == ["c:\\dir", "vip"] and ada["custom"]["topics"] == ["c:\\dir", "x"]


def test_jsonl_list_items_may_hold_the_separator(client, runner, tmp_path):
    define(client, "topics", "multi_choice", choices=["x|y", "z"])
    path = tmp_path / "people.jsonl"
    path.write_text(json.dumps({"first_name": "Ada", "email": "ada@example.com",
                                "tags": ["a|b", "c\\|d", "e\\"],
                                "custom": {"topics": ["x|y", "z"]}}) + "\n")
    run(runner, "customers", "import", str(path))
    [ada] = customers_of(client).values()
    assert ada["tags"] == ["a|b", "c\\|d", "e\\"] and ada["custom"]["topics"] == ["x|y", "z"]


# -- interactions -----------------------------------------------------------------------------

def timeline_sample(client):
    ada = create(client, first_name="Ada", email="ada@example.com", phone="+44 20 7946 0958")
    record(client, ada, type="note", summary="=1+1", actor="@cmd", channel="-y",
           occurred_at="2024-01-10T09:00:00Z", external_id="+x")
    record(client, ada, type="purchase", channel="web", amount="12.50", currency="EUR",
           summary="'=z", actor="'plain", occurred_at="2024-02-01T12:00:00Z",
           payload={"formula": "=1+1"}, external_id="order-1")
    return ada


def test_an_interactions_csv_export_escapes_text_cells_only(client, runner):
    timeline_sample(client)
    text = client.get("/api/v1/interactions/export").get_data(as_text=True)
    assert run(runner, "interactions", "export") == text
    note, sale = parse_csv(text)
    assert (note["summary"], note["actor"], note["channel"], note["external_id"]) == (
        "'=1+1", "'@cmd", "'-y", "'+x")
    assert note["customer_phone"] == "+442079460958"
    assert (sale["summary"], sale["actor"]) == ("''=z", "'plain")
    assert sale["amount"].startswith("12.5") and sale["occurred_at"].startswith("2024-02-01")
    assert json.loads(sale["payload"]) == {"formula": "=1+1"}
    for row in (note, sale):
        for column, cell in row.items():
            if column not in TYPED:
                assert not runs_as_formula(cell), (column, cell)


@pytest.mark.parametrize("fmt", sorted(PARSE))
def test_an_interactions_export_imports_into_an_empty_installation_exactly(
        make_app, make_runner, client, runner, tmp_path, fmt, other_database_url):
    ada = timeline_sample(client)
    keep = ("type", "channel", "direction", "occurred_at", "actor", "summary", "payload",
            "amount", "currency", "lines", "external_id")
    before = [{k: i[k] for k in keep} for i in reversed(client.get(
        f"/api/v1/customers/{ada['id']}/interactions").json["items"])]
    path = tmp_path / f"interactions.{fmt}"
    run(runner, "interactions", "export", "--format", fmt, "--output", str(path))

    fresh = make_app(DATABASE_URL=other_database_url)  # from here on, the other database
    fresh_client = fresh.test_client()
    # Found by the phone alone: the escaped +44... cell must read back as the number.
    copy = create(fresh_client, first_name="Ada", phone="+44 20 7946 0958")
    output = run(make_runner(DATABASE_URL=other_database_url), "interactions", "import",
                 str(path), "--map", "customer_id=", "--map", "customer_email=")
    assert "2 created" in output
    after = [{k: i[k] for k in keep} for i in reversed(fresh_client.get(
        f"/api/v1/customers/{copy['id']}/interactions").json["items"])]
    assert after == before
    assert [i["summary"] for i in after] == ["=1+1", "'=z"]


def test_tabs_and_carriage_returns_are_escaped_and_a_lone_carriage_return_is_quoted(
        client, runner, tmp_path):
    ada = create(client, first_name="\tAda", last_name="\rLovelace", email="ada@example.com",
                 notes="one\rtwo")
    text = client.get("/api/v1/customers/export").get_data(as_text=True)
    [row] = parse_csv(text)
    assert (row["first_name"], row["last_name"], row["notes"]) == (
        "'\tAda", "'\rLovelace", "one\rtwo")
    assert '"one\rtwo"' in text  # quoted: a reader would take a bare \r for a line end
    path = tmp_path / "customers.csv"
    path.write_bytes(text.encode())
    output = run(runner, "customers", "import", str(path), "--on-duplicate", "update")
    # One row, read whole. (An import strips the spaces around a cell, so the leading tab
    # and carriage return of the names are lost there, as a leading space would be.)
    assert "of 1 rows" in output
    assert client.get(f"/api/v1/customers/{ada['id']}").json["notes"] == "one\rtwo"


def test_the_import_error_report_escapes_what_came_from_the_file(app, tmp_path):
    """The report names the file's own columns: one a spreadsheet would run is escaped."""
    from crmkit.db import connection, write_transaction
    from crmkit.imports.models import ImportProblem
    from crmkit.imports.runner import create_job, write_report
    path = tmp_path / "people.csv"
    path.write_text("=HYPERLINK(1),email\nAda,ada@example.com\n", encoding="utf-8")
    with app.app_context(), connection():
        with write_transaction():
            job = create_job("customers", str(path), mapping={"=HYPERLINK(1)": "first_name"})
            ImportProblem.create(job=job.id, row=2, column="=HYPERLINK(1)", message="@x")
        out = io.StringIO()
        write_report(job.id, out)
    assert out.getvalue().splitlines() == ["row,column,message", "2,'=HYPERLINK(1),'@x"]
