"""The 360 profile: the record, its timeline in brief, key figures and every plugin's section."""
from __future__ import annotations

from peewee import fn

from crmkit import custom_fields
from crmkit.auth.scoping import can_see, visible
from crmkit.customers.models import COMPANY, Customer, Interaction
from crmkit.customers.service import contact_lists, contact_lists_for, get_customer
from crmkit.customers.tags import tags_for, tags_of
from crmkit.customers.timeline import interaction_dict
from crmkit.profile_sections import profile_sections

RECENT = 10


def key_figures(customer_id: int) -> dict:
    """Purchases and contact figures, computed in SQL; revenue is per currency.

    Every currency with a purchase or a refund has an entry (a refund may come in a currency the
    customer never bought in), and every money figure is a Decimal at the stored scale, so the
    API shows them all as strings such as "0.0000", never a bare 0.
    """
    purchases = (Interaction.select(Interaction.currency,
                                    fn.COUNT(Interaction.id).alias("n"),
                                    fn.SUM(Interaction.amount).alias("total"),
                                    fn.MIN(Interaction.occurred_at).alias("first"),
                                    fn.MAX(Interaction.occurred_at).alias("last"))
                 .where((Interaction.customer == customer_id) & (Interaction.type == "purchase"))
                 .group_by(Interaction.currency))
    refunds = dict(Interaction.select(Interaction.currency, fn.SUM(Interaction.amount))
                   .where((Interaction.customer == customer_id)
                          & (Interaction.type == "refund"))
                   .group_by(Interaction.currency).tuples())
    field, money = Interaction.occurred_at, Interaction.amount.python_value
    zero = money(0)
    bought, count, firsts, lasts = {}, 0, [], []
    for row in purchases:
        bought[row.currency] = money(row.total)
        count += row.n
        firsts.append(field.python_value(row.first))
        lasts.append(field.python_value(row.last))
    revenue = {}
    for currency in sorted(set(bought) | set(refunds)):
        total = bought.get(currency, zero)
        refunded = money(refunds[currency]) if currency in refunds else zero
        revenue[currency] = {"purchases": total, "refunds": refunded,
                             "net": money(total - refunded)}
    last_contact = (Interaction.select(fn.MAX(Interaction.occurred_at))
                    .where((Interaction.customer == customer_id)
                           & (Interaction.direction != "internal")).scalar())
    return {
        "purchase_count": count,
        "first_purchase_at": min(firsts) if firsts else None,
        "last_purchase_at": max(lasts) if lasts else None,
        "revenue": revenue,
        "last_contact_at": field.python_value(last_contact),
    }


def timeline_summary(customer_id: int) -> dict:
    by_type = dict(Interaction.select(Interaction.type, fn.COUNT(Interaction.id))
                   .where(Interaction.customer == customer_id)
                   .group_by(Interaction.type).tuples())
    recent = (Interaction.select().where(Interaction.customer == customer_id)
              .order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(RECENT))
    return {"count": sum(by_type.values()), "by_type": by_type,
            "recent": [interaction_dict(i) for i in recent]}


def build_profile(customer_id: int) -> dict:
    """The 360 view of one customer the caller may see.

    The people of a company and the company of a person go through the same object-level access
    as the rest of the API (``crmkit.auth.scoping``): a profile must not show what
    ``GET /customers/{id}`` answers 404 for.
    """
    customer = get_customer(customer_id)
    record = customer_record(customer)
    profile = {"customer": record, "timeline": timeline_summary(customer.id),
               "figures": key_figures(customer.id), "sections": profile_sections(customer)}
    if customer.kind == COMPANY:
        people = visible(Customer.select(Customer.id, Customer.name, Customer.email,
                                         Customer.job_title)
                         .where((Customer.company == customer) & Customer.merged_into.is_null())
                         .order_by(Customer.name), Customer)
        profile["people"] = [{"id": p.id, "name": p.name, "email": p.email,
                              "job_title": p.job_title} for p in people]
    elif customer.company_id:
        # A company the caller may not see is null, as a missing one is: its name is not theirs
        # to read. Its id stays in customer.company_id, as GET /customers/{id} shows it.
        company = Customer.get_or_none(Customer.id == customer.company_id)
        visible_company = company is not None and can_see(company)
        profile["company"] = {"id": company.id, "name": company.name} if visible_company else None
    return profile


RECORD_FIELDS = (
    "id", "kind", "name", "first_name", "last_name", "job_title", "company_id", "street", "city",
    "region", "postal_code", "country", "status", "competitor", "source_channel", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "owner_id", "notes", "created_at",
    "updated_at")


def customer_records(customers: list[Customer]) -> list[dict]:
    """Customers as the API shows them, with contacts, tags and custom values, in a fixed number
    of queries whatever the page size."""
    ids = [c.id for c in customers]
    contacts = contact_lists_for(ids)
    tags = tags_for(ids)
    custom = custom_fields.load_values("customer", ids)
    out = []
    for c in customers:
        data = {k: getattr(c, k) for k in RECORD_FIELDS}
        data.update(contacts[c.id])
        data["tags"] = tags.get(c.id, [])
        data["custom"] = custom.get(c.id, {})
        out.append(data)
    return out


def customer_record(customer: Customer) -> dict:
    """One customer as :func:`customer_records` shows it (single-record queries, composed
    once: this is the most frequent read)."""
    data = {k: getattr(customer, k) for k in RECORD_FIELDS}
    data.update(contact_lists(customer))
    data["tags"] = tags_of(customer.id)
    data["custom"] = custom_fields.values_of("customer", customer.id)
    return data
