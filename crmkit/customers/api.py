"""HTTP door to customers, companies, the timeline, tags and custom fields."""
from __future__ import annotations

import marshmallow as ma
import peewee
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit import custom_fields
from crmkit.auth.declare import protect, requires
from crmkit.customers import schemas as s
from crmkit.customers.profile import build_profile, customer_record, customer_records
from crmkit.customers.models import COMPANY
from crmkit.customers.search import list_customers
from crmkit.customers.service import (TryAgain, create_customer, delete_customer, gave_up_waiting,
                                      get_customer, update_customer)
from crmkit.customers.tags import create_tag, delete_tag, list_tags
from crmkit.customers.timeline import (interaction_dict, interaction_types, list_interactions,
                                       record_interaction)
from crmkit.errors import NotFound, handle_crmkit_error, handle_database_unavailable

blp = protect(Blueprint("customers", __name__,
                        description="Customers, companies and their timelines"),
              read="customers:read", write="customers:write")
meta = protect(Blueprint("customer_settings", __name__,
                         description="Tags, custom fields and interaction types"),
               read="customers:read", write="settings:manage")


@blp.errorhandler(peewee.OperationalError)
def _gave_up_waiting(exc):
    """A deadlock PostgreSQL broke anywhere in these requests (the service turns those it can
    foresee into TryAgain itself) is the same retryable 409, not "database unavailable"."""
    if gave_up_waiting(exc):
        return handle_crmkit_error(TryAgain())
    return handle_database_unavailable(exc)


def _max_page() -> int:
    return int(current_app.config["CRMKIT_MAX_PAGE_SIZE"])


def _page(page, dump):
    return {"items": dump(page.items), "next_cursor": page.next_cursor, "limit": page.limit}


@blp.route("/customers")
class Customers(MethodView):
    # INCLUDE: webargs drops unknown query keys by default, and custom.<name> filters are keys
    # only the schema's validator knows how to check.
    @blp.arguments(s.CustomerListArgs, location="query", unknown=ma.INCLUDE)
    @blp.response(200, s.CustomerPage)
    def get(self, args):
        """List customers: filter, search, sort; pages follow ``next_cursor``."""
        return _page(list_customers(args, _max_page()), customer_records)

    @blp.arguments(s.CustomerIn)
    @blp.response(201, s.CustomerOut)
    def post(self, data):
        """Create a person or a company."""
        return customer_record(create_customer(data))


@blp.route("/customers/<int:customer_id>")
class CustomerItem(MethodView):
    @blp.response(200, s.CustomerOut)
    def get(self, customer_id):
        """One customer. A merged id answers 404 naming the survivor in ``merged_into``."""
        return customer_record(get_customer(customer_id))

    @blp.arguments(s.CustomerPatch)
    @blp.response(200, s.CustomerOut)
    def patch(self, data, customer_id):
        """Change some fields; lists (emails, phones, tags) are replaced whole."""
        return customer_record(update_customer(customer_id, data)[0])

    @requires("customers:delete")
    @blp.response(204)
    def delete(self, customer_id):
        """Delete a customer without a timeline (409 otherwise)."""
        delete_customer(customer_id)


@blp.route("/customers/<int:customer_id>/profile")
class CustomerProfile(MethodView):
    @blp.response(200, s.ProfileOut)
    def get(self, customer_id):
        """The 360 view: record, timeline summary, key figures and plugin sections."""
        return build_profile(customer_id)


@blp.route("/customers/<int:customer_id>/interactions")
class CustomerInteractions(MethodView):
    @blp.arguments(s.InteractionListArgs, location="query")
    @blp.response(200, s.InteractionPage)
    def get(self, args, customer_id):
        """The timeline, newest first; filter by type, channel, direction, source and dates."""
        page = list_interactions(customer_id, args, _max_page())
        return _page(page, lambda rows: [interaction_dict(i) for i in rows])

    @blp.arguments(s.InteractionIn)
    @blp.response(201, s.InteractionOut)
    def post(self, data, customer_id):
        """Record an interaction. Purchases and refunds need an amount and a currency."""
        return interaction_dict(record_interaction(customer_id, data, source="api"))


@blp.route("/companies/<int:company_id>/people")
class CompanyPeople(MethodView):
    @blp.arguments(s.PageArgs, location="query")
    @blp.response(200, s.CustomerPage)
    def get(self, args, company_id):
        """The people who belong to a company; 404 for a person's id."""
        if get_customer(company_id).kind != COMPANY:
            raise NotFound(f"Customer {company_id} is a person, not a company.")
        params = {**args, "company_id": company_id}
        return _page(list_customers(params, _max_page()), customer_records)


@meta.route("/tags")
class Tags(MethodView):
    @meta.response(200, s.TagOut(many=True))
    def get(self):
        """All tags with how many customers carry each."""
        return list_tags()

    @meta.arguments(s.TagIn)
    @meta.response(201, s.TagOut)
    @meta.alt_response(200, schema=s.TagOut, description="The tag exists already (any case)")
    def post(self, data):
        """Create a tag: 201, or 200 with the existing one when the name is taken in any case.
        A tag holds no comma (the list filter separates tags with commas)."""
        tag, created = create_tag(data["name"])
        return tag, 201 if created else 200


@meta.route("/tags/<int:tag_id>")
class TagItem(MethodView):
    @meta.response(204)
    def delete(self, tag_id):
        """Delete a tag and take it off every customer."""
        delete_tag(tag_id)


@meta.route("/custom-fields")
class CustomFields(MethodView):
    @meta.arguments(s.CustomFieldArgs, location="query")
    @meta.response(200, s.CustomFieldOut(many=True))
    def get(self, args):
        """Custom field definitions, optionally of one entity."""
        query = custom_fields.CustomField.select().order_by(custom_fields.CustomField.entity,
                                                            custom_fields.CustomField.name)
        if args.get("entity"):
            query = query.where(custom_fields.CustomField.entity == args["entity"])
        return [field.as_dict() for field in query]

    @meta.arguments(s.CustomFieldIn)
    @meta.response(201, s.CustomFieldOut)
    def post(self, data):
        """Define a custom field on an entity (``customer`` or one a plugin offers)."""
        return custom_fields.define_field(**data).as_dict()


@meta.route("/custom-fields/<int:field_id>")
class CustomFieldItem(MethodView):
    @meta.response(200, s.CustomFieldOut)
    def get(self, field_id):
        return custom_fields.get_field(field_id).as_dict()

    @meta.response(204)
    def delete(self, field_id):
        """Delete a definition together with every value stored for it."""
        custom_fields.delete_field(field_id)


@meta.route("/interaction-types")
class InteractionTypes(MethodView):
    @meta.response(200)
    def get(self):
        """Interaction types: the kernel's and those plugins register."""
        return {"types": interaction_types()}
