"""Deals: creating, changing, moving through stages, and the revenue a won deal is.

Moving a deal is one transaction: close its stay in the old stage, open one in the new, check and
run the new stage's automations, record revenue if it is won, emit ``sales.deal.stage_changed``.
Any failure (a required field missing, a document that cannot render) leaves the deal where it was.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from flask import current_app, has_app_context

from crmkit import custom_fields
from crmkit.auth import scoping
from crmkit.customers.models import Customer
from crmkit.db import utcnow
from crmkit.errors import Conflict, ValidationError
from crmkit.events import emit
from crmkit.events.outbox import dumps
from crmkit.pagination import Page, clamp_limit, keyset_page, parse_sort

from crmkit_sales import assignment, automation, people, quotes
from crmkit_sales.models import (LOST, OPEN, WON, Deal, DealLine, Pipeline, Stage, StageHistory)
from crmkit_sales.money import ZERO, check_currency, round_money, to_decimal

ENTITY = "sales.deal"
SIMPLE_FIELDS = ("title", "source", "territory", "expected_close", "lost_reason")
REVENUE_SOURCE = "sales"


def _pm():
    return current_app.extensions["crmkit"].pm if has_app_context() else None


# -- reading --------------------------------------------------------------------------------------

def get_deal(deal_id: int) -> Deal:
    """The deal if the caller may see it (object-level access), else 404."""
    return scoping.get_visible(Deal, deal_id, label="deal")


def get_stage(stage_id, field: str = "stage_id") -> Stage:
    stage = (Stage.select(Stage, Pipeline).join(Pipeline).where(Stage.id == stage_id).first()
             if stage_id is not None else None)
    if stage is None:
        raise ValidationError({field: f"No stage with id {stage_id}."})
    return stage


def default_pipeline() -> Pipeline:
    pipeline = (Pipeline.select().where(Pipeline.active == True)  # noqa: E712
                .order_by(Pipeline.position, Pipeline.id).first())
    if pipeline is None:
        raise ValidationError({"pipeline_id": "No pipeline exists yet; create one first."})
    return pipeline


def first_stage(pipeline: Pipeline) -> Stage:
    stage = (Stage.select(Stage, Pipeline).join(Pipeline)
             .where(Stage.pipeline == pipeline, Stage.kind == OPEN)
             .order_by(Stage.position, Stage.id).first())
    if stage is None:
        raise ValidationError({"pipeline_id": f"The pipeline {pipeline.name!r} has no open "
                                              "stage to start deals in."})
    return stage


def is_rotting(deal: Deal, stage: Stage, now: dt.datetime | None = None) -> bool:
    if deal.status != OPEN or not stage.rotting_days:
        return False
    return deal.stage_entered_at < (now or utcnow()) - dt.timedelta(days=stage.rotting_days)


def line_dict(line: DealLine) -> dict:
    return {"id": line.id, "position": line.position, "product_id": line.product_id,
            "sku": line.sku, "name": line.name, "quantity": line.quantity,
            "unit_price": line.unit_price, "discount_percent": line.discount_percent,
            "tax_rate": line.tax_rate, "net": line.net, "tax": line.tax, "total": line.total}


def deal_dict(deal: Deal, custom: dict | None = None, lines: bool = True,
              now: dt.datetime | None = None) -> dict:
    stage = deal.stage
    out = {
        "id": deal.id, "title": deal.title, "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "stage": {"id": stage.id, "name": stage.name, "kind": stage.kind,
                  "probability": stage.probability},
        "status": deal.status, "customer_id": deal.customer_id, "owner_id": deal.owner_id,
        "team_id": deal.team_id, "lead_id": deal.lead_id, "source": deal.source,
        "territory": deal.territory, "amount": deal.amount, "currency": deal.currency,
        "expected_close": deal.expected_close, "lost_reason": deal.lost_reason,
        "stage_entered_at": deal.stage_entered_at, "won_at": deal.won_at,
        "lost_at": deal.lost_at, "revenue_interaction_id": deal.revenue_interaction_id,
        "rotting": is_rotting(deal, stage, now), "created_by": deal.created_by,
        "created_at": deal.created_at, "updated_at": deal.updated_at,
        "custom": custom if custom is not None else
        custom_fields.load_values(ENTITY, [deal.id]).get(deal.id, {}),
    }
    if lines:
        out["lines"] = [line_dict(line) for line in deal.lines.order_by(DealLine.position)]
        out["pricing"] = deal.pricing
    return out


def deal_dicts(deals: list[Deal]) -> list[dict]:
    custom = custom_fields.load_values(ENTITY, [d.id for d in deals])
    now = utcnow()
    return [deal_dict(d, custom.get(d.id, {}), lines=False, now=now) for d in deals]


SORTS = {"created_at": Deal.created_at, "updated_at": Deal.updated_at}


def list_deals(params: Mapping, max_page_size: int) -> Page:
    query = Deal.select(Deal, Stage).join(Stage)
    for name in ("pipeline_id", "stage_id", "owner_id", "customer_id", "team_id"):
        if params.get(name) is not None:
            query = query.where(getattr(Deal, name) == params[name])
    if params.get("status"):
        query = query.where(Deal.status.in_(str(params["status"]).split(",")))
    if params.get("source"):
        query = query.where(Deal.source == params["source"])
    if params.get("q"):
        query = query.where(Deal.title.contains(params["q"]))
    if params.get("expected_close_from"):
        query = query.where(Deal.expected_close >= params["expected_close_from"])
    if params.get("expected_close_to"):
        query = query.where(Deal.expected_close <= params["expected_close_to"])
    if params.get("rotting"):
        query = query.where(rotting_condition())
    for key, value in (params.get("custom") or {}).items():
        name, _, op = key.partition("__")
        query = query.where(custom_fields.filter_condition(ENTITY, Deal.id, name, op or "eq",
                                                           value))
    query = scoping.visible(query, Deal)
    name, descending = parse_sort(params.get("sort"), SORTS, "-created_at")
    column = SORTS[name]
    return keyset_page(query, column, Deal.id, descending, params.get("cursor"),
                       clamp_limit(params.get("limit"), max_page_size),
                       lambda row: getattr(row, name))


def rotting_condition(now: dt.datetime | None = None):
    """Open deals that sat in their stage longer than the stage allows, as SQL."""
    now = now or utcnow()
    condition = None
    for stage_id, days in (Stage.select(Stage.id, Stage.rotting_days)
                           .where(Stage.rotting_days.is_null(False), Stage.kind == OPEN).tuples()):
        term = (Deal.stage == stage_id) & (Deal.stage_entered_at < now - dt.timedelta(days=days))
        condition = term if condition is None else condition | term
    from peewee import SQL
    return (Deal.status == OPEN) & (condition if condition is not None else SQL("1 = 0"))


def history(deal: Deal) -> list[dict]:
    rows = (StageHistory.select(StageHistory, Stage).join(Stage)
            .where(StageHistory.deal == deal).order_by(StageHistory.entered_at, StageHistory.id))
    return [{"stage_id": h.stage_id, "stage": h.stage.name, "kind": h.stage.kind,
             "pipeline_id": h.pipeline_id, "entered_at": h.entered_at,
             "entered_by": h.entered_by, "left_at": h.left_at, "left_by": h.left_by,
             "seconds": h.seconds} for h in rows]


# -- lines and prices -----------------------------------------------------------------------------

def _customer(deal: Deal) -> Customer | None:
    return Customer.get_or_none(Customer.id == deal.customer_id)


def set_lines(deal: Deal, raw_lines: list) -> None:
    """Replace the deal's lines; the amount becomes their priced total (benefits applied)."""
    lines = quotes.prepare_lines(raw_lines, deal.currency)
    DealLine.delete().where(DealLine.deal == deal).execute()
    if not lines:
        deal.pricing = None
        return
    DealLine.insert_many([{**line, "deal": deal.id} for line in lines]).execute()
    _apply_pricing(deal, lines)


def _stored_lines(deal: Deal) -> list[dict]:
    return [line_dict(line) for line in deal.lines.order_by(DealLine.position)]


def _apply_pricing(deal: Deal, lines: list[dict]) -> dict:
    pricing = quotes.price(lines, deal.currency, _customer(deal))
    deal.amount = pricing["total"]
    deal.pricing = pricing
    return pricing


def reprice(deal: Deal) -> dict:
    """Price the deal afresh (benefits may have changed) and save its amount.

    A deal without lines gets one line from its amount first: a document needs lines, and
    pricing the bare amount again later would apply a discount twice.
    """
    lines = _stored_lines(deal)
    if not lines:
        set_lines(deal, [{"name": deal.title, "quantity": 1, "unit_price": deal.amount}])
        pricing = deal.pricing
    else:
        pricing = _apply_pricing(deal, lines)
    deal.updated_at = utcnow()
    deal.save()
    return pricing


# -- creating and changing ------------------------------------------------------------------------

def _check_customer(customer_id, errors: dict) -> Customer | None:
    """The customer, if it exists and the caller may see it (another owner's customer is as
    missing, exactly as in the customer API)."""
    if customer_id is None:
        errors["customer_id"] = "Missing data for required field."
        return None
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None or not scoping.can_see(customer):
        customer = None
        errors["customer_id"] = f"No customer with id {customer_id}."
    elif customer.merged_into_id is not None:
        errors["customer_id"] = (f"Customer {customer_id} was merged into customer "
                                 f"{customer.merged_into_id}.")
    return customer


def create_deal(data: Mapping, by_user: int | None = None) -> Deal:
    """Create a deal in its pipeline's first open stage (or ``stage_id``) and run that stage's
    automations, as if it had just been moved there."""
    errors: dict = {}
    if data.get("stage_id") is not None:
        stage = get_stage(data["stage_id"])
        pipeline = stage.pipeline
        if data.get("pipeline_id") not in (None, pipeline.id):
            errors["stage_id"] = f"Stage {stage.id} is not in pipeline {data['pipeline_id']}."
    else:
        pipeline = (Pipeline.get_or_none(Pipeline.id == data["pipeline_id"])
                    if data.get("pipeline_id") is not None else default_pipeline())
        if pipeline is None:
            raise ValidationError({"pipeline_id": f"No pipeline with id {data['pipeline_id']}."})
        stage = first_stage(pipeline)
    customer = _check_customer(data.get("customer_id"), errors)
    currency = check_currency(data.get("currency") or pipeline.currency, "currency", errors)
    amount = ZERO
    if data.get("amount") is not None:
        amount = to_decimal(data["amount"], "amount", errors)
        amount = round_money(amount) if amount is not None else ZERO
    owner_id, team_id = data.get("owner_id"), None
    people.check_user(owner_id, "owner_id", errors)
    try:
        custom = custom_fields.validate_values(ENTITY, data.get("custom"), creating=True)
    except ValidationError as exc:
        errors.update(exc.fields)
        custom = {}
    if errors:
        raise ValidationError(errors)
    if owner_id is None and not data.get("auto_assign"):
        owner_id = by_user
    if owner_id is None:
        owner_id, team_id = assignment.pick_owner(data.get("source"), data.get("territory"))
    team_id = team_id or people.team_of(owner_id)
    now = utcnow()
    title = (data.get("title") or "").strip() or customer.name
    deal = Deal.create(
        title=title[:200], pipeline=pipeline, stage=stage, status=stage.kind,
        customer_id=customer.id, owner_id=owner_id, team_id=team_id, lead=data.get("lead_id"),
        source=data.get("source"), territory=data.get("territory"), amount=amount,
        currency=currency, expected_close=data.get("expected_close"),
        lost_reason=data.get("lost_reason"), stage_entered_at=now, created_by=by_user,
        created_at=now, updated_at=now)
    if data.get("lines"):
        set_lines(deal, data["lines"])
        deal.save()
    custom_fields.save_values(ENTITY, deal.id, custom)
    emit("sales.deal.created", {"deal": summary(deal)}, subject=ENTITY, subject_id=deal.id)
    _enter_stage(deal, stage, None, by_user, now)
    return deal


def update_deal(deal: Deal, data: Mapping, by_user: int | None = None) -> tuple[Deal, dict]:
    """Change fields (not the stage: see :func:`move_deal`); returns the changes."""
    errors: dict = {}
    changes: dict = {}
    has_lines = deal.lines.exists()
    for key in SIMPLE_FIELDS:
        if key in data and data[key] != getattr(deal, key):
            changes[key] = [getattr(deal, key), data[key]]
    if "title" in changes and not (data["title"] or "").strip():
        errors["title"] = "Must not be empty."
    if "customer_id" in data and data["customer_id"] != deal.customer_id:
        _check_customer(data["customer_id"], errors)
        changes["customer_id"] = [deal.customer_id, data["customer_id"]]
    if "owner_id" in data and data["owner_id"] != deal.owner_id:
        people.check_user(data["owner_id"], "owner_id", errors)
        changes["owner_id"] = [deal.owner_id, data["owner_id"]]
    if "currency" in data:
        currency = check_currency(data["currency"], "currency", errors)
        if currency and currency != deal.currency:
            if has_lines and "lines" not in data:
                errors["currency"] = ("The deal has lines priced in its currency; send new lines "
                                      "too.")
            changes["currency"] = [deal.currency, currency]
    if "amount" in data and data["amount"] is not None:
        if has_lines or data.get("lines"):
            errors["amount"] = "The amount is the total of the deal's lines; change the lines."
        else:
            amount = to_decimal(data["amount"], "amount", errors)
            if amount is not None and round_money(amount) != deal.amount:
                changes["amount"] = [deal.amount, round_money(amount)]
    custom = {}
    if "custom" in data:
        try:
            custom = custom_fields.validate_values(ENTITY, data["custom"], creating=False)
        except ValidationError as exc:
            errors.update(exc.fields)
        old = custom_fields.load_values(ENTITY, [deal.id]).get(deal.id, {})
        for name, value in custom.items():
            if old.get(name) != value:
                changes[f"custom.{name}"] = [old.get(name), value]
    if errors:
        raise ValidationError(errors)
    for key, (_, new) in changes.items():
        if not key.startswith("custom."):
            setattr(deal, key, new.strip() if key == "title" else new)
    if "owner_id" in changes:
        deal.team_id = people.team_of(deal.owner_id)
    if "customer_id" in changes and has_lines:
        _apply_pricing(deal, _stored_lines(deal))  # another customer, other benefits
    if "lines" in data:
        before = deal.amount
        set_lines(deal, data["lines"] or [])
        changes["lines"] = [None, len(data["lines"] or [])]
        if deal.amount != before:
            changes["amount"] = [before, deal.amount]
    custom_fields.save_values(ENTITY, deal.id, custom)
    if changes:
        deal.updated_at = utcnow()
        deal.save()
        emit("sales.deal.updated", {"deal": summary(deal), "changes": changes,
                                    "by": by_user}, subject=ENTITY, subject_id=deal.id)
    return deal, changes


def delete_deal(deal: Deal) -> None:
    if deal.revenue_interaction_id is not None:
        raise Conflict(f"Deal {deal.id} was won and is revenue; it cannot be deleted.")
    custom_fields.delete_values(ENTITY, deal.id)
    emit("sales.deal.deleted", {"deal": summary(deal)}, subject=ENTITY, subject_id=deal.id)
    deal.delete_instance(recursive=True)


def summary(deal: Deal) -> dict:
    return {"id": deal.id, "title": deal.title, "pipeline_id": deal.pipeline_id,
            "stage_id": deal.stage_id, "status": deal.status, "customer_id": deal.customer_id,
            "owner_id": deal.owner_id, "amount": deal.amount, "currency": deal.currency,
            "source": deal.source}


# -- moving ---------------------------------------------------------------------------------------

def move_deal(deal: Deal, stage_id: int, by_user: int | None = None,
              lost_reason: str | None = None) -> dict:
    """Move ``deal`` into stage ``stage_id``; returns what the stage's automations made.

    Moving into the stage it is in changes nothing. A lost stage needs a reason (given here or
    already on the deal).
    """
    stage = get_stage(stage_id)
    if stage.id == deal.stage_id:
        return {"tasks": [], "documents": [], "notifications": 0, "events": [], "moved": False}
    if lost_reason is not None:
        deal.lost_reason = lost_reason.strip() or None
    previous = deal.stage
    made = _enter_stage(deal, stage, previous, by_user, utcnow())
    made["moved"] = True
    return made


def _enter_stage(deal: Deal, stage: Stage, previous: Stage | None, by_user: int | None,
                 now: dt.datetime) -> dict:
    automations = automation.automations_of(stage)
    if stage.kind == LOST and not deal.lost_reason:
        raise ValidationError({"lost_reason": "Say why the deal was lost."},
                              message=f"Moving into {stage.name!r} needs a lost reason.")
    automation.check_required(deal, stage, automations)
    if previous is not None:
        StageHistory.update(left_at=now, left_by=by_user,
                            seconds=max(0, int((now - deal.stage_entered_at).total_seconds()))
                            ).where(StageHistory.deal == deal,
                                    StageHistory.left_at.is_null()).execute()
    StageHistory.create(deal=deal, pipeline_id=stage.pipeline_id, stage=stage, entered_at=now,
                        entered_by=by_user)
    deal.stage = stage
    deal.pipeline = stage.pipeline_id
    deal.status = stage.kind
    deal.stage_entered_at = now
    deal.updated_at = now
    if stage.kind == WON and deal.won_at is None:
        deal.won_at = now
    if stage.kind == LOST:
        deal.lost_at = now
    if stage.kind == WON:
        _record_revenue(deal, now)
    deal.save()
    made = automation.run(deal, stage, previous, automations, by_user, now)
    if previous is not None:
        emit("sales.deal.stage_changed", {
            "deal": summary(deal), "by": by_user,
            "from_stage": {"id": previous.id, "name": previous.name, "kind": previous.kind},
            "to_stage": {"id": stage.id, "name": stage.name, "kind": stage.kind},
            "tasks": made["tasks"], "documents": made["documents"]},
            subject=ENTITY, subject_id=deal.id)
        pm = _pm()
        if pm is not None:
            pm.hook.sales_deal_stage_changed(deal=deal, old_stage=previous, new_stage=stage)
    return made


def _record_revenue(deal: Deal, now: dt.datetime) -> None:
    """A won deal is a purchase on the customer's timeline, once: the interaction's external id
    is the deal's, so winning the deal again finds the first record instead of adding one."""
    from crmkit.customers.service import MergedAway
    from crmkit.customers.timeline import record_interaction
    stored = _stored_lines(deal)
    lines = [{"sku": line["sku"], "name": line["name"], "quantity": line["quantity"],
              "unit_price": line["unit_price"]} for line in stored] or [
        {"name": deal.title, "quantity": 1, "unit_price": deal.amount}]
    data = {"type": "purchase", "amount": deal.amount, "currency": deal.currency,
            "lines": lines, "occurred_at": now, "channel": "sales", "direction": "inbound",
            "summary": f"Won deal: {deal.title}", "external_id": f"deal:{deal.id}:won",
            "payload": {"deal_id": deal.id, "pipeline_id": deal.pipeline_id,
                        "source": deal.source, "owner_id": deal.owner_id,
                        "pricing": json.loads(dumps(deal.pricing))}}
    with people.seeing_all():
        try:
            interaction = record_interaction(deal.customer_id, data, source=REVENUE_SOURCE)
        except MergedAway as exc:
            deal.customer_id = exc.survivor_id
            interaction = record_interaction(deal.customer_id, data, source=REVENUE_SOURCE)
    if deal.revenue_interaction_id is None:
        deal.revenue_interaction_id = interaction.id
        pm = _pm()
        if pm is not None:
            pm.hook.sales_deal_won(deal=deal, interaction=interaction)
