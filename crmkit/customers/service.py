"""Creating, changing, reading and deleting customers: the rules both doors (API, CLI) share."""
from __future__ import annotations

from collections.abc import Callable
import dataclasses
from dataclasses import dataclass
from typing import Any

import peewee

from flask import current_app, has_app_context

from crmkit import audit, custom_fields
from crmkit.auth.scoping import assign_owner, can_see
from crmkit.customers.contacts import email_key, normalize_email, normalize_phone
from crmkit.customers.models import (COMPANY, PERSON, Customer, CustomerEmail, CustomerPhone,
                                     CustomerTag, Tag)
from crmkit.customers.tags import set_tags, tags_of
from crmkit.db import is_sqlite, utcnow
from crmkit.errors import Conflict, NotFound, ValidationError
from crmkit.events import emit, emit_many
from crmkit.prepared import Prepared

ENTITY = "customer"

# Plain columns a caller may set; contact points, tags and custom values are handled apart.
EDITABLE = ("kind", "name", "first_name", "last_name", "job_title", "company_id", "street", "city",
            "region", "postal_code", "country", "status", "competitor", "source_channel",
            "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "owner_id",
            "notes")


class MergedAway(NotFound):
    """The id belonged to a customer folded into another; the error names the survivor."""

    def __init__(self, customer_id: int, survivor_id: int):
        super().__init__(f"Customer {customer_id} was merged into customer {survivor_id}.",
                         extra={"merged_into": survivor_id})
        self.survivor_id = survivor_id


def _pm():
    return current_app.extensions["crmkit"].pm if has_app_context() else None


def _setting(name: str, default=None):
    if has_app_context():
        return current_app.config.get(f"CRMKIT_{name}", default)
    return default


def get_customer(customer_id: int, lock: bool | str = False) -> Customer:
    """The customer the caller may see. ``lock`` holds it against a merge until the transaction
    ends (see :func:`hold_customers`) and reads it as it is once a running merge is done, so a
    customer merged away meanwhile answers as merged. A lock strength instead of True
    (``CHANGING``, ``DELETING``) holds it against more: see the lock order below."""
    if lock and not is_sqlite():
        customer = first_locked(Customer.select().where(Customer.id == customer_id),
                                _HOLD if lock is True else lock)
    else:
        customer = _loaded(_BY_ID.first(customer_id))
    # Another owner's customer answers exactly like a missing one (object-level access).
    if customer is None or not can_see(customer):
        raise NotFound(f"Customer {customer_id} does not exist.")
    if customer.merged_into_id is not None:
        raise MergedAway(customer_id, _survivor_of(customer))
    return customer


# Conflicts with a merge's FOR UPDATE (and a DELETE) only: holders never wait for each other or
# for ordinary updates of the customer.
_HOLD = "FOR KEY SHARE"
# Row locks on PostgreSQL (SQLite's write transactions take turns and need none):
# - LINKING, on the company a person is being attached to: until the link commits, the company
#   cannot become a person (CHANGING), be deleted (DELETING) or merged away (a merge's FOR
#   UPDATE), and a link waits for any of those to commit, then reads the company as they left it.
# - CHANGING, on the customer an update changes: a merge waits for it, or it waits for the merge
#   and reads the customer as merged (without it, its write would bring the merged row back).
# - DELETING, on the customer being deleted.
# Lock order: a company before its people. Creating or updating a person locks the company it
# joins before the person; deleting a company locks it before re-writing its people; a merge of
# people holds their companies before locking them (crmkit.customers.merge). A circle can then
# only come from requests that point two customers at each other at once; PostgreSQL breaks it
# and the request answers TryAgain (409), never a 500.
LINKING = "FOR SHARE"
CHANGING = "FOR NO KEY UPDATE"
DELETING = "FOR UPDATE"


class TryAgain(Conflict):
    """PostgreSQL gave up a lock wait (a deadlock, or a wait past lock_timeout): the request
    stored nothing, and sent again it will almost always go through."""

    def __init__(self):
        super().__init__("Another request was changing the same customers at the same moment; "
                         "nothing was changed. Send the request again.", extra={"retry": True})


# deadlock_detected, lock_not_available, serialization_failure
_GAVE_UP = frozenset({"40P01", "55P03", "40001"})


def gave_up_waiting(exc: BaseException) -> bool:
    """Whether a database error is PostgreSQL giving up a wait (peewee wraps psycopg's error)."""
    for cause in (exc, *exc.args[:1], exc.__cause__, exc.__context__):
        if getattr(cause, "sqlstate", None) in _GAVE_UP:
            return True
    return False


def locked_rows(query: peewee.ModelSelect, strength: str) -> list:
    """The rows of ``query`` locked with ``strength`` (PostgreSQL; SQLite runs it as it is)."""
    if is_sqlite():
        return list(query)
    try:
        return list(query.for_update(strength))
    except peewee.OperationalError as exc:
        if gave_up_waiting(exc):
            raise TryAgain() from None
        raise


def first_locked(query: peewee.ModelSelect, strength: str):
    rows = locked_rows(query.limit(1), strength)
    return rows[0] if rows else None


def hold_customers(*customer_ids: int) -> None:
    """Hold customers against a merge until the transaction ends (PostgreSQL; SQLite's write
    transactions are serialised already).

    A merge locks both customers first, then the plugins re-point their rows. Code that locks
    rows of its own (a points balance) and then writes about their customer (records an
    interaction, which holds the customer) takes this first, before its own row locks, so every
    transaction takes a customer before the rows hanging off it and none deadlocks with a merge.
    """
    if customer_ids and not is_sqlite():
        locked_rows(Customer.select(Customer.id).where(Customer.id.in_(sorted(set(customer_ids))))
                    .order_by(Customer.id), _HOLD)


# Reading one customer runs on every GET of a record: composed once (see crmkit.prepared).
_BY_ID = Prepared(lambda: Customer.select().where(Customer.id == 0))


def _loaded(row: dict[str, Any] | None) -> Customer | None:
    if row is None:
        return None
    customer = Customer(__no_default__=1, **row)
    customer._dirty.clear()  # as loaded: saving it writes nothing until a field changes
    return customer


def _survivor_of(customer: Customer) -> int:
    seen = set()
    while customer.merged_into_id is not None and customer.id not in seen:
        seen.add(customer.id)
        customer = Customer.get_by_id(customer.merged_into_id)
    return customer.id


NAME_MAX = Customer.name.max_length
# Each part fits its own column; a person's display name joins them and can be one too long.
_TOO_LONG = f"First and last name together are longer than {NAME_MAX} characters."


def _display_name(kind: str, data: dict) -> str | None:
    if kind == COMPANY:
        return (data.get("name") or "").strip() or None
    parts = [(data.get("first_name") or "").strip(), (data.get("last_name") or "").strip()]
    return " ".join(p for p in parts if p) or (data.get("name") or "").strip() or None


def _contact_fields(data: dict, single: str, others: str) -> list[tuple[str, str]]:
    """(field name for errors, raw value) pairs, the primary first."""
    pairs = [(single, data[single])] if data.get(single) else []
    return pairs + [(f"{others}.{i}", raw) for i, raw in enumerate(data.get(others) or [])]


@dataclass
class Lookups:
    """What the checks would otherwise ask the database record by record; a bulk import fetches
    it once per batch. A key missing from a mapping means "not in the database"."""

    # email_key -> customer id
    email_owners: dict[str, int] = dataclasses.field(default_factory=dict)
    # company id -> (kind, merged_into_id)
    companies: dict[int, tuple[str, int | None]] = dataclasses.field(default_factory=dict)
    custom_fields: dict[str, custom_fields.CustomField] | None = None
    normalize_phone: Callable[[str, str | None], tuple[str | None, str | None]] = normalize_phone


def _check_contacts(data: dict, customer_id: int | None, errors: dict,
                    lookups: Lookups | None = None) -> tuple[list, list]:
    """Normalised (emails, phones), primary first; errors name the field and the position."""
    emails, phones, keys = [], [], set()
    for field, raw in _contact_fields(data, "email", "other_emails"):
        email, problem = normalize_email(raw)
        key = email_key(email) if email else None
        if lookups is not None:
            owner = lookups.email_owners.get(key) if key else None
        else:
            owner = (CustomerEmail.select(CustomerEmail.customer)
                     .where(CustomerEmail.email_key == key).scalar()) if key else None
        if problem:
            errors[field] = problem
        elif key in keys:
            errors[field] = "Listed twice."
        elif owner is not None and owner != customer_id:
            errors[field] = _used_by(owner, lookups)
        else:
            keys.add(key)
            emails.append(email)
    given = _contact_fields(data, "phone", "other_phones")
    region = _setting("DEFAULT_PHONE_REGION") if given else None
    normalize = lookups.normalize_phone if lookups is not None else normalize_phone
    for field, raw in given:
        number, problem = normalize(raw, region)
        if problem:
            errors[field] = problem
        elif number not in phones:
            phones.append(number)
    return emails, phones


def _used_by(owner: int, lookups: Lookups | None) -> str:
    """Whose the address is, if the caller may see that customer (imports name it always)."""
    if lookups is None and not can_see(Customer.get_by_id(owner)):
        return "Already used by another customer."
    return f"Already used by customer {owner}."


def _as_fields(emails: list[str], phones: list[str]) -> dict[str, Any]:
    return {"email": emails[0] if emails else None, "other_emails": emails[1:],
            "phone": phones[0] if phones else None, "other_phones": phones[1:]}


def _save_contacts(customer: Customer, emails: list[str], phones: list[str]) -> None:
    CustomerEmail.delete().where(CustomerEmail.customer == customer).execute()
    CustomerPhone.delete().where(CustomerPhone.customer == customer).execute()
    if emails:
        try:
            CustomerEmail.insert_many([
                {"customer": customer.id, "email": e, "email_key": email_key(e),
                 "is_primary": i == 0}
                for i, e in enumerate(emails)]).execute()
        except peewee.IntegrityError as exc:
            # Another transaction took the address after the check (PostgreSQL; SQLite's
            # writers take turns). The unique index said no: the same answer as the check's.
            raise ValidationError(_email_taken(exc, emails)) from None
    if phones:
        CustomerPhone.insert_many([
            {"customer": customer.id, "number": p, "is_primary": i == 0}
            for i, p in enumerate(phones)]).execute()
    customer.email = emails[0] if emails else None
    customer.phone = phones[0] if phones else None


def _email_taken(exc: peewee.IntegrityError, emails: list[str]) -> dict[str, str]:
    """The field whose address the unique index refused (the server's detail names its key)."""
    detail = getattr(getattr(exc.__cause__, "diag", None), "message_detail", None) or str(exc)
    for position, email in enumerate(emails):
        if f"=({email_key(email)})" in detail:
            return {"email" if position == 0 else f"other_emails.{position - 1}":
                    "Already used by another customer."}
    return {"email": "Already used by another customer."}


def _check_company(company_id, customer_id, errors, lookups: Lookups | None = None):
    if company_id is None:
        return
    if lookups is not None:
        kind, merged_into = lookups.companies.get(company_id, (None, None))
    else:
        # Held until the transaction ends (see LINKING); a customer joining itself is refused
        # below and must not hold its own row before the update locks it more strongly.
        query = Customer.select().where(Customer.id == company_id)
        company = (query.first() if company_id == customer_id
                   else first_locked(query, LINKING))
        # A company the caller may not see answers as a missing one: no attaching people to it,
        # and no telling which ids exist.
        visible = company is not None and can_see(company)
        kind, merged_into = (company.kind, company.merged_into_id) if visible else (None, None)
    if kind is None or merged_into is not None:
        errors["company_id"] = f"Customer {company_id} does not exist."
    elif kind != COMPANY:
        errors["company_id"] = f"Customer {company_id} is a person, not a company."
    elif company_id == customer_id:
        errors["company_id"] = "A company cannot belong to itself."


def _plugin_errors(customer: Customer | None, changes: dict) -> dict:
    pm = _pm()
    errors: dict = {}
    # Without implementations there is nothing to ask (a bulk import asks per row).
    if pm is None or not pm.hook.validate_customer_change.get_hookimpls():
        return errors
    for answer in pm.hook.validate_customer_change(customer=customer, changes=changes):
        for field, message in (answer or {}).items():
            errors.setdefault(field, message)
    return errors


@dataclass
class NewCustomer:
    """A customer that passed every check of :func:`check_new_customer`, not yet stored."""

    kind: str
    name: str
    columns: dict[str, Any]  # the EDITABLE values given, without kind and name
    emails: list[str]
    phones: list[str]
    custom: dict[str, Any]


def check_new_customer(data: dict, lookups: Lookups | None = None) -> NewCustomer:
    """Every rule a new customer must pass, without writing anything; raises ValidationError
    naming every bad field at once. Bulk import passes ``lookups`` fetched for a whole batch."""
    kind = data.get("kind") or PERSON
    errors: dict = {}
    name = _display_name(kind, data)
    if name is None:
        errors["name" if kind == COMPANY else "first_name"] = (
            "A company needs a name." if kind == COMPANY
            else "Give a first name, last name or name.")
    elif len(name) > NAME_MAX:
        errors["last_name"] = _TOO_LONG
    if kind == COMPANY and data.get("company_id") is not None:
        errors["company_id"] = "A company cannot belong to a company."
    _check_company(data.get("company_id"), None, errors, lookups)
    emails, phones = _check_contacts(data, None, errors, lookups)
    try:
        custom = custom_fields.validate_values(
            ENTITY, data.get("custom"), creating=True,
            defined=lookups.custom_fields if lookups is not None else None)
    except ValidationError as exc:
        errors.update(exc.fields)
        custom = {}
    changes = {k: [None, v] for k, v in data.items() if v is not None}
    errors.update({k: v for k, v in _plugin_errors(None, changes).items() if k not in errors})
    if errors:
        raise ValidationError(errors)
    columns = {k: data[k] for k in EDITABLE if k in data and k not in ("kind", "name")}
    return NewCustomer(kind, name, columns, emails, phones, custom)


def create_customer(data: dict, source: str = "api") -> Customer:
    """Create a person or company; raises ValidationError naming every bad field at once."""
    data = assign_owner(data, Customer, "customers:reassign", creating=True)
    new = check_new_customer(data)
    now = utcnow()
    customer = Customer(**new.columns, kind=new.kind, name=new.name, created_at=now,
                        updated_at=now)
    customer.save()
    _save_contacts(customer, new.emails, new.phones)
    customer.save()
    set_tags(customer.id, data.get("tags") or [])
    custom_fields.save_values(ENTITY, customer.id, new.custom)
    audit.record("create", ENTITY, customer.id, changes=audit.diff(None, customer_record_for_audit(
        customer)), detail={"source": source})
    pm = _pm()
    if pm is not None:
        pm.hook.customer_created(customer=customer)
    # Emitted last: emitting holds the feed lock until commit, so row locks that plugins take in
    # their hooks must come first or two transactions can deadlock on PostgreSQL.
    emit("customer.created", {"customer": customer_summary(customer), "source": source},
         subject=ENTITY, subject_id=customer.id)
    return customer


def update_customer(customer_id: int, data: dict) -> tuple[Customer, dict]:
    """Apply a partial change; returns the customer and ``{field: [old, new]}`` of what changed."""
    errors: dict = {}
    # The company to join first, then the customer: the lock order (see LINKING).
    if "company_id" in data:
        _check_company(data["company_id"], customer_id, errors)
    customer = get_customer(customer_id, lock=CHANGING)
    data = assign_owner(data, Customer, "customers:reassign", current_owner=customer.owner_id)
    changes: dict[str, list] = {}
    for key in EDITABLE:
        # The stored name is the display name, made from the name fields below, never taken
        # as given (a person's first and last name come first).
        if key != "name" and key in data and getattr(customer, key) != data[key]:
            changes[key] = [getattr(customer, key), data[key]]
    kind = data.get("kind", customer.kind)
    if {"first_name", "last_name", "name", "kind"} & set(data):
        merged = {k: data.get(k, getattr(customer, k)) for k in ("first_name", "last_name", "name")}
        name = _display_name(kind, merged)
        if name is None:
            errors["name" if kind == COMPANY else "first_name"] = "The name cannot be empty."
        elif len(name) > NAME_MAX:
            errors["last_name"] = _TOO_LONG
        elif name != customer.name:
            changes["name"] = [customer.name, name]
    if kind == COMPANY and data.get("company_id", customer.company_id) is not None:
        errors["company_id"] = "A company cannot belong to a company."
    # Counted under the CHANGING lock, which no one attaching a person can hold at the same time.
    if kind == PERSON and customer.kind == COMPANY and live_people(customer).exists():
        errors["kind"] = "This company has people; move them before making it a person."
    contacts = None
    if {"email", "other_emails", "phone", "other_phones"} & set(data):
        current = contact_lists(customer)
        wanted = {**current, **{k: data[k] for k in current if k in data}}
        emails, phones = _check_contacts(wanted, customer.id, errors)
        after = _as_fields(emails, phones)
        differs = {k: [current[k], after[k]] for k in current if current[k] != after[k]}
        if differs:
            changes.update(differs)
            contacts = (emails, phones)
    custom = {}
    if "custom" in data:
        try:
            custom = custom_fields.validate_values(ENTITY, data["custom"], creating=False)
        except ValidationError as exc:
            errors.update(exc.fields)
        old = custom_fields.load_values(ENTITY, [customer.id]).get(customer.id, {})
        for name, value in custom.items():
            if old.get(name) != value:
                changes[f"custom.{name}"] = [old.get(name), value]
    if "tags" in data:
        old_tags = tags_of(customer.id)
        new_tags = sorted({t.strip() for t in data["tags"] if t.strip()}, key=str.lower)
        if [t.lower() for t in old_tags] != [t.lower() for t in new_tags]:
            changes["tags"] = [old_tags, new_tags]
    if not errors:
        errors.update(_plugin_errors(customer, changes))
    if errors:
        raise ValidationError(errors)
    if not changes:
        return customer, {}

    for key in EDITABLE:
        if key != "name" and key in changes and key in data:
            setattr(customer, key, data[key])
    if "name" in changes:
        customer.name = changes["name"][1]
    if contacts is not None:
        _save_contacts(customer, *contacts)
    customer.updated_at = utcnow()
    customer.save()
    if "tags" in data:
        set_tags(customer.id, data["tags"])
    custom_fields.save_values(ENTITY, customer.id, custom)
    if changes:
        audit.record("update", ENTITY, customer.id, changes=changes)
    pm = _pm()
    if pm is not None:
        pm.hook.customer_updated(customer=customer, changes=changes)
    emit("customer.updated", {"customer": customer_summary(customer), "changes": changes},
         subject=ENTITY, subject_id=customer.id)  # last: see create_customer
    return customer, changes


def live_people(company: Customer) -> peewee.ModelSelect:
    """The people of a company. A person merged away may still name it (merges before merges
    cleared that); its row only points at its survivor and is not one of them."""
    return Customer.select().where((Customer.company == company.id)
                                   & Customer.merged_into.is_null())


def delete_customer(customer_id: int) -> None:
    """Delete a customer with no timeline; one with history is kept (set it inactive instead)."""
    # DELETING: anyone attaching a person to it meanwhile waits, then finds it gone.
    customer = get_customer(customer_id, lock=DELETING)
    if customer.interactions.count():
        raise Conflict(f"Customer {customer_id} has a timeline and cannot be deleted; set its "
                       "status to inactive, or erase its personal data.")
    # Customers merged into this one are kept only to point at it (their ids answer 404 naming
    # it); with it gone they would point nowhere and read as live customers again: they go too.
    merged = list(Customer.select().where(Customer.id.in_(merged_into_ids(customer.id))))
    released = []
    for record in [*merged, customer]:
        released += _release_people(record)
        CustomerTag.delete().where(CustomerTag.customer == record).execute()
        custom_fields.delete_values(ENTITY, record.id)
        audit.record("delete", ENTITY, record.id,
                     changes=audit.diff(customer_record_for_audit(record), None))
    Customer.delete().where(Customer.id.in_([r.id for r in merged])).execute()
    customer.delete_instance()
    # Last: see create_customer.
    emit_many("customer.updated", ((person.id, {"customer": customer_summary(person),
                                                "changes": changes})
                                   for person, changes in released), subject=ENTITY)
    emit("customer.deleted", {"customer": customer_summary(customer)}, subject=ENTITY,
         subject_id=customer.id)


def _release_people(company: Customer) -> list[tuple[Customer, dict]]:
    """Take the people off a company about to be deleted, as visibly as an edit would: their
    updated_at moves (whoever syncs changes with updated_after sees them leave, as after a
    merge re-points them), each gets an audit entry and the customer_updated hook. Returns
    (person, changes) pairs for the customer.updated events the caller emits last."""
    # Rows merged away point only at their survivor: cleared quietly, they are no one's news.
    (Customer.update(company=None)
     .where((Customer.company == company.id) & Customer.merged_into.is_null(False)).execute())
    people = list(live_people(company).order_by(Customer.id))
    if not people:
        return []
    now = utcnow()
    (Customer.update(company=None, updated_at=now)
     .where(Customer.id.in_([p.id for p in people])).execute())
    pm = _pm()
    released = []
    for person in people:
        changes = {"company_id": [company.id, None]}
        person.company, person.updated_at = None, now
        audit.record("update", ENTITY, person.id, changes=changes,
                     detail={"reason": "company deleted"})
        if pm is not None:
            pm.hook.customer_updated(customer=person, changes=changes)
        released.append((person, changes))
    return released


def merged_into_ids(customer_id: int) -> list[int]:
    """Every customer merged into this one, directly or through a chain of merges.

    A merge re-points earlier merges at the survivor, so chains should not occur; following
    them anyway costs one more query and leaves no one behind if a row still points at one."""
    found: list[int] = []
    frontier = [customer_id]
    while frontier:
        frontier = [i for (i,) in Customer.select(Customer.id)
                    .where(Customer.merged_into.in_(frontier)).tuples()
                    if i != customer_id and i not in found]
        found += frontier
    return found


def customer_record_for_audit(customer: Customer) -> dict[str, Any]:
    """The customer's own columns, as the audit trail records them on create and delete."""
    return {name: getattr(customer, name) for name in ("kind", "name") + EDITABLE}


_EMAILS_OF = Prepared(lambda: (
    CustomerEmail.select(CustomerEmail.email).where(CustomerEmail.customer == 0)
    .order_by(CustomerEmail.is_primary.desc(), CustomerEmail.id)))
_PHONES_OF = Prepared(lambda: (
    CustomerPhone.select(CustomerPhone.number).where(CustomerPhone.customer == 0)
    .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.id)))


def contact_lists(customer: Customer) -> dict[str, Any]:
    """One customer's emails and phones, primary first (what :func:`contact_lists_for` gives,
    with queries composed once: reading one customer is the most frequent request)."""
    return _as_fields([r[0] for r in _EMAILS_OF.rows(customer.id)],
                      [r[0] for r in _PHONES_OF.rows(customer.id)])


def contact_lists_for(customer_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Emails and phones of many customers in two queries, primary first."""
    emails: dict[int, list[str]] = {i: [] for i in customer_ids}
    phones: dict[int, list[str]] = {i: [] for i in customer_ids}
    if customer_ids:
        for cid, email in (CustomerEmail.select(CustomerEmail.customer, CustomerEmail.email)
                           .where(CustomerEmail.customer.in_(customer_ids))
                           .order_by(CustomerEmail.is_primary.desc(), CustomerEmail.id).tuples()):
            emails[cid].append(email)
        for cid, number in (CustomerPhone.select(CustomerPhone.customer, CustomerPhone.number)
                            .where(CustomerPhone.customer.in_(customer_ids))
                            .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.id).tuples()):
            phones[cid].append(number)
    return {i: _as_fields(emails[i], phones[i]) for i in customer_ids}


# What events and hooks say about a customer (bulk import builds the same from plain rows).
SUMMARY_FIELDS = ("id", "kind", "name", "email", "phone", "status", "owner_id")


def customer_summary(customer: Customer) -> dict:
    return {name: getattr(customer, name) for name in SUMMARY_FIELDS}


def find_by_contact(email: str | None = None, phone: str | None = None) -> Customer | None:
    """The customer holding this email (any case) or phone (any format), if any."""
    if email:
        found = (Customer.select().join(CustomerEmail)
                 .where(CustomerEmail.email_key == email_key(email)).first())
        if found is not None:
            return found
    if phone:
        number, problem = normalize_phone(phone, _setting("DEFAULT_PHONE_REGION"))
        if number:
            return (Customer.select().join(CustomerPhone)
                    .where((CustomerPhone.number == number)
                           & Customer.merged_into.is_null()).first())
    return None


__all__ = ["Lookups", "MergedAway", "NewCustomer", "Tag", "check_new_customer", "contact_lists",
           "create_customer", "customer_summary",
           "delete_customer", "find_by_contact", "get_customer", "update_customer"]
