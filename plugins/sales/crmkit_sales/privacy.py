"""What sales adds to a customer's 360 profile, and its part of personal-data export and erasure.

Erasure keeps the financial record (deal amounts, lines, document numbers and totals) under the
pseudonym, and removes what identifies the person: lead contact details and messages, deal titles,
task notes, rendered documents (their HTML and PDF hold the name and address) and attachments.
"""
from __future__ import annotations

from peewee import fn

from crmkit.auth import scoping
from crmkit.db import utcnow

from crmkit_sales import sql
from crmkit_sales.models import Attachment, Deal, Document, Lead, Stage, Task


def profile_section(customer) -> dict | None:
    # Deals and tasks the caller may see, as the plugin's own endpoints show them: an agent
    # seeing a customer does not see every colleague's deal with it.
    totals = list(scoping.visible(Deal.select(Deal.status, Deal.currency, fn.COUNT(Deal.id),
                                              sql.money_sum(Deal.amount)), Deal)
                  .where(Deal.customer_id == customer.id)
                  .group_by(Deal.status, Deal.currency).tuples())
    next_task = (scoping.visible(Task.select(), Task)
                 .where(Task.customer_id == customer.id, Task.status == "open")
                 .order_by(Task.due_at).first())
    if not totals and next_task is None:
        return None
    summary: dict = {"open": {"deals": 0, "amount": {}}, "won": {"deals": 0, "amount": {}},
                     "lost": {"deals": 0, "amount": {}}}
    for status, currency, count, total in totals:
        summary[status]["deals"] += count
        summary[status]["amount"][currency] = sql.money(total)
    recent = (scoping.visible(Deal.select(Deal, Stage).join(Stage), Deal)
              .where(Deal.customer_id == customer.id)
              .order_by(Deal.updated_at.desc()).limit(5))
    return {
        **summary,
        "recent_deals": [{"id": d.id, "title": d.title, "stage": d.stage.name,
                          "status": d.status, "amount": d.amount, "currency": d.currency,
                          "owner_id": d.owner_id, "updated_at": d.updated_at} for d in recent],
        "next_task": None if next_task is None else {
            "id": next_task.id, "kind": next_task.kind, "title": next_task.title,
            "due_at": next_task.due_at, "assignee_id": next_task.assignee_id},
    }


def _leads_of(customer):
    """Leads converted into the customer, and leads with their email or phone."""
    condition = Lead.customer_id == customer.id
    email, phone = getattr(customer, "email", None), getattr(customer, "phone", None)
    if email:
        condition = condition | (fn.LOWER(Lead.email) == email.lower())
    if phone:
        condition = condition | (Lead.phone == phone)
    return Lead.select().where(condition)


def export(customer) -> dict | None:
    from crmkit_sales.deals import deal_dict
    from crmkit_sales.leads import lead_dict
    from crmkit_sales.tasks import task_dict
    leads = [lead_dict(lead) for lead in _leads_of(customer)]
    deals = [deal_dict(d) for d in Deal.select().where(Deal.customer_id == customer.id)]
    tasks = [task_dict(t) for t in Task.select().where(Task.customer_id == customer.id)]
    documents = [{"id": d.id, "deal_id": d.deal_id, "number": d.number, "kind": d.kind,
                  "total": d.total, "currency": d.currency, "created_at": d.created_at,
                  "html": d.html}
                 for d in Document.select().join(Deal).where(Deal.customer_id == customer.id)]
    attachments = [{"id": a.id, "deal_id": a.deal_id, "filename": a.filename,
                    "content_type": a.content_type, "size": a.size, "created_at": a.created_at}
                   for a in Attachment.select(Attachment.id, Attachment.deal, Attachment.filename,
                                              Attachment.content_type, Attachment.size,
                                              Attachment.created_at)
                   .join(Deal).where(Deal.customer_id == customer.id)]
    if not (leads or deals or tasks):
        return None
    return {"leads": leads, "deals": deals, "tasks": tasks, "documents": documents,
            "attachments": attachments}


def erase(customer, pseudonym: str) -> None:
    now = utcnow()
    lead_ids = [lead.id for lead in _leads_of(customer)]
    if lead_ids:
        Lead.update(name=pseudonym, first_name=None, last_name=None, company=None, email=None,
                    phone=None, notes=None, message=None, updated_at=now).where(
            Lead.id.in_(lead_ids)).execute()
    deals = Deal.select(Deal.id).where(Deal.customer_id == customer.id)
    Deal.update(title=pseudonym, updated_at=now).where(Deal.customer_id == customer.id).execute()
    Task.update(title=pseudonym, description=None, outcome=None, location=None,
                updated_at=now).where(Task.customer_id == customer.id).execute()
    Document.update(html=None, pdf=None, erased=True).where(Document.deal.in_(deals)).execute()
    Attachment.delete().where(Attachment.deal.in_(deals)).execute()



def move_to_survivor(survivor, merged) -> None:
    """Customers merged in the kernel: the merged one's deals, leads and tasks follow."""
    Deal.update(customer_id=survivor.id).where(Deal.customer_id == merged.id).execute()
    Lead.update(customer_id=survivor.id).where(Lead.customer_id == merged.id).execute()
    Task.update(customer_id=survivor.id).where(Task.customer_id == merged.id).execute()


def segment_fields() -> list[dict]:
    """What segments may filter customers on: their open and won deals, their last win."""

    def count(status):
        return lambda: (Deal.select(Deal.customer_id.alias("customer_id"),
                                    fn.COUNT(Deal.id).alias("value"))
                        .where(Deal.status == status).group_by(Deal.customer_id))

    return [
        {"name": "sales.open_deals", "type": "integer", "label": "Sales: open deals",
         "values": count("open")},
        {"name": "sales.won_deals", "type": "integer", "label": "Sales: deals won",
         "values": count("won")},
        {"name": "sales.last_won_at", "type": "datetime", "label": "Sales: last deal won",
         "values": lambda: (Deal.select(Deal.customer_id.alias("customer_id"),
                                        fn.MAX(Deal.won_at).alias("value"))
                            .where(Deal.status == "won").group_by(Deal.customer_id))},
    ]
