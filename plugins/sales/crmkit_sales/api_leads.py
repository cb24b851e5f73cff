"""HTTP door to leads, web forms and the public web-form intake."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth import scoping
from crmkit.auth.declare import protect, public

from crmkit_sales import deals, leads
from crmkit_sales import schemas as s
from crmkit_sales.api_common import by_user, max_page, page
from crmkit_sales.models import Lead

blp = protect(Blueprint("sales_leads", __name__, description="Leads: potential customers"),
              read="sales.leads:read", write="sales.leads:write")
forms_blp = protect(Blueprint("sales_forms", __name__,
                              description="Web forms and their public intake"),
                    read="sales.forms:manage", write="sales.forms:manage")

REASSIGN = "sales.deals:reassign"


@blp.route("/leads")
class Leads(MethodView):
    @blp.arguments(s.SalesLeadListArgs, location="query")
    @blp.response(200, s.SalesLeadPage)
    def get(self, args):
        """Leads you may see, newest first."""
        return page(leads.list_leads(args, max_page()),
                    lambda rows: [leads.lead_dict(r) for r in rows])

    @blp.arguments(s.SalesLeadIn)
    @blp.response(201, s.SalesLeadOut)
    def post(self, data):
        """Record a lead with its source and UTM fields."""
        if "owner_id" in data:
            data = scoping.assign_owner(data, Lead, REASSIGN, creating=True)
        return leads.lead_dict(leads.create_lead(data, by_user()))


@blp.route("/leads/<int:lead_id>")
class LeadItem(MethodView):
    @blp.response(200, s.SalesLeadOut)
    def get(self, lead_id):
        return leads.lead_dict(leads.get_lead(lead_id))

    @blp.arguments(s.SalesLeadPatch)
    @blp.response(200, s.SalesLeadOut)
    def patch(self, data, lead_id):
        lead = leads.get_lead(lead_id)
        if "owner_id" in data:
            data = scoping.assign_owner(data, Lead, REASSIGN, current_owner=lead.owner_id)
        return leads.lead_dict(leads.update_lead(lead, data))


@blp.route("/leads/<int:lead_id>/qualify")
class LeadQualify(MethodView):
    @blp.response(200, s.SalesLeadOut)
    def post(self, lead_id):
        return leads.lead_dict(leads.qualify_lead(leads.get_lead(lead_id)))


@blp.route("/leads/<int:lead_id>/convert")
class LeadConvert(MethodView):
    @blp.arguments(s.SalesConvertIn)
    @blp.response(201, s.SalesConvertOut)
    def post(self, data, lead_id):
        """Turn the lead into a customer (the existing one with its email or phone, never a
        duplicate) and a deal."""
        result = leads.convert_lead(leads.get_lead(lead_id), data, by_user())
        return {"lead": leads.lead_dict(result["lead"]), "customer_id": result["customer"].id,
                "customer_created": result["customer_created"],
                "deal": deals.deal_dict(result["deal"])}


@blp.route("/leads/<int:lead_id>/disqualify")
class LeadDisqualify(MethodView):
    @blp.arguments(s.SalesDisqualifyIn)
    @blp.response(200, s.SalesLeadOut)
    def post(self, data, lead_id):
        return leads.lead_dict(leads.disqualify_lead(leads.get_lead(lead_id), data["reason"]))


# -- web forms ------------------------------------------------------------------------------------

@forms_blp.route("/forms")
class Forms(MethodView):
    @forms_blp.response(200, s.SalesFormOut(many=True))
    def get(self):
        from crmkit_sales.models import WebForm
        return [leads.form_dict(f) for f in WebForm.select().order_by(WebForm.id)]

    @forms_blp.arguments(s.SalesFormIn)
    @forms_blp.response(201, s.SalesFormOut)
    def post(self, data):
        """Create a web form; the answer holds its key (shown once). Put the key in the page's
        form: it can only submit enquiries to this form, nothing else."""
        form, key = leads.create_form(data)
        return {**leads.form_dict(form), "key": key}


@forms_blp.route("/forms/<int:form_id>")
class FormItem(MethodView):
    @forms_blp.response(200, s.SalesFormOut)
    def get(self, form_id):
        return leads.form_dict(leads.get_form(form_id))

    @forms_blp.arguments(s.SalesFormPatch)
    @forms_blp.response(200, s.SalesFormOut)
    def patch(self, data, form_id):
        return leads.form_dict(leads.update_form(leads.get_form(form_id), data))


@forms_blp.route("/forms/<int:form_id>/rotate-key")
class FormKey(MethodView):
    @forms_blp.response(200, s.SalesFormOut)
    def post(self, form_id):
        """A new key for the form; the old one stops working at once."""
        form = leads.get_form(form_id)
        key = leads.rotate_form_key(form)
        return {**leads.form_dict(form), "key": key}


@forms_blp.route("/intake")
class Intake(MethodView):
    @public
    @forms_blp.doc(security=[])
    @forms_blp.arguments(s.SalesSubmissionIn)
    @forms_blp.response(201, s.SalesSubmissionOut)
    def post(self, data):
        """A web enquiry (public: authenticated by the form's key in ``X-Form-Key`` or
        ``form_key``, rate-limited per form). Creates the lead, the customer, the deal and its
        first task at once. Leave ``website`` empty: it is a trap for bots."""
        key = request.headers.get("X-Form-Key") or data.pop("form_key", None)
        data.pop("form_key", None)
        result = leads.submit_form(key, data)
        return {"status": result["status"]}
