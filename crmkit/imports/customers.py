"""Importing customers: CSV cells to checked customers, written a batch at a time.

A batch costs a fixed number of statements whatever its size: a query each finds which rows'
emails and phones belong to customers already (``contact_email.email_key``,
``contact_phone.number``) and which companies rows point at, then new customers, their contact
points, tags, custom values and ``customer.created`` events go in with one set-based insert per
table. Every rule of
:func:`crmkit.customers.service.check_new_customer` applies, row by row, without a query per row:
as rows are read (in a worker process for a large file, see :mod:`crmkit.imports.pipeline`)
when no rule needs the database, else with the row's batch.
Rows matching an existing customer are updated through ``update_customer`` (its rules, events and
hooks), skipped, or reported, as ``on_duplicate`` says.
"""
from __future__ import annotations

import marshal
from collections import defaultdict
from operator import itemgetter

from flask import current_app

from crmkit import custom_fields
from crmkit.customers import schemas
from crmkit.customers.contacts import email_key, normalize_email, normalize_phone
from crmkit.customers.models import (COMPANY, PERSON, Customer, CustomerEmail, CustomerPhone,
                                     CustomerTag)
from crmkit.customers.service import (EDITABLE, ENTITY, NAME_MAX, Lookups, NewCustomer,
                                      _display_name, check_new_customer, update_customer)
from crmkit.auth.models import User
from crmkit.auth.principal import current_principal
from crmkit.customers.tags import ensure_tags
from crmkit.db import database, is_sqlite, utcnow
from crmkit.errors import CrmkitError, ValidationError
from crmkit.imports import bulk, staging
from crmkit.imports.base import (CREATED, SKIPPED, UNCHANGED, UPDATED, CellChecks, Outcome,
                                 Prepared, as_int, as_source_id, cell_count_problem,
                                 column_problems, failed, problems_of, split_list)
from crmkit.imports.csvfile import FieldSet, Layout
from crmkit.imports.customer_events import SUMMARY_ORDER, emit_created
from crmkit.imports.models import ImportRef

LIST_FIELDS = ("other_emails", "other_phones", "tags")
INT_FIELDS = ("company_id", "owner_id")
# Codes people type in lower case as often as not; the rules want them upper case.
UPPER_FIELDS = ("country",)
LOWER_FIELDS = ("kind", "status")
# Columns an export writes that an import does not set.
IGNORED = frozenset({"created_at", "updated_at"})
# Fields of rows that CustomerImporter._plain checks (others: check_new_customer), and those of
# them that are the customer's own columns.
_PLAIN = frozenset(EDITABLE) - {"company_id"} | {"email", "tags"}
_COLUMN_FIELDS = frozenset(EDITABLE) - {"kind", "name"}
# A customer's columns besides those a file can give.
_ALWAYS = ("id", "kind", "name", "status", "email", "phone", "created_at", "updated_at")


def field_set() -> FieldSet:
    """What a customer import file may hold: the API's fields, custom fields and ``id``, the
    record's id where the file came from (rows refer to companies by it in ``company_id``)."""
    names = ["first_name", "last_name", "name", "kind", "email", "other_emails", "phone",
             "other_phones", "job_title", "company_id", "street", "city", "region",
             "postal_code", "country", "status", "competitor", "source_channel", "utm_source",
             "utm_medium", "utm_campaign", "utm_term", "utm_content", "owner_id", "notes", "tags",
             "id"]
    names += [f"custom.{name}" for name in sorted(custom_fields.fields_for(ENTITY))]
    return FieldSet("customer", names, IGNORED, [("first_name", "last_name", "name")])


def _conversion(name: str):
    """How a cell becomes the field's value (None: as it is; a conversion returning None means
    the cell is not a whole number)."""
    if name in LIST_FIELDS:
        return split_list
    if name in INT_FIELDS:
        return as_int
    if name == "id":
        return as_source_id
    if name in UPPER_FIELDS:
        return str.upper
    if name in LOWER_FIELDS:
        return str.lower
    return None


class Ready:
    """A row checked in full as it was read (:meth:`CustomerImporter.precheck`).

    ``verdict`` is what to store should the row match no customer (a tuple, see
    ``CustomerImporter._values``) or its problems (a list of (column, message)); ``early`` the
    problems of its cells alone, which are reported should it match one; ``cells`` the row's
    cells, marshalled.
    """

    __slots__ = ("row", "keys", "cells", "early", "verdict")
    needs = ()  # rows checked early never wait for another (no company references)

    def __init__(self, row: int, keys: tuple, cells: bytes,
                 early: list[tuple[str | None, str]] | None, verdict: tuple | list):
        self.row, self.keys, self.cells, self.early, self.verdict = (
            row, keys, cells, early, verdict)

    def __reduce__(self):  # a worker process sends thousands: no __dict__, no copyreg
        return Ready, (self.row, self.keys, self.cells, self.early, self.verdict)


class CustomerImporter:
    kind = "customers"

    def __init__(self, job_id: int, layout: Layout, on_duplicate: str, dry_run: bool):
        self.job_id, self.layout = job_id, layout
        self.on_duplicate, self.dry_run = on_duplicate, dry_run
        self.checks = CellChecks(schemas.CustomerIn())
        # Per mapped column: (index, field, conversion, custom field name, quick test).
        self.plan = [(i, name, _conversion(name),
                      name[7:] if name.startswith("custom.") else None, self.checks.passes(name))
                     for i, name in enumerate(layout.fields) if name]
        self.has_source_ids = "id" in layout.fields
        self.defined = custom_fields.fields_for(ENTITY)
        self.region = current_app.config.get("CRMKIT_DEFAULT_PHONE_REGION")
        self.phone_cache: dict[str, tuple[str | None, str | None]] = {}
        given = {name for name in layout.fields if name in EDITABLE}
        self.given = [c for c in EDITABLE if c in given and c not in _ALWAYS]
        # Each new customer's row is made ahead (see _values) without its id and timestamps.
        self.columns = ["id", "created_at", "updated_at"] + [
            c for c in _ALWAYS if c not in ("id", "created_at", "updated_at")] + self.given
        pm = current_app.extensions["crmkit"].pm
        self.created_hook = pm.hook.customer_created if pm.hook.customer_created.get_hookimpls() \
            else None
        # Rows can be checked in full as they are read, before their batch looks anything up,
        # unless a check needs the database: companies (by id or by file id) and plugins'
        # validate_customer_change (a plugin may query). Duplicates need no check (matched rows
        # are updated or skipped, not created), and rows that match nothing own no email.
        self.checks_early = not (self.has_source_ids or "company_id" in layout.fields
                                 or pm.hook.validate_customer_change.get_hookimpls())
        self.early_lookups = Lookups(custom_fields=self.defined,
                                     normalize_phone=self.normalize_phone)
        # A required custom field makes every row without it wrong: the full check says so.
        self.plain_rows = not any(field.required for field in self.defined.values())
        # A dry run writes nothing, so a later batch cannot find an earlier one's customers in
        # the database; it remembers their keys instead (memory grows with the file).
        self.seen: dict[object, int] = {}
        # Plain new customers may reach the writer as a SQLite file (crmkit.imports.staging)
        # when the worker checked them in full; not in a dry run, which needs their keys above.
        # Who the import runs for (an API upload's uploader; None: the operator). As in the
        # API, giving a new customer to someone else takes customers:reassign, and the owner
        # must be an active user (the operator is trusted with both).
        principal = current_principal()
        self.may_reassign = principal is None or principal.can("customers:reassign")
        self.uploader = principal.user_id if principal is not None else None
        self.checks_owners = principal is not None and "owner_id" in self.given
        # Staged rows go in without a look at the database: owners to check take the general
        # path.
        self.stages = self.checks_early and not dry_run and not self.checks_owners
        self.staged_columns = self.columns[3:]
        # Where each value of a customer.created payload sits in a new customer's row (see
        # emit_created), the row given one more value, null, for a field the file lacks.
        self.summary_of = itemgetter(*[
            self.staged_columns.index(name) if name in self.staged_columns
            else len(self.staged_columns) for name in SUMMARY_ORDER])

    # -- one row, no database ---------------------------------------------------------------------

    def normalize_phone(self, raw: str, region: str | None = None) -> tuple[str | None, str | None]:
        found = self.phone_cache.get(raw)
        if found is None:
            found = self.phone_cache[raw] = normalize_phone(raw, self.region)
        return found

    def prepare(self, row: int, cells: list[str]) -> Prepared | Outcome | None:
        """The row as API-shaped data, or its problems; None for a blank row."""
        problem = cell_count_problem(cells, self.layout)
        if problem is not None:
            if not any(c.strip() for c in cells):
                return None
            return failed(row, [(None, problem)])
        data: dict = {}
        problems: dict[str, str] = {}
        for index, name, convert, custom, passes in self.plan:
            value = cells[index].strip()
            if not value:
                continue
            if custom is not None:  # checked against its definition with the batch
                definition = self.defined.get(custom)
                if definition is not None and definition.type == "multi_choice":
                    value = split_list(value)  # as tags are: a choice may hold an escaped |
                data.setdefault("custom", {})[custom] = value
                continue
            if convert is not None:
                value = convert(value)
                if value is None:
                    problems[name] = ("Not a whole number below 2^63." if name == "id" else
                                      "Not a whole number below 2^31.")
                    continue
            if passes is not None and not passes(value):
                self.checks.check(name, value, problems)  # for the message
            if name == "owner_id" and not self.may_reassign and value != self.uploader:
                problems[name] = ("Not allowed: giving a customer to another user needs the "
                                  "permission 'customers:reassign'.")
                continue
            data[name] = value
        if not data and not problems:
            return None  # a blank row (a row whose only cells are bad is reported)
        source_id = data.pop("id", None)
        email = data.get("email")
        keys: list = [email_key(email)] if email else []
        if "other_emails" in data:
            keys += [email_key(e) for e in data["other_emails"] if e]
        if "phone" in data or "other_phones" in data:
            for raw in [data.get("phone"), *data.get("other_phones", ())]:
                if raw:
                    number = self.normalize_phone(raw)[0]
                    if number:
                        keys.append(("phone", number))
        needs = ()
        if self.has_source_ids:
            # People pointing at a company by its file id come in a batch after the company's.
            if data.get("kind") == COMPANY and source_id is not None:
                keys.append(("ref", source_id))
            if "company_id" in data:
                needs = (("ref", data["company_id"]),)
        # Problems found here are reported with those the batch's checks find in the same row.
        return Prepared(row, data, tuple(keys), needs,
                        {"source_id": source_id, "problems": problems})

    def precheck(self, item: Prepared, cells: list[str]) -> Prepared | Ready:
        """The row checked by every rule of ``check_new_customer`` now, if that needs no
        database (:attr:`checks_early`); else the row as it is, to be checked with its batch.

        Runs where the file is read, which may be a worker process (crmkit.imports.pipeline):
        what it returns must unpickle fast where the batch is written. The cells, needed only
        should the row match a customer to update, go as one ``marshal`` string (the two
        processes run the same interpreter): unpickling them cell by cell cost the writing
        process a tenth of its time (measured).
        """
        if not self.checks_early:
            return item
        early = item.extra["problems"]
        try:
            checked = None if early else self._plain(item.data)
            if checked is None:
                checked = check_new_customer(item.data, self.early_lookups)
        except ValidationError as exc:
            found = {k: v[0] for k, v in exc.fields.items()}
            verdict = column_problems({**found, **early}, self.layout)
        else:
            verdict = (column_problems(early, self.layout) if early
                       else self._values(item.data, checked))
        if len(self.phone_cache) > 10_000:  # it serves one row's two looks at its phones
            self.phone_cache.clear()
        return Ready(item.row, item.keys, marshal.dumps(cells),
                     column_problems(early, self.layout) if early else None, verdict)

    def _plain(self, data: dict) -> NewCustomer | None:
        """What ``check_new_customer`` makes of a row with nothing but plain columns and an
        email, found faster; None when the row holds more, or is wrong (the full check then
        says what is wrong). Tests hold the two to the same answers."""
        if not self.plain_rows or not _PLAIN.issuperset(data):
            return None
        kind = data.get("kind") or PERSON
        name = _display_name(kind, data)
        if name is None or len(name) > NAME_MAX:
            return None
        emails = []
        if "email" in data:
            email, problem = normalize_email(data["email"])
            if problem:
                return None
            emails.append(email)
        columns = {k: v for k, v in data.items() if k in _COLUMN_FIELDS}
        return NewCustomer(kind, name, columns, emails, [], {})

    def _values(self, data: dict, checked: NewCustomer) -> tuple:
        """What :meth:`_insert` stores for a new customer, but its id and timestamps:
        (customer columns after those three, emails, phones, tags, custom values)."""
        columns = checked.columns
        if (columns.get("company_id") or 0) < 0:  # a dry run's stand-in company
            columns["company_id"] = None
        row = (checked.kind, checked.name, columns.get("status", "potential"),
               checked.emails[0] if checked.emails else None,
               checked.phones[0] if checked.phones else None,
               *[columns.get(c) for c in self.given])
        emails = tuple((email, email_key(email), position == 0)
                       for position, email in enumerate(checked.emails))
        phones = tuple((number, position == 0) for position, number in enumerate(checked.phones))
        values = []
        for name, value in checked.custom.items():
            definition = self.defined[name]
            column = custom_fields.value_column(definition.type)
            db_value = getattr(custom_fields.CustomValue, column).db_value
            for one in (value if definition.type == "multi_choice" else [value]):
                if one is not None:
                    values.append((column, definition.id, db_value(one)))
        return row, emails, phones, data.get("tags") or None, tuple(values)

    # -- staged batches (crmkit.imports.staging) --------------------------------------------------

    def stage(self, items: list, path: str) -> list:
        """The batch with its rows written to a file at ``path``, if every row to store is a
        plain new customer checked in full (one email key at most, no phones, tags or custom
        values); else the batch as it is. Runs in the reading worker."""
        plain = []
        for item in items:
            if item is None or isinstance(item, Outcome):
                continue
            if type(item) is not Ready or type(item.verdict) is not tuple:
                return items
            columns, emails, phones, tags, custom = item.verdict
            keys = item.keys
            if phones or tags or custom or len(emails) > 1 or len(keys) > 1 or (
                    keys and type(keys[0]) is not str):
                return items
            plain.append((item.row, keys[0] if keys else None, item.cells,
                          emails[0][1] if emails else None, *columns))
        if not plain:
            return items
        return staging.stage([i for i in items if i is None or isinstance(i, Outcome)], plain,
                             self.staged_columns, path)

    def expand(self, items: list) -> list:
        """``items`` with a staged block read back as the rows it holds."""
        if not any(type(item) is staging.Staged for item in items):
            return items
        out = [item for item in items if type(item) is not staging.Staged]
        for row, key, cells, mail_key, *columns in staging.rows(self.staged_columns):
            # columns[3] is the customer's email: the one stored with it, as _values makes it
            emails = ((columns[3], mail_key, True),) if mail_key is not None else ()
            out.append(Ready(row, (key,) if key is not None else (), cells, None,
                             (tuple(columns), emails, (), None, ())))
        return out

    def _insert_staged(self, block: staging.Staged) -> list[Outcome]:
        """What _insert makes of the staged rows (none matching a customer), set-based."""
        ids = bulk.allocate_ids(Customer, block.count)
        now = bulk.stored_time(Customer.created_at, utcnow())
        offset = ids[0] - 1  # the file's seq counts from 1
        staging.insert_select(
            Customer._meta.table_name, self.columns,
            f"seq + ?, ?, ?, {staging.source_columns(self.staged_columns)}", "",
            (offset, now, now))
        staging.insert_select(
            CustomerEmail._meta.table_name, ("customer_id", "email", "email_key", "is_primary"),
            'seq + ?, "email", email_key, 1', "WHERE email_key IS NOT NULL", (offset,))
        emit_created(ids)
        if self.created_hook is not None:
            for customer in Customer.select().where(Customer.id.in_(ids)).order_by(Customer.id):
                self.created_hook(customer=customer)
        return [Outcome(row, CREATED, [], customer_id)
                for row, customer_id in zip(staging.file_rows(), ids)]

    # -- one batch --------------------------------------------------------------------------------

    def write(self, items: list[Prepared]) -> list[Outcome]:
        if len(items) == 1 and type(items[0]) is staging.Staged:
            if not staging.any_match():
                return self._insert(items[0])
            items = self.expand(items)  # the general path says what to do with each row
        outcomes: list[Outcome] = []
        while items:
            done, items = self._write_until_stale(items)
            outcomes += done
        return outcomes

    def _write_until_stale(self, items: list) -> tuple[list[Outcome], list]:
        """Write ``items`` with one lookup of the customers they match, up to the first row that
        matches a customer an earlier row updates: that update may give up the very email or
        phone the row matched on, so the row and those after it are looked up again once the
        updates are stored. Returns the outcomes and the items not written yet."""
        pseudo_companies = self._translate_company_refs(items)
        email_owners, phone_owners, companies = self._lookups(items)
        companies.update({cid: (COMPANY, None) for cid in pseudo_companies})
        lookups = Lookups(email_owners=email_owners, companies=companies,
                          custom_fields=self.defined, normalize_phone=self.normalize_phone)
        unknown_owner = self._unknown_owners(items)
        outcomes: list[Outcome] = []
        new: list[tuple[int, tuple, tuple]] = []  # (row, keys, _values)
        updates: list[tuple[Prepared, int]] = []
        updated: set[int] = set()
        rest: list = []
        # Most batches of a large import match nobody: then no row needs looking at its keys.
        can_match = bool(email_owners or phone_owners or self.seen)
        for position, item in enumerate(items):
            if type(item) is Ready:
                match = self._match(item, email_owners, phone_owners) if can_match else None
                if match is None:
                    if isinstance(item.verdict, list):
                        outcomes.append(failed(item.row, item.verdict))
                    elif unknown_owner(item.verdict):
                        outcomes.append(self._no_such_owner(item.row, item.verdict))
                    else:
                        new.append((item.row, item.keys, item.verdict))
                    continue
                if match[0] in updated:
                    rest = items[position:]
                    break
                if item.early:
                    outcomes.append(failed(item.row, item.early))
                    continue
                item = self.prepare(item.row, marshal.loads(item.cells))  # data to update with
            if isinstance(item.extra.get("problem"), tuple):
                outcomes.append(failed(item.row, [item.extra["problem"]]))
                continue
            early = item.extra["problems"]
            match = self._match(item, email_owners, phone_owners)
            if match is not None:
                if match[0] in updated:
                    rest = items[position:]
                    break
                outcome = (failed(item.row, column_problems(early, self.layout)) if early
                           else self._duplicate(item, match, updates))
                if outcome is None:
                    updated.add(match[0])
                else:
                    outcomes.append(outcome)
                continue
            try:
                checked = check_new_customer(item.data, lookups)
            except ValidationError as exc:
                found = {k: v[0] for k, v in exc.fields.items()}
                outcomes.append(failed(item.row, column_problems({**found, **early},
                                                                  self.layout)))
                continue
            if early:
                outcomes.append(failed(item.row, column_problems(early, self.layout)))
                continue
            values = self._values(item.data, checked)
            if unknown_owner(values):
                outcomes.append(self._no_such_owner(item.row, values))
            else:
                new.append((item.row, item.keys, values))
        outcomes += self._insert(new)
        outcomes += self._update(updates)
        written = items[:len(items) - len(rest)]
        self._remember_refs(outcomes, written)
        self.phone_cache.clear()
        return outcomes, rest

    def _owner_of(self, values: tuple) -> int | None:
        """The owner_id in a new customer's values (see _values), if the file gives owners."""
        if "owner_id" not in self.given:
            return None
        return values[0][5 + self.given.index("owner_id")]

    def _unknown_owners(self, items: list):
        """A test for new customers' values: does it name an owner who is not an active user?
        (The API refuses those to its callers; updates are checked by update_customer.)"""
        if not self.checks_owners:
            return lambda values: False
        wanted = set()
        for item in items:
            if type(item) is Ready and type(item.verdict) is tuple:
                wanted.add(self._owner_of(item.verdict))
            elif isinstance(item, Prepared):
                wanted.add(item.data.get("owner_id"))
        wanted.discard(None)
        active = {i for (i,) in User.select(User.id).where(
            User.active == True, User.id.in_(sorted(wanted))).tuples()}  # noqa: E712
        return lambda values: (owner := self._owner_of(values)) is not None \
            and owner not in active

    def _no_such_owner(self, row: int, values: tuple) -> Outcome:
        return failed(row, [(self.layout.column_of("owner_id"),
                             f"No active user with id {self._owner_of(values)}.")])

    def _translate_company_refs(self, items: list[Prepared]) -> set[int]:
        """With an ``id`` column, ``company_id`` names a company by its id in the file; returns
        the stand-in ids a dry run gives companies it did not store."""
        if not self.has_source_ids:
            return set()
        wanted = list({i.data["company_id"] for i in items if "company_id" in i.data})
        refs = dict(ImportRef.select(ImportRef.source_id, ImportRef.customer_id)
                    .where((ImportRef.job == self.job_id) & ImportRef.source_id.in_(wanted))
                    .tuples()) if wanted else {}
        pseudo = set()
        for item in items:
            source = item.data.get("company_id")
            if source is None:
                continue
            target = refs.get(source) or self.seen.get(("ref", source))
            if target is not None:
                item.data["company_id"] = target
                if target < 0:
                    pseudo.add(target)
            else:
                item.extra["problem"] = (self.layout.column_of("company_id"),
                                         f"No company with id {source} earlier in this file.")
        return pseudo

    def _lookups(self, items):
        keys = {k for i in items for k in i.keys if isinstance(k, str)}
        numbers = {k[1] for i in items for k in i.keys if isinstance(k, tuple) and k[0] == "phone"}
        email_owners = dict(bulk.select_in(
            'SELECT email_key, customer_id FROM contact_email WHERE email_key IN ({})', keys))
        phone_owners: dict[str, int] = {}
        for number, owner in sorted(bulk.select_in(
                'SELECT p.number, p.customer_id FROM contact_phone p JOIN customer c ON '
                'c.id = p.customer_id WHERE c.merged_into_id IS NULL AND p.number IN ({})',
                numbers), key=lambda r: r[1]):
            phone_owners.setdefault(number, owner)  # the oldest customer with the number
        company_ids = {i.data["company_id"] for i in items
                       if isinstance(i, Prepared) and "company_id" in i.data}
        companies = {cid: (kind, merged) for cid, kind, merged in bulk.select_in(
            "SELECT id, kind, merged_into_id FROM customer WHERE id IN ({})", company_ids)}
        return email_owners, phone_owners, companies

    def _match(self, item: Prepared, email_owners, phone_owners) -> tuple[int, str] | None:
        """(customer id, matched field) of the customer the row duplicates, if any."""
        for key in item.keys:
            if isinstance(key, str):
                owner = email_owners.get(key) or self.seen.get(key)
                if owner:
                    return owner, "email"
        for key in item.keys:
            if isinstance(key, tuple) and key[0] == "phone":
                owner = phone_owners.get(key[1]) or self.seen.get(key)
                if owner:
                    return owner, "phone"
        return None

    def _duplicate(self, item: Prepared, match: tuple[int, str],
                   updates: list) -> Outcome | None:
        owner, matched_on = match
        if owner < 0:  # a dry run's stand-in for a customer an earlier row would have created
            described = f"row {-owner} of this file"
        else:
            described = f"customer {owner}"
        if self.on_duplicate == "skip":
            return Outcome(item.row, SKIPPED, record_id=owner if owner > 0 else None)
        if self.on_duplicate == "error":
            return failed(item.row, [(self.layout.column_of(matched_on),
                                      f"Duplicate: {described} has this {matched_on} (import "
                                      "with on-duplicate update or skip to take the row).")])
        if owner < 0:
            return Outcome(item.row, UPDATED)
        updates.append((item, owner))
        return None

    def _insert(self, new: list[tuple[int, tuple, tuple]] | staging.Staged) -> list[Outcome]:
        if type(new) is staging.Staged:
            return self._insert_staged(new)
        if not new:
            return []
        ids = bulk.allocate_ids(Customer, len(new))
        now = bulk.stored_time(Customer.created_at, utcnow())
        customers, emails, phones, tag_names, values = [], [], [], [], defaultdict(list)
        summaries = None if is_sqlite() else []  # the events' payloads (emit_created)
        for (row, keys, (columns, mails, numbers, tags, custom)), customer_id in zip(new, ids):
            customers.append((customer_id, now, now, *columns))
            if summaries is not None:
                summaries.append(self.summary_of((*columns, None)))
            for email, key, primary in mails:
                emails.append((customer_id, email, key, primary))
            for number, primary in numbers:
                phones.append((customer_id, number, primary))
            if tags:
                tag_names.append((customer_id, tags))
            for column, field_id, value in custom:
                values[column].append((field_id, customer_id, value))
            if self.dry_run:
                for key in keys:
                    self.seen[key] = -row
        bulk.insert_rows(Customer, self.columns, customers)  # EDITABLE names are column names
        bulk.insert_rows(CustomerEmail, ("customer_id", "email", "email_key", "is_primary"),
                         emails)
        bulk.insert_rows(CustomerPhone, ("customer_id", "number", "is_primary"), phones)
        self._insert_tags(tag_names)
        for column, rows in values.items():
            bulk.insert_rows(custom_fields.CustomValue, ("field_id", "record_id", column), rows)
        emit_created(ids, summaries=summaries)
        if self.created_hook is not None:
            for customer in Customer.select().where(Customer.id.in_(ids)).order_by(Customer.id):
                self.created_hook(customer=customer)
        return [Outcome(row, CREATED, [], customer_id)  # positional: the cheaper call, per row
                for (row, _, _), customer_id in zip(new, ids)]

    @staticmethod
    def _insert_tags(tag_names: list[tuple[int, list[str]]]) -> None:
        if not tag_names:
            return
        tags = {t.name_key: t.id for t in ensure_tags({n for _, names in tag_names
                                                       for n in names})}
        rows = {(customer_id, tags[name.lower()]) for customer_id, names in tag_names
                for name in names}
        bulk.insert_rows(CustomerTag, ("customer_id", "tag_id"), sorted(rows))

    def _update(self, updates: list[tuple[Prepared, int]]) -> list[Outcome]:
        outcomes = []
        for item, owner in updates:
            data = {k: v for k, v in item.data.items() if k != "id"}
            try:
                with database.atomic():  # a savepoint: a refused row leaves nothing behind
                    _, changes = update_customer(owner, data)
            except ValidationError as exc:
                outcomes.append(failed(item.row, problems_of(exc, self.layout)))
            except CrmkitError as exc:
                outcomes.append(failed(item.row, [(None, exc.message)]))
            else:
                outcomes.append(Outcome(item.row, UPDATED if changes else UNCHANGED,
                                        record_id=owner))
        return outcomes

    def _remember_refs(self, outcomes: list[Outcome], items: list[Prepared]) -> None:
        """Companies' file ids, for the rows after them that point at them."""
        if not self.has_source_ids:
            return
        by_row = {o.row: o for o in outcomes}
        rows = []
        for item in items:
            outcome, source = by_row.get(item.row), item.extra.get("source_id")
            if (item.data.get("kind") != COMPANY or source is None or outcome is None
                    or outcome.record_id is None):
                continue
            if self.dry_run:  # nothing stored: a stand-in id, as for its emails
                self.seen[("ref", source)] = -item.row
            else:
                rows.append((self.job_id, source, outcome.record_id))
        bulk.insert_rows(ImportRef, ("job_id", "source_id", "customer_id"), rows)
