"""A person's data: one export document with everything held, and erasure.

Export gathers the kernel's records (the customer, contact points, custom values, timeline,
consents) and every enabled plugin's ``export_personal_data`` section.

Erasure anonymises the person in place: personal fields are blanked, the name becomes a
pseudonym, contact points and custom values are deleted, free text on the timeline is blanked, and
consents are withdrawn. Financial and aggregate records (interaction types, dates and amounts, and
whatever plugins keep under the pseudonym through ``erase_personal_data``) remain, so revenue
figures stay true. Values recorded in the audit trail for the customer are blanked too; who did
what and when stays. Customers merged into the person are the same person: they are erased with
them, each under its own pseudonym. The erasure is itself audited. Everything runs in one
transaction: if a plugin refuses, nothing is erased.
"""
from __future__ import annotations

import hashlib
from typing import Any

from crmkit import audit, custom_fields
from crmkit.audit.models import AuditEvent
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone, Interaction
from crmkit.customers.profile import customer_record
from crmkit.customers.service import merged_into_ids
from crmkit.customers.timeline import interaction_dict
from crmkit.db import utcnow
from crmkit.errors import Conflict
from crmkit.privacy import consent
from crmkit.profile_sections import erase_personal_data, personal_data

# Blanked on erasure; the name becomes the pseudonym. Status, kind, source channel, owner and
# dates stay: they say nothing about who the person was.
PERSONAL_FIELDS = ("first_name", "last_name", "job_title", "email", "phone", "street", "city",
                   "region", "postal_code", "notes", "competitor", "utm_term", "utm_content")
_PSEUDONYM_PREFIX = "erased-"


def pseudonym_for(customer_id: int) -> str:
    """The name an erased customer goes by: the same for that customer on every run.

    It depends on the id alone. It stands in for the name and links nothing new (every record
    carrying it carries the id too); what it must not do is depend on settings: salted with the
    database URL it changed with the URL (an erased customer then no longer counted as erased),
    and it published a hash of the database password to every webhook subscriber.
    (Migration 0009 renamed customers erased under that scheme.)
    """
    digest = hashlib.sha256(f"crmkit erased customer {int(customer_id)}".encode()).hexdigest()
    return f"{_PSEUDONYM_PREFIX}{digest[:12]}"


def is_erased(customer: Customer) -> bool:
    # Exactly this customer's pseudonym: a real name may well start with the prefix.
    return customer.name == pseudonym_for(customer.id)


def _redact_merge_details(customer_ids: list[int]) -> int:
    """Blank the merged customer's summary and custom values a merge audit keeps in its detail;
    which ids were merged, what moved and who did it stay."""
    touched = 0
    for event in AuditEvent.select().where(
            (AuditEvent.action == "customer.merge") & (AuditEvent.object_type == "customer")
            & AuditEvent.object_id.in_([str(i) for i in customer_ids])
            & AuditEvent.detail.is_null(False)):
        detail = dict(event.detail)
        summary = dict(detail.get("merged") or {})
        for name in ("name", "email", "phone"):
            if summary.get(name) is not None:
                summary[name] = audit.trail.ERASED
        detail["merged"] = summary
        detail["merged_custom"] = {name: audit.trail.ERASED
                                   for name in detail.get("merged_custom") or {}}
        if detail != event.detail:
            AuditEvent._redact(detail=detail).where(AuditEvent.id == event.id).execute()
            touched += 1
    return touched


def export_personal_data(customer: Customer) -> dict[str, Any]:
    """One JSON-ready document with everything the kernel and every enabled plugin hold."""
    interactions = (Interaction.select().where(Interaction.customer == customer.id)
                    .order_by(Interaction.occurred_at, Interaction.id))
    document = {
        "generated_at": utcnow(),
        "customer": customer_record(customer),
        "interactions": [interaction_dict(i) for i in interactions],
        "consents": [{"channel": c.channel, "granted": c.granted, "at": c.at,
                      "source": c.source} for c in consent.consent_history(customer.id)],
        "plugins": personal_data(customer),
    }
    audit.record("personal_data.export", "customer", customer.id,
                 detail={"plugins": sorted(document["plugins"])})
    return audit.trail.json_ready(document)


def erase_person(customer: Customer) -> dict[str, Any]:
    """Anonymise a person; returns the pseudonym and the plugins that erased their part."""
    if is_erased(customer):
        raise Conflict(f"Customer {customer.id} was erased already.")
    pseudonym = pseudonym_for(customer.id)
    before = {name: getattr(customer, name) for name in PERSONAL_FIELDS + ("name",)}
    # A merge keeps the duplicate's row, consents, events and audit trail under its own id, and
    # that id answers 404 naming the survivor, so it can only be erased with the survivor. Each
    # row gets its own pseudonym, so is_erased holds for it too.
    merged = merged_into_ids(customer.id)
    ids = [customer.id, *merged]
    withdrawn = consent.withdraw_all(customer.id, "erasure")
    for merged_id in merged:
        consent.withdraw_all(merged_id, "erasure")
    for customer_id in ids:
        (Customer.update(name=pseudonym_for(customer_id), updated_at=utcnow(),
                         **{name: None for name in PERSONAL_FIELDS})
         .where(Customer.id == customer_id).execute())
        custom_fields.delete_values("customer", customer_id)
    CustomerEmail.delete().where(CustomerEmail.customer.in_(ids)).execute()
    CustomerPhone.delete().where(CustomerPhone.customer.in_(ids)).execute()
    from crmkit.customers.not_duplicates import forget
    marks_removed = sum(forget(customer_id) for customer_id in ids)
    (Interaction.update(summary=None, payload=None, actor=None)
     .where(Interaction.customer.in_(ids)).execute())
    refreshed = Customer.get_by_id(customer.id)
    # Plugins moved their records to the survivor through customer_merged.
    plugins = erase_personal_data(refreshed, pseudonym)
    redacted = (sum(audit.redact_object("customer", customer_id) for customer_id in ids)
                + _redact_merge_details(ids))
    # The event feed holds copies of the person's data (customer.created carries name and email).
    # Deliveries already made cannot be recalled, but the feed must not keep serving them.
    from crmkit.events import Event
    from crmkit.events.outbox import dumps, flush
    flush()  # events this transaction has queued (a plugin's, say) are redacted too
    events_redacted = sum(
        Event.update(payload=dumps({"erased": True, "pseudonym": pseudonym_for(customer_id)}))
        .where((Event.subject == "customer") & (Event.subject_id == str(customer_id)))
        .execute()
        for customer_id in ids)
    audit.record("erase", "customer", customer.id,
                 changes={name: ["[erased]" if value is not None else None,
                                 pseudonym if name == "name" else None]
                          for name, value in before.items() if value is not None},
                 detail={"pseudonym": pseudonym, "plugins": plugins,
                         "consents_withdrawn": withdrawn, "audit_records_redacted": redacted,
                         "events_redacted": events_redacted,
                         "not_duplicate_marks_removed": marks_removed,
                         "merged_customers_erased": merged})
    from crmkit.events import emit
    for customer_id in ids:
        if customer_id != customer.id:
            audit.record("erase", "customer", customer_id,
                         detail={"pseudonym": pseudonym_for(customer_id),
                                 "erased_with": customer.id})
        # Whoever kept a merged customer's data under its id hears of its erasure too.
        emit("customer.erased", {"customer_id": customer_id,
                                 "pseudonym": pseudonym_for(customer_id)},
             subject="customer", subject_id=customer_id)
    return {"customer_id": customer.id, "pseudonym": pseudonym, "plugins": plugins}
