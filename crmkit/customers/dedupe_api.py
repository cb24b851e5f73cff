"""HTTP door to duplicate candidates (``/customers/duplicates``), pairs marked not duplicates
(``/customers/duplicates/not-duplicates``) and merging (``.../merge``)."""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.auth.declare import protect, requires
from crmkit.customers import not_duplicates
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


class NotDuplicateArgs(PageArgs):
    customer_id = f.Integer(metadata={"description": "Only pairs this customer is in"})


class NotDuplicateIn(ma.Schema):
    customer_ids = f.List(f.Integer(strict=True, validate=v.Range(min=1)), required=True,
                          validate=v.Length(equal=2), metadata={
                              "description": "The two customers, in any order"})


class NotDuplicateOut(ma.Schema):
    customer_ids = f.List(f.Integer(), metadata={"description": "The pair, lower id first"})
    created_by = f.Integer(allow_none=True, metadata={"description": "Who marked it (user id)"})
    created_at = f.AwareDateTime()


class NotDuplicatePage(ma.Schema):
    items = f.List(f.Nested(NotDuplicateOut))
    next_cursor = f.String(allow_none=True)
    limit = f.Integer()


@blp.route("/customers/duplicates/not-duplicates")
class NotDuplicates(MethodView):
    @blp.arguments(NotDuplicateArgs, location="query")
    @blp.response(200, NotDuplicatePage)
    def get(self, args):
        """Pairs marked as not duplicates, newest first; pages follow ``next_cursor``."""
        page = not_duplicates.list_marks(args, int(current_app.config["CRMKIT_MAX_PAGE_SIZE"]))
        return {"items": [not_duplicates.mark_dict(m) for m in page.items],
                "next_cursor": page.next_cursor, "limit": page.limit}

    @blp.arguments(NotDuplicateIn)
    @blp.response(201, NotDuplicateOut)
    @blp.alt_response(200, schema=NotDuplicateOut, description="The pair was marked already")
    def post(self, data):
        """Mark two customers as not duplicates: candidates no longer pair them. 201 for a new
        mark, 200 when marked already; 404 for an unknown (or merged) customer, 422 for one
        customer twice. The mark goes when either customer is merged away or erased."""
        row, created = not_duplicates.mark(*data["customer_ids"])
        return not_duplicates.mark_dict(row), 201 if created else 200


@blp.route("/customers/duplicates/not-duplicates/<int:customer_id>/<int:other_id>")
class NotDuplicateItem(MethodView):
    @blp.response(204)
    def delete(self, customer_id, other_id):
        """Remove the mark (either order): the pair may be offered as duplicates again."""
        not_duplicates.unmark(customer_id, other_id)


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
