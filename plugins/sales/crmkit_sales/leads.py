"""Leads (potential customers) and the public web-form intake.

Converting a lead finds the kernel customer holding its email or phone, or creates one, so a
person who enquires twice is never two customers; it then opens a deal. A web-form submission does
all of it at once: lead, customer, deal in the pipeline's first stage (whose automations usually
create the first task) and, if they did not, the form's own first task.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

import peewee
from flask import current_app, has_app_context

from crmkit.auth import scoping
from crmkit.customers.contacts import normalize_email, normalize_phone
from crmkit.db import database, utcnow
from crmkit.errors import Conflict, CrmkitError, NotFound, Unauthorized, ValidationError
from crmkit.events import emit
from crmkit.pagination import Page, clamp_limit, keyset_page

from crmkit_sales import assignment, automation, people, templating
from crmkit_sales.models import LEAD_STATUSES, Lead, Pipeline, Task, WebForm

UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
EDITABLE = ("first_name", "last_name", "name", "company", "email", "phone", "source", "territory",
            "notes", "message", "owner_id") + UTM
HONEYPOT = "website"  # a field people never see; bots fill it in
_KEY = re.compile(r"^wf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_DUMMY = hashlib.sha256(b"no such form").hexdigest()


class RateLimited(CrmkitError):
    status = 429


def _region():
    return current_app.config.get("CRMKIT_DEFAULT_PHONE_REGION") if has_app_context() else None


def _clean(data: Mapping, errors: dict) -> dict:
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()
             if k in EDITABLE}
    clean = {k: (None if v == "" else v) for k, v in clean.items()}
    if clean.get("email"):
        clean["email"], problem = normalize_email(clean["email"])
        if problem:
            errors["email"] = problem
    if clean.get("phone"):
        clean["phone"], problem = normalize_phone(clean["phone"], _region())
        if problem:
            errors["phone"] = problem
    if clean.get("owner_id") is not None:
        people.check_user(clean["owner_id"], "owner_id", errors)
    return clean


def _display_name(data: Mapping) -> str | None:
    parts = [data.get("first_name") or "", data.get("last_name") or ""]
    return (" ".join(p for p in parts if p) or data.get("name") or data.get("company")
            or data.get("email") or data.get("phone"))


# -- leads ----------------------------------------------------------------------------------------

def get_lead(lead_id: int) -> Lead:
    return scoping.get_visible(Lead, lead_id, label="lead")


def create_lead(data: Mapping, by_user: int | None = None, form: WebForm | None = None) -> Lead:
    errors: dict = {}
    clean = _clean(data, errors)
    name = _display_name(clean)
    if not name:
        errors["name"] = "Give a name, a company, an email or a phone number."
    if errors:
        raise ValidationError(errors)
    owner_id, team_id = clean.pop("owner_id", None), None
    if owner_id is None and not data.get("auto_assign"):
        owner_id = by_user
    if owner_id is None:
        owner_id, team_id = assignment.pick_owner(clean.get("source"), clean.get("territory"))
    clean["name"] = name[:300]
    now = utcnow()
    lead = Lead.create(**clean, owner_id=owner_id, team_id=team_id or people.team_of(owner_id),
                       form=form, created_at=now, updated_at=now)
    emit("sales.lead.created", lead_summary(lead), subject="sales.lead", subject_id=lead.id)
    return lead


def update_lead(lead: Lead, data: Mapping) -> Lead:
    if lead.status == "converted":
        raise Conflict(f"Lead {lead.id} was converted; change the customer or the deal instead.")
    errors: dict = {}
    clean = _clean(data, errors)
    if "status" in data:
        if data["status"] not in ("new", "contacted"):
            errors["status"] = "Set 'new' or 'contacted' here; qualify, convert and disqualify " \
                               "have their own actions."
        clean["status"] = data["status"]
    if errors:
        raise ValidationError(errors)
    for key, value in clean.items():
        setattr(lead, key, value)
    if {"first_name", "last_name", "name", "company"} & set(clean):
        lead.name = (_display_name({k: getattr(lead, k) for k in
                                    ("first_name", "last_name", "name", "company", "email",
                                     "phone")}) or lead.name)[:300]
    if "owner_id" in clean:
        lead.team_id = people.team_of(lead.owner_id)
    lead.updated_at = utcnow()
    lead.save()
    return lead


def qualify_lead(lead: Lead) -> Lead:
    if lead.status in ("converted", "disqualified"):
        raise Conflict(f"Lead {lead.id} is {lead.status}.")
    lead.status, lead.qualified_at, lead.updated_at = "qualified", utcnow(), utcnow()
    lead.save()
    emit("sales.lead.qualified", lead_summary(lead), subject="sales.lead", subject_id=lead.id)
    return lead


def disqualify_lead(lead: Lead, reason: str) -> Lead:
    if lead.status == "converted":
        raise Conflict(f"Lead {lead.id} was converted already.")
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the lead is disqualified."})
    lead.status, lead.disqualify_reason = "disqualified", reason.strip()[:300]
    lead.updated_at = utcnow()
    lead.save()
    emit("sales.lead.disqualified", {**lead_summary(lead), "reason": lead.disqualify_reason},
         subject="sales.lead", subject_id=lead.id)
    return lead


def _customer_for(lead: Lead):
    """The existing customer with the lead's email or phone, or a new one."""
    from crmkit.customers.service import MergedAway, create_customer, find_by_contact, get_customer
    found = find_by_contact(email=lead.email, phone=lead.phone)
    if found is not None:
        try:
            return get_customer(found.id), False
        except MergedAway as exc:
            return get_customer(exc.survivor_id), False
    person = bool(lead.first_name or lead.last_name) or not lead.company
    data = {"kind": "person" if person else "company", "email": lead.email,
            "phone": lead.phone, "status": "prospect", "source_channel": lead.source,
            "owner_id": lead.owner_id, **{k: getattr(lead, k) for k in UTM}}
    if person:
        data.update(first_name=lead.first_name, last_name=lead.last_name,
                    name=None if (lead.first_name or lead.last_name) else lead.name)
    else:
        data["name"] = lead.company
    try:
        with database.atomic():  # a savepoint: a concurrent twin must not abort the transaction
            return create_customer({k: v for k, v in data.items() if v is not None},
                                   source="sales"), True
    except (peewee.IntegrityError, ValidationError):
        # Another request created the customer for this email a moment ago: use theirs.
        found = find_by_contact(email=lead.email, phone=lead.phone)
        if found is None:
            raise
        return found, False


def convert_lead(lead: Lead, data: Mapping | None = None, by_user: int | None = None) -> dict:
    """Lead -> kernel customer (found by email/phone, or created) + deal. Returns the three."""
    from crmkit_sales.deals import create_deal
    data = dict(data or {})
    if lead.status == "converted":
        raise Conflict(f"Lead {lead.id} was converted already (deal {lead.deal_id}).")
    if lead.status == "disqualified":
        raise Conflict(f"Lead {lead.id} was disqualified; set it back to 'new' to convert it.")
    with people.seeing_all():
        customer, created = _customer_for(lead)
    deal_data = {"customer_id": customer.id,
                 "title": data.get("title") or (lead.company or lead.name),
                 "owner_id": data.get("owner_id", lead.owner_id), "source": lead.source,
                 "territory": lead.territory, "lead_id": lead.id}
    for key in ("pipeline_id", "stage_id", "amount", "currency", "expected_close", "lines",
                "custom"):
        if data.get(key) is not None:
            deal_data[key] = data[key]
    with people.seeing_all():  # the deal goes with the customer found, whoever owns it
        deal = create_deal(deal_data, by_user)
    now = utcnow()
    lead.status, lead.customer_id, lead.deal_id = "converted", customer.id, deal.id
    lead.converted_at = lead.updated_at = now
    lead.qualified_at = lead.qualified_at or now
    lead.save()
    emit("sales.lead.converted", {**lead_summary(lead), "customer_created": created},
         subject="sales.lead", subject_id=lead.id)
    return {"lead": lead, "customer": customer, "customer_created": created, "deal": deal}


def lead_summary(lead: Lead) -> dict:
    return {"id": lead.id, "name": lead.name, "source": lead.source, "status": lead.status,
            "owner_id": lead.owner_id, "customer_id": lead.customer_id, "deal_id": lead.deal_id}


def lead_dict(lead: Lead) -> dict:
    return {**lead_summary(lead), "first_name": lead.first_name, "last_name": lead.last_name,
            "company": lead.company, "email": lead.email, "phone": lead.phone,
            **{k: getattr(lead, k) for k in UTM}, "territory": lead.territory,
            "team_id": lead.team_id, "notes": lead.notes, "message": lead.message,
            "disqualify_reason": lead.disqualify_reason, "form_id": lead.form_id,
            "created_at": lead.created_at, "updated_at": lead.updated_at,
            "qualified_at": lead.qualified_at, "converted_at": lead.converted_at}


def list_leads(params: Mapping, max_page_size: int) -> Page:
    query = Lead.select()
    if params.get("status"):
        statuses = str(params["status"]).split(",")
        bad = [s for s in statuses if s not in LEAD_STATUSES]
        if bad:
            raise ValidationError({"status": f"One of: {', '.join(LEAD_STATUSES)}."},
                                  location="query")
        query = query.where(Lead.status.in_(statuses))
    for name in ("source", "owner_id", "utm_campaign", "territory"):
        if params.get(name) is not None:
            query = query.where(getattr(Lead, name) == params[name])
    if params.get("q"):
        q = params["q"]
        query = query.where(Lead.name.contains(q) | Lead.email.contains(q)
                            | Lead.company.contains(q))
    query = scoping.visible(query, Lead)
    return keyset_page(query, Lead.created_at, Lead.id, True, params.get("cursor"),
                       clamp_limit(params.get("limit"), max_page_size), lambda r: r.created_at)


# -- web forms ------------------------------------------------------------------------------------

def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_form(data: Mapping, errors: dict, form_id: int | None = None) -> None:
    if "name" in data and WebForm.select().where(WebForm.name == data["name"],
                                                 WebForm.id != (form_id or 0)).exists():
        errors["name"] = "A form with this name exists already."
    if "pipeline_id" in data and not Pipeline.select().where(
            Pipeline.id == data["pipeline_id"]).exists():
        errors["pipeline_id"] = f"No pipeline with id {data['pipeline_id']}."
    if data.get("owner_id") is not None:
        people.check_user(data["owner_id"], "owner_id", errors)
    if "task_due" in data:
        try:
            automation.check_due(data["task_due"], "task_due")
        except ValidationError as exc:
            errors.update(exc.fields)
    if "task_title" in data:
        try:
            templating.check(data["task_title"], "task_title", FORM_SAMPLE, html=False)
        except ValidationError as exc:
            errors.update(exc.fields)
    if "rate_limit" in data:
        from limits import parse
        try:
            parse(data["rate_limit"])
        except ValueError:
            errors["rate_limit"] = "Like '20 per minute' or '100 per hour'."


FORM_SAMPLE = {"lead": {"id": 1, "name": "Sample", "email": "a@example.com", "phone": "+44",
                        "company": "Co", "message": "Hello", "source": "web", "status": "new",
                        "owner_id": 1, "customer_id": 1, "deal_id": 1},
               "deal": {"id": 1, "title": "Sample"}}


def create_form(data: Mapping) -> tuple[WebForm, str]:
    """A form and its key (``wf_<prefix>_<secret>``), which is shown this once."""
    errors: dict = {}
    _check_form(data, errors)
    if errors:
        raise ValidationError(errors)
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    fields = {k: data[k] for k in ("name", "source", "owner_id", "task_title", "task_due",
                                   "rate_limit", "active") if k in data}
    form = WebForm.create(**fields, pipeline=data["pipeline_id"], key_prefix=prefix,
                          key_hash=_hash(secret))
    return form, f"wf_{prefix}_{secret}"


def rotate_form_key(form: WebForm) -> str:
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    form.key_prefix, form.key_hash = prefix, _hash(secret)
    form.save()
    return f"wf_{prefix}_{secret}"


def update_form(form: WebForm, data: Mapping) -> WebForm:
    errors: dict = {}
    _check_form(data, errors, form.id)
    if errors:
        raise ValidationError(errors)
    for key, value in data.items():
        setattr(form, "pipeline" if key == "pipeline_id" else key, value)
    form.save()
    return form


def get_form(form_id: int) -> WebForm:
    form = WebForm.get_or_none(WebForm.id == form_id)
    if form is None:
        raise NotFound(f"No web form with id {form_id}.")
    return form


def form_dict(form: WebForm) -> dict:
    return {"id": form.id, "name": form.name, "key_prefix": form.key_prefix,
            "pipeline_id": form.pipeline_id, "source": form.source, "owner_id": form.owner_id,
            "task_title": form.task_title, "task_due": form.task_due,
            "rate_limit": form.rate_limit, "active": form.active, "created_at": form.created_at}


def form_for_key(key: str | None) -> WebForm:
    match = _KEY.match(key or "")
    form = WebForm.get_or_none(WebForm.key_prefix == match.group(1)) if match else None
    expected = form.key_hash if form is not None else _DUMMY
    ok = hmac.compare_digest(expected, _hash(match.group(2) if match else key or ""))
    if not ok or form is None or not form.active:
        raise Unauthorized("The form key is not valid.")
    return form


def _within_rate(form: WebForm) -> None:
    if not has_app_context() or "crmkit_limiter" not in current_app.extensions:
        return
    from limits import parse
    limiter = current_app.extensions["crmkit_limiter"].limiter
    if not limiter.hit(parse(form.rate_limit), "sales-web-form", str(form.id)):
        raise RateLimited(f"This form takes at most {form.rate_limit}; try again shortly.")


def submit_form(key: str | None, data: Mapping, now: dt.datetime | None = None) -> dict:
    """A public enquiry: lead, customer, deal and first task in one transaction.

    A filled-in honeypot is answered like a success but stores nothing, so bots learn nothing.
    """
    form = form_for_key(key)
    _within_rate(form)
    if str(data.get(HONEYPOT) or "").strip():
        return {"status": "received", "stored": False}
    with people.as_operator():
        return _intake(form, data, now)


def _intake(form: WebForm, data: Mapping, now: dt.datetime | None) -> dict:
    fields = {k: data.get(k) for k in ("first_name", "last_name", "name", "company", "email",
                                       "phone", "message", "territory") + UTM}
    if not (fields.get("email") or fields.get("phone")):
        raise ValidationError({"email": "Give an email address or a phone number."})
    fields["source"] = form.source
    fields["owner_id"] = form.owner_id
    lead = create_lead({k: v for k, v in fields.items() if v is not None}, by_user=None,
                       form=form)
    converted = convert_lead(lead, {"pipeline_id": form.pipeline_id,
                                    "title": data.get("subject") or None})
    deal = converted["deal"]
    from crmkit.customers.timeline import record_interaction
    record_interaction(deal.customer_id, {
        "type": "web_form", "channel": "web", "direction": "inbound",
        "summary": (lead.message or "Web enquiry")[:2000], "external_id": f"lead:{lead.id}",
        "payload": {"form": form.name, "lead_id": lead.id, "deal_id": deal.id,
                    **{k: getattr(lead, k) for k in UTM if getattr(lead, k)}}}, source="sales")
    first = Task.select().where(Task.deal == deal).order_by(Task.due_at).first()
    if first is None:
        now = now or utcnow()
        title = templating.render_text(form.task_title, {
            "lead": lead_summary(lead) | {"email": lead.email, "phone": lead.phone,
                                          "company": lead.company, "message": lead.message},
            "deal": {"id": deal.id, "title": deal.title}})
        first = Task.create(kind="call", title=title[:300],
                            due_at=automation.due_at(form.task_due, now),
                            assignee_id=deal.owner_id, deal=deal, customer_id=deal.customer_id,
                            created_at=now, updated_at=now)
    emit("sales.lead.received", {"lead_id": lead.id, "deal_id": deal.id, "task_id": first.id,
                                 "form": form.name}, subject="sales.lead", subject_id=lead.id)
    return {"status": "received", "stored": True, "lead": lead, "deal": deal, "task": first}
