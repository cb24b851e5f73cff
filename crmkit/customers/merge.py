"""Merging: fold a duplicate customer into a survivor so that nothing is lost.

The survivor takes the duplicate's timeline, tags, custom values it lacks, emails and phones (its
own primary ones stay primary), the people of a merged company, and every plugin's records
through the ``customer_merged`` hook. The duplicate's row stays, marked ``merged_into``, so its
id answers 404 naming the survivor instead of vanishing. One transaction: a plugin that raises
leaves both customers as they were.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, has_app_context

from crmkit import audit, custom_fields
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone, CustomerTag, Interaction
from crmkit.customers.service import (ENTITY, contact_lists, customer_summary, hold_customers,
                                      locked_rows)
from crmkit.customers.tags import tags_of
from crmkit.db import is_sqlite, utcnow
from crmkit.errors import Conflict, NotFound, ValidationError
from crmkit.events import emit

# Blocks of columns the survivor takes from the duplicate when it has none of the block: an
# address or an attribution is copied whole, never spliced from two records.
FILL_BLOCKS = (
    ("job_title",),
    ("company_id",),
    ("owner_id",),
    ("competitor",),
    ("street", "city", "region", "postal_code", "country"),
    ("source_channel", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"),
)
# How far along the funnel a status is: the survivor takes the duplicate's when it is further
# (a duplicate that bought makes the survivor an active customer).
STATUS_RANK = {"potential": 0, "prospect": 1, "inactive": 1, "churned": 1, "active": 2}


@dataclass
class MergeResult:
    survivor: Customer
    merged: Customer
    moved: dict[str, int] = field(default_factory=dict)
    changes: dict[str, list] = field(default_factory=dict)  # the survivor's {field: [old, new]}


def _lock(survivor_id: int, duplicate_id: int) -> dict[int, Customer]:
    """Both rows, locked in id order on PostgreSQL so two merges touching the same customers
    queue instead of deadlocking (SQLite's write transaction already holds the database lock).

    The companies of two people come first: a company before its people is the order every
    path locks them in (see crmkit.customers.service.LINKING). Without it a merge handing the
    duplicate's company to the survivor waits for that company while holding both people, and
    deleting the company holds it while waiting to take one of them off it: a deadlock."""
    ids = [survivor_id, duplicate_id]
    query = Customer.select().where(Customer.id.in_(ids)).order_by(Customer.id)
    if is_sqlite():
        return {c.id: c for c in query}
    companies = {c for (c,) in Customer.select(Customer.company).where(
        Customer.id.in_(ids) & Customer.company.is_null(False)).tuples()}
    hold_customers(*companies)
    rows = {c.id: c for c in locked_rows(query, "FOR UPDATE")}
    # Moved to another company between the two reads: hold that one too, out of order; should
    # that ever close a circle, PostgreSQL breaks it and the merge answers TryAgain.
    hold_customers(*({c.company_id for c in rows.values()} - companies - {None}))
    return rows


def _check(survivor_id: int, duplicate_id: int) -> tuple[Customer, Customer]:
    if survivor_id == duplicate_id:
        raise ValidationError({"duplicate_id": "A customer cannot be merged into itself."})
    rows = _lock(survivor_id, duplicate_id)
    survivor, merged = rows.get(survivor_id), rows.get(duplicate_id)
    from crmkit.auth.scoping import can_see
    if survivor is None or not can_see(survivor):
        raise NotFound(f"Customer {survivor_id} does not exist.")
    if survivor.merged_into_id is not None:
        from crmkit.customers.service import _survivor_of
        target = _survivor_of(survivor)
        raise Conflict(f"Customer {survivor_id} was itself merged into customer {target}; merge "
                       f"into customer {target} instead.", extra={"merged_into": target})
    if merged is None or not can_see(merged):
        raise ValidationError({"duplicate_id": f"Customer {duplicate_id} does not exist."})
    if merged.merged_into_id is not None:
        raise Conflict(f"Customer {duplicate_id} was already merged into customer "
                       f"{merged.merged_into_id}.", extra={"merged_into": merged.merged_into_id})
    # An erased customer is a tombstone: merged into, it would hold personal data again that
    # a second erasure is refused for; merged away, it would hand its blanks to the survivor.
    from crmkit.privacy.personal_data import is_erased
    for customer in (survivor, merged):
        if is_erased(customer):
            raise Conflict(f"Customer {customer.id} was erased; an erased customer cannot be "
                           "merged.")
    if merged.kind != survivor.kind:
        raise ValidationError({"duplicate_id": f"Customer {duplicate_id} is a {merged.kind} and "
                                               f"customer {survivor_id} a {survivor.kind}; only "
                                               "customers of one kind can be merged."})
    return survivor, merged


def _move_tags(survivor: Customer, merged: Customer) -> int:
    held = {t for (t,) in CustomerTag.select(CustomerTag.tag)
            .where(CustomerTag.customer == survivor.id).tuples()}
    theirs = {t for (t,) in CustomerTag.select(CustomerTag.tag)
              .where(CustomerTag.customer == merged.id).tuples()}
    new = sorted(theirs - held)
    if new:
        CustomerTag.insert_many([{"customer": survivor.id, "tag": t} for t in new]).execute()
    CustomerTag.delete().where(CustomerTag.customer == merged.id).execute()
    return len(new)


def _move_contacts(survivor: Customer, merged: Customer) -> tuple[int, int]:
    """Emails and phones to the survivor; the survivor's primary ones stay primary, and when it
    has none the duplicate's primary becomes its primary."""
    has_email = CustomerEmail.select().where(CustomerEmail.customer == survivor.id).exists()
    emails = (CustomerEmail.update(customer=survivor.id, **({"is_primary": False} if has_email
                                                            else {}))
              .where(CustomerEmail.customer == merged.id).execute())
    own_numbers = CustomerPhone.select(CustomerPhone.number).where(
        CustomerPhone.customer == survivor.id)
    # A number both hold is the same number: the survivor's copy is enough.
    CustomerPhone.delete().where((CustomerPhone.customer == merged.id)
                                 & CustomerPhone.number.in_(own_numbers)).execute()
    has_phone = CustomerPhone.select().where(CustomerPhone.customer == survivor.id).exists()
    phones = (CustomerPhone.update(customer=survivor.id, **({"is_primary": False} if has_phone
                                                            else {}))
              .where(CustomerPhone.customer == merged.id).execute())
    survivor.email = (CustomerEmail.select(CustomerEmail.email)
                      .where(CustomerEmail.customer == survivor.id)
                      .order_by(CustomerEmail.is_primary.desc(), CustomerEmail.id).scalar())
    survivor.phone = (CustomerPhone.select(CustomerPhone.number)
                      .where(CustomerPhone.customer == survivor.id)
                      .order_by(CustomerPhone.is_primary.desc(), CustomerPhone.id).scalar())
    merged.email = merged.phone = None
    return emails, phones


def _take_fields(survivor: Customer, merged: Customer) -> dict[str, list]:
    """Columns the survivor lacks, taken from the duplicate; returns ``{field: [old, new]}``."""
    changes: dict[str, list] = {}

    def take(name, value):
        old = getattr(survivor, name)
        if old != value:
            changes[name] = [old, value]
            setattr(survivor, name, value)

    for block in FILL_BLOCKS:
        if all(getattr(survivor, n) in (None, "") for n in block) and \
                any(getattr(merged, n) not in (None, "") for n in block):
            for name in block:
                take(name, getattr(merged, name))
    if STATUS_RANK.get(merged.status, 0) > STATUS_RANK.get(survivor.status, 0):
        take("status", merged.status)
    if merged.notes and merged.notes != survivor.notes:
        take("notes", f"{survivor.notes}\n\n{merged.notes}" if survivor.notes else merged.notes)
    if merged.created_at < survivor.created_at:
        # The relationship began with the older record.
        take("created_at", merged.created_at)
    return changes


def merge_customers(survivor_id: int, duplicate_id: int) -> MergeResult:
    """Fold customer ``duplicate_id`` into ``survivor_id``; run it inside a write transaction.

    Raises ValidationError (422) for merging a customer into itself, an unknown duplicate or one
    of another kind; NotFound (404) for an unknown survivor; Conflict (409) when either was
    already merged away.
    """
    survivor, merged = _check(survivor_id, duplicate_id)
    before = {"contacts": contact_lists(survivor), "tags": tags_of(survivor.id),
              "custom": custom_fields.load_values(ENTITY, [survivor.id]).get(survivor.id, {})}
    merged_summary = customer_summary(merged)
    custom_before = custom_fields.load_values(ENTITY, [merged.id]).get(merged.id, {})
    moved: dict[str, int] = {}

    # Interactions are append-only, yet a merge re-points them: the entry is unchanged, only whose
    # timeline it sits on is corrected.
    moved["interactions"] = (Interaction.update(customer=survivor.id)
                             .where(Interaction.customer == merged.id).execute())
    moved["tags"] = _move_tags(survivor, merged)
    custom_fields.move_values(ENTITY, merged.id, survivor.id)
    moved["emails"], moved["phones"] = _move_contacts(survivor, merged)
    # Their updated_at moves too, so whoever syncs changes (updated_after) sees the new company.
    moved["people"] = (Customer.update(company=survivor.id, updated_at=utcnow())
                       .where(Customer.company == merged.id).execute())
    # Records merged into the duplicate earlier now point straight at the survivor.
    (Customer.update(merged_into=survivor.id)
     .where(Customer.merged_into == merged.id).execute())
    # "Not a duplicate of X" was said of the duplicate's record as it was; the survivor, which
    # now holds its contacts, may well be offered with X again for a fresh look.
    from crmkit.customers.not_duplicates import forget
    marks_removed = forget(merged.id)

    changes = _take_fields(survivor, merged)
    contacts_after = contact_lists(survivor)
    changes.update({k: [v, contacts_after[k]] for k, v in before["contacts"].items()
                    if contacts_after[k] != v})
    tags_after = tags_of(survivor.id)
    if tags_after != before["tags"]:
        changes["tags"] = [before["tags"], tags_after]
    custom_after = custom_fields.load_values(ENTITY, [survivor.id]).get(survivor.id, {})
    taken = [n for n in custom_after if n not in before["custom"]]
    moved["custom_values"] = len(taken)
    for name in taken:
        changes[f"custom.{name}"] = [None, custom_after[name]]

    now = utcnow()
    survivor.updated_at = now
    survivor.save()
    merged.merged_into = survivor.id
    merged.updated_at = now
    # The merged row only points at the survivor now, which took the company if it had none:
    # left in place, the link would keep counting the row as one of the company's people (and
    # stop it becoming a person) though no list shows it and the row cannot be edited.
    left_company = merged.company_id
    merged.company = None
    merged.save()

    if has_app_context():
        current_app.extensions["crmkit"].pm.hook.customer_merged(survivor=survivor, merged=merged)
    emit("customer.merged", {"survivor": customer_summary(survivor), "merged": merged_summary,
                             "moved": moved, "changes": changes},
         subject=ENTITY, subject_id=survivor.id)
    detail = {"merged_id": merged.id, "merged": merged_summary, "moved": moved,
              "merged_custom": custom_before, "not_duplicate_marks_removed": marks_removed}
    audit.record("customer.merge", ENTITY, survivor.id, changes=changes, detail=detail)
    audit.record("customer.merged_into", ENTITY, merged.id,
                 changes={"merged_into": [None, survivor.id],
                          **({"company_id": [left_company, None]} if left_company else {})},
                 detail={"survivor_id": survivor.id})
    return MergeResult(survivor, merged, moved, changes)


__all__ = ["MergeResult", "merge_customers"]
