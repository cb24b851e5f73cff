"""A person's data: one export document with everything held, and erasure.

Export gathers the kernel's records (the customer, contact points, custom values, timeline,
consents) and every enabled plugin's ``export_personal_data`` section.

Erasure anonymises the person in place: personal fields are blanked, the name becomes a
pseudonym, contact points and custom values are deleted, free text on the timeline is blanked, and
consents are withdrawn. Financial and aggregate records (interaction types, dates and amounts, and
whatever plugins keep under the pseudonym through ``erase_personal_data``) remain, so revenue
figures stay true. Values recorded in the audit trail for the customer are blanked too; who did
what and when stays. The erasure is itself audited. Everything runs in one transaction: if a plugin
refuses, nothing is erased.
"""
from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app, has_app_context

from crmkit import audit, custom_fields
from crmkit.customers.models import Customer, CustomerEmail, CustomerPhone, Interaction
from crmkit.customers.profile import customer_record
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
    """Stable for one customer of one installation, unguessable without the database."""
    salt = str(current_app.config.get("CRMKIT_DATABASE_URL", "")) if has_app_context() else ""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).hexdigest()[:12]
    return f"{_PSEUDONYM_PREFIX}{digest}"


def is_erased(customer: Customer) -> bool:
    return customer.name.startswith(_PSEUDONYM_PREFIX)


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
    withdrawn = consent.withdraw_all(customer.id, "erasure")
    (Customer.update(name=pseudonym, updated_at=utcnow(),
                     **{name: None for name in PERSONAL_FIELDS})
     .where(Customer.id == customer.id).execute())
    CustomerEmail.delete().where(CustomerEmail.customer == customer.id).execute()
    CustomerPhone.delete().where(CustomerPhone.customer == customer.id).execute()
    custom_fields.delete_values("customer", customer.id)
    from crmkit.customers.not_duplicates import forget
    marks_removed = forget(customer.id)
    (Interaction.update(summary=None, payload=None, actor=None)
     .where(Interaction.customer == customer.id).execute())
    refreshed = Customer.get_by_id(customer.id)
    plugins = erase_personal_data(refreshed, pseudonym)
    redacted = audit.redact_object("customer", customer.id)
    # The event feed holds copies of the person's data (customer.created carries name and email).
    # Deliveries already made cannot be recalled, but the feed must not keep serving them.
    from crmkit.events import Event
    from crmkit.events.outbox import dumps, flush
    flush()  # events this transaction has queued (a plugin's, say) are redacted too
    events_redacted = (Event.update(payload=dumps({"erased": True, "pseudonym": pseudonym}))
                       .where((Event.subject == "customer")
                              & (Event.subject_id == str(customer.id)))
                       .execute())
    audit.record("erase", "customer", customer.id,
                 changes={name: ["[erased]" if value is not None else None,
                                 pseudonym if name == "name" else None]
                          for name, value in before.items() if value is not None},
                 detail={"pseudonym": pseudonym, "plugins": plugins,
                         "consents_withdrawn": withdrawn, "audit_records_redacted": redacted,
                         "events_redacted": events_redacted,
                         "not_duplicate_marks_removed": marks_removed})
    from crmkit.events import emit
    emit("customer.erased", {"customer_id": customer.id, "pseudonym": pseudonym},
         subject="customer", subject_id=customer.id)
    return {"customer_id": customer.id, "pseudonym": pseudonym, "plugins": plugins}
