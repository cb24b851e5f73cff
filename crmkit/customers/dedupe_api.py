"""HTTP door to duplicate candidates (``/customers/duplicates``) and merging (``.../merge``)."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.auth.declare import protect, requires
from crmkit.customers.duplicates import RULES, find_duplicates
from crmkit.customers.merge import merge_customers
from crmkit.customers.profile import customer_record
from crmkit.customers.schemas import CustomerOut, PageArgs

blp = protect(Blueprint("customer_duplicates", __name__,
                        description="Duplicate candidates and merging customers"),
              read="customers:read", write="customers:merge")


class DuplicateArgs(PageArgs):
    rule = f.String(metadata={"description": f"One rule or a comma list of: {', '.join(RULES)}"})
    customer_id = f.Integer(metadata={"description": "Only candidates this customer is part of"})

    @ma.validates_schema(pass_original=True)
    def no_unknown_filters(self, data, original, **kwargs):
        # Query strings drop unknown names by default; a misspelt filter must not pass unseen.
        unknown = [k for k in original if k not in self.fields]
        if unknown:
            raise ma.ValidationError({k: ["Unknown filter."] for k in unknown})


class CandidateCustomer(ma.Schema):
    id = f.Integer()
    kind = f.String()
    name = f.String()
    email = f.String(allow_none=True)
    phone = f.String(allow_none=True)
    status = f.String()
    company_id = f.Integer(allow_none=True)
    owner_id = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()
    interactions = f.Integer(metadata={"description": "Length of the customer's timeline"})


class CandidateOut(ma.Schema):
    rule = f.String(metadata={"description": ", ".join(RULES)})
    match = f.String(metadata={"description": "What the customers share: the mailbox (case, "
                                              "+tag and Gmail dots set aside), the E.164 number, "
                                              "or the name"})
    company_id = f.Integer(allow_none=True, metadata={"description": "For the name rule"})
    customer_ids = f.List(f.Integer())
    customers = f.List(f.Nested(CandidateCustomer))
    suggested_survivor_id = f.Integer(metadata={"description": "The longest timeline, then the "
                                                               "oldest record"})


class CandidatePage(ma.Schema):
    items = f.List(f.Nested(CandidateOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


class MergeIn(ma.Schema):
    duplicate_id = f.Integer(required=True, strict=True, validate=v.Range(min=1),
                             metadata={"description": "The customer folded into this one"})


class MergeOut(ma.Schema):
    survivor = f.Nested(CustomerOut)
    merged_id = f.Integer()
    moved = f.Dict(keys=f.String(), values=f.Integer(),
                   metadata={"description": "How many interactions, tags, custom values, emails, "
                                            "phones and people moved to the survivor"})
    changes = f.Dict(metadata={"description": "The survivor's fields that changed: "
                                              "{field: [old, new]}"})


@blp.route("/customers/duplicates")
class Duplicates(MethodView):
    @blp.arguments(DuplicateArgs, location="query")
    @blp.response(200, CandidatePage)
    def get(self, args):
        """Duplicate candidates: customers sharing a mailbox or a phone number, and people of one
        company with similar names. Ordered by rule, then match; pages follow ``next_cursor``."""
        page = find_duplicates(args, int(current_app.config["CRMKIT_MAX_PAGE_SIZE"]))
        return {"items": [c.as_dict() for c in page.items], "next_cursor": page.next_cursor,
                "limit": page.limit}


@blp.route("/customers/<int:customer_id>/merge")
class Merge(MethodView):
    @requires("customers:merge")
    @blp.arguments(MergeIn)
    @blp.response(200, MergeOut)
    def post(self, data, customer_id):
        """Fold ``duplicate_id`` into this customer: its timeline, tags, custom values this one
        lacks, emails, phones, people and every plugin's records move here. The duplicate's id
        then answers 404 with ``merged_into``. Merging into itself or an unknown duplicate is a
        422; either customer already merged away is a 409."""
        result = merge_customers(customer_id, data["duplicate_id"])
        return {"survivor": customer_record(result.survivor), "merged_id": result.merged.id,
                "moved": result.moved, "changes": result.changes}
