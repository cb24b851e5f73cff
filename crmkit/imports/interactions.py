"""Importing interactions: timeline rows matched to customers by id, email or phone.

Recorded with ``source="import"``: a row whose ``external_id`` was imported before is skipped, so
importing a file twice records each interaction once. Each batch resolves its customers and its
known external ids in one query each and inserts the rest set-based; every rule of
:func:`crmkit.customers.timeline.check_interaction` applies, and each row still announces itself
(``interaction.recorded`` event, ``interaction_recorded`` hook) as ``record_interaction`` does.

A bad row is reported with every problem it has at once, one per column, so one run tells the
whole story: what is wrong with its cells, the rules of ``check_interaction`` its values break
(a cell's own problem stands for its column), and whether its customer exists, looked up when
the cells naming the customer are sound.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from flask import current_app

from crmkit.customers import schemas
from crmkit.customers.schemas import MAX_LINE_ITEMS
from crmkit.customers.contacts import email_key, normalize_phone
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone, Interaction
from crmkit.customers.timeline import (_BECOMES_ACTIVE, check_interaction, interaction_dict,
                                       interaction_types)
from crmkit.db import utcnow
from crmkit.errors import ValidationError
from crmkit.events import emit_many
from crmkit.imports import bulk
from crmkit.imports.base import (CREATED, SKIPPED, CellChecks, Outcome, Prepared, as_int,
                                 cell_count_problem, failed, problems_of)
from crmkit.imports.csvfile import FieldSet, Layout

SOURCE = "import"
MATCH_FIELDS = ("customer_id", "customer_email", "customer_phone")
JSON_FIELDS = {"payload": dict, "lines": list}
_COLUMNS = ("id", "customer_id", "type", "channel", "direction", "occurred_at", "actor", "summary",
            "payload", "amount", "currency", "lines", "source", "external_id", "created_at")


def field_set() -> FieldSet:
    names = ["customer_id", "customer_email", "customer_phone", "type", "channel", "direction",
             "occurred_at", "actor", "summary", "payload", "amount", "currency", "lines",
             "external_id"]
    return FieldSet("interaction", names, frozenset({"id", "source", "created_at"}),
                    [("type",), MATCH_FIELDS])


def parse_time(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        try:
            value = dt.datetime.combine(dt.date.fromisoformat(raw), dt.time())
        except ValueError:
            return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


class InteractionImporter:
    kind = "interactions"

    def __init__(self, job_id: int, layout: Layout, on_duplicate: str, dry_run: bool):
        self.job_id, self.layout, self.dry_run = job_id, layout, dry_run
        self.plan = [(i, name) for i, name in enumerate(layout.fields) if name]
        self.checks = CellChecks(schemas.InteractionIn())
        self.types = interaction_types()
        self.region = current_app.config.get("CRMKIT_DEFAULT_PHONE_REGION")
        pm = current_app.extensions["crmkit"].pm
        self.hook = pm.hook.interaction_recorded \
            if pm.hook.interaction_recorded.get_hookimpls() else None
        self.seen: set[str] = set()  # a dry run's external ids (nothing is stored to find them)

    def prepare(self, row: int, cells: list[str]) -> Prepared | Outcome | None:
        problem = cell_count_problem(cells, self.layout)
        if problem is not None:
            if not any(c.strip() for c in cells):
                return None
            return failed(row, [(None, problem)])
        data: dict = {}
        problems: dict[str, str] = {}
        for index, name in self.plan:
            raw = cells[index].strip()
            if not raw:
                continue
            value: object = raw
            if name == "customer_id":
                value = as_int(raw)
                if value is None:
                    problems[name] = "Not a whole number below 2^31."
                    continue
            elif name == "customer_phone":
                number, why = normalize_phone(raw, self.region)
                if why:
                    problems[name] = why
                    continue
                value = number
            elif name == "customer_email":
                value = email_key(raw)
            elif name == "occurred_at":
                value = parse_time(raw)
                if value is None:
                    problems[name] = "Not an ISO 8601 date or time (e.g. 2024-05-01T14:30:00Z)."
                    continue
            elif name in JSON_FIELDS:
                try:
                    value = json.loads(raw)
                except ValueError:
                    problems[name] = "Not valid JSON."
                    continue
                if not isinstance(value, JSON_FIELDS[name]):
                    problems[name] = ("Must be a JSON object." if name == "payload"
                                      else "Must be a JSON list of line items.")
                    continue
                if name == "lines" and len(value) > MAX_LINE_ITEMS:
                    problems[name] = f"Longer than maximum length {MAX_LINE_ITEMS}."
                    continue
            elif name == "direction":
                value = raw.lower()
            else:
                self.checks.check(name, raw, problems)
            data[name] = value
        if not data and not problems:
            return None
        if problems or not any(name in data for name in MATCH_FIELDS):
            return self._bad_row(row, data, problems)
        keys = (("ext", data["external_id"]),) if data.get("external_id") else ()
        return Prepared(row, data, keys)

    def _bad_row(self, row: int, data: dict, problems: dict[str, str]) -> Prepared | Outcome:
        """A row with problems in its cells or no customer: failed with every problem found
        without the database, or, when its customer can be looked up, a Prepared holding them
        for :meth:`write` to add the lookup's answer to (good rows never come here)."""
        rules: dict = {}
        try:
            check_interaction(data, self.types)
        except ValidationError as exc:
            # A bad cell's value is missing from ``data``, so a rule may complain of its absence
            # ("A purchase needs an amount."): the cell's own problem says what to fix.
            rules = {name: messages for name, messages in exc.fields.items()
                     if name.split(".")[0] not in problems}
        found = problems_of(ValidationError({**rules, **problems}), self.layout)
        if any(name in problems for name in MATCH_FIELDS):
            return failed(row, found)  # the customer it names is unclear: no lookup
        if not any(name in data for name in MATCH_FIELDS):
            return failed(row, found + [(self.layout.column_of(MATCH_FIELDS[0]),
                                         "Give the customer's id, email or phone.")])
        # No keys: a row that fails holds no external id back from the rows after it.
        return Prepared(row, data, (), extra={"problems": found})

    def write(self, items: list[Prepared]) -> list[Outcome]:
        owners = self._customers(items)
        known = self._imported_before(items)
        outcomes: list[Outcome] = []
        new: list[tuple[Prepared, int, dict]] = []
        for item in items:
            if item.extra:  # problems found as it was read (_bad_row): it fails whatever else
                problem = self._customer_of(item, owners)[1]
                found = item.extra["problems"]
                outcomes.append(failed(item.row, found if problem is None else found + [problem]))
                continue
            external_id = item.data.get("external_id")
            if external_id and (external_id in known or external_id in self.seen):
                outcomes.append(Outcome(item.row, SKIPPED))
                continue
            customer, problem = self._customer_of(item, owners)
            try:
                values = check_interaction(item.data, self.types)
            except ValidationError as exc:
                found = problems_of(exc, self.layout)
                outcomes.append(failed(item.row, found if problem is None else found + [problem]))
                continue
            if problem is not None:
                outcomes.append(failed(item.row, [problem]))
                continue
            new.append((item, customer, values))
            if self.dry_run and external_id:
                self.seen.add(external_id)
        return outcomes + self._insert(new, owners["status"])

    def _customers(self, items: list[Prepared]) -> dict[str, dict]:
        ids = {i.data["customer_id"] for i in items if "customer_id" in i.data}
        emails = {i.data["customer_email"] for i in items if "customer_email" in i.data}
        phones = {i.data["customer_phone"] for i in items if "customer_phone" in i.data}
        found: dict[str, dict] = {"id": {}, "email": {}, "phone": defaultdict(set), "status": {}}
        if ids:
            for cid, merged_into, status in (Customer.select(Customer.id, Customer.merged_into,
                                                             Customer.status)
                                             .where(Customer.id.in_(list(ids))).tuples()):
                found["id"][cid] = merged_into
                found["status"][cid] = status
        if emails:
            found["email"] = dict(CustomerEmail.select(CustomerEmail.email_key,
                                                       CustomerEmail.customer)
                                  .where(CustomerEmail.email_key.in_(list(emails))).tuples())
        if phones:
            for number, cid in (CustomerPhone.select(CustomerPhone.number, CustomerPhone.customer)
                                .join(Customer)
                                .where(CustomerPhone.number.in_(list(phones))
                                       & Customer.merged_into.is_null()).tuples()):
                found["phone"][number].add(cid)
        others = (set(found["email"].values()) | {c for s in found["phone"].values() for c in s})
        others -= set(found["status"])
        if others:
            found["status"].update(Customer.select(Customer.id, Customer.status)
                                   .where(Customer.id.in_(list(others))).tuples())
        return found

    def _customer_of(self, item: Prepared, owners) -> tuple[int | None, tuple | None]:
        data, column = item.data, self.layout.column_of
        if "customer_id" in data:
            cid = data["customer_id"]
            if cid not in owners["id"]:
                return None, (column("customer_id"), f"Customer {cid} does not exist.")
            if owners["id"][cid] is not None:
                return None, (column("customer_id"), f"Customer {cid} was merged into customer "
                                                     f"{owners['id'][cid]}.")
            return cid, None
        if "customer_email" in data:
            cid = owners["email"].get(data["customer_email"])
            if cid is None:
                return None, (column("customer_email"), "No customer has this email.")
            return cid, None
        holders = owners["phone"].get(data["customer_phone"], set())
        if len(holders) == 1:
            return next(iter(holders)), None
        message = ("No customer has this phone." if not holders else
                   f"{len(holders)} customers have this phone; give the customer's id or email.")
        return None, (column("customer_phone"), message)

    def _imported_before(self, items: list[Prepared]) -> set[str]:
        wanted = [i.data["external_id"] for i in items if i.data.get("external_id")]
        if not wanted:
            return set()
        return {row[0] for row in Interaction.select(Interaction.external_id)
                .where((Interaction.source == SOURCE) & Interaction.external_id.in_(wanted))
                .tuples()}

    def _insert(self, new: list, statuses: dict[int, str]) -> list[Outcome]:
        if not new:
            return []
        ids = bulk.allocate_ids(Interaction, len(new))
        now = utcnow()
        records = [Interaction(id=iid, customer=cid, source=SOURCE, created_at=now, **values)
                   for (_, cid, values), iid in zip(new, ids)]
        fields = Interaction._meta.fields
        names = {f.column_name: f for f in fields.values()}
        bulk.insert_rows(Interaction, _COLUMNS, [
            tuple(names[c].db_value(r.__data__.get(names[c].name)) for c in _COLUMNS)
            for r in records])
        buyers = {r.customer_id for r in records if r.type == "purchase"
                  and statuses.get(r.customer_id) in _BECOMES_ACTIVE}
        if buyers:
            (Customer.update(status="active", updated_at=utcnow())
             .where(Customer.id.in_(sorted(buyers)) & Customer.status.in_(_BECOMES_ACTIVE))
             .execute())
        emit_many("interaction.recorded",
                  [(r.customer_id, interaction_dict(r)) for r in records], subject="customer")
        if self.hook is not None:
            for record in records:
                self.hook(interaction=record)
        return [Outcome(item.row, CREATED, record_id=r.id)
                for (item, _, _), r in zip(new, records)]
