"""HTTP doors to exports, streamed: ``GET /api/v1/customers/export`` and
``GET /api/v1/interactions/export`` (the timeline of every customer the caller may see)."""
from __future__ import annotations

import marshmallow as ma
from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit.auth.declare import protect
from crmkit.customers.export import FORMATS, MEDIA_TYPES, export_customers
from crmkit.customers.schemas import CustomerListArgs, InteractionListArgs
from crmkit.customers.timeline_export import export_interactions

blp = protect(Blueprint("customer_exports", __name__,
                        description="Customer and interaction exports"),
              read="customers:export")


class ExportArgs(CustomerListArgs):
    """The list's filters (not its paging or sorting) and a format."""

    class Meta(CustomerListArgs.Meta):
        exclude = ("cursor", "limit", "sort")

    format = f.String(load_default="csv", validate=v.OneOf(FORMATS),
                      metadata={"description": "csv or jsonl (one JSON object per line)"})


@blp.route("/customers/export")
class CustomerExport(MethodView):
    # INCLUDE: custom.<name> filters are keys only the schema's validator knows (as for the list).
    @blp.arguments(ExportArgs, location="query", unknown=ma.INCLUDE)
    @blp.doc(responses={"200": {
        "description": "Every matching customer: companies first, then people, by id. CSV "
                       "joins lists with | and has a custom.<name> column per custom field.",
        "content": {"text/csv": {}, "application/x-ndjson": {}}}})
    def get(self, args):
        """Export customers with the list's filters as CSV or JSON Lines (streamed)."""
        fmt = args.pop("format")
        chunks = export_customers(args, fmt)
        return Response(stream_with_context(chunks), mimetype=MEDIA_TYPES[fmt], headers={
            "Content-Disposition": f'attachment; filename="customers.{fmt}"'})


class InteractionExportArgs(InteractionListArgs):
    """The timeline's filters (not its paging), a customer and a format."""

    class Meta(InteractionListArgs.Meta):
        exclude = ("cursor", "limit")

    customer_id = f.Integer(metadata={"description": "Only this customer's timeline"})
    format = f.String(load_default="csv", validate=v.OneOf(FORMATS),
                      metadata={"description": "csv or jsonl (one JSON object per line)"})

    @ma.validates_schema(pass_original=True)
    def no_unknown_filters(self, data, original, **kwargs):
        # A misspelt filter must not pass unseen and export the whole timeline.
        unknown = [k for k in original if k not in self.fields]
        if unknown:
            raise ma.ValidationError({k: ["Unknown filter."] for k in unknown})


@blp.route("/interactions/export")
class InteractionExport(MethodView):
    @blp.arguments(InteractionExportArgs, location="query", unknown=ma.INCLUDE)
    @blp.doc(responses={"200": {
        "description": "Every matching interaction by id, with the customer's primary email "
                       "and phone; amounts exact, payload and line items as JSON (a JSON cell "
                       "in CSV). Imports back with the interactions import.",
        "content": {"text/csv": {}, "application/x-ndjson": {}}}})
    def get(self, args):
        """Export interactions with the timeline's filters as CSV or JSON Lines (streamed)."""
        fmt = args.pop("format")
        chunks = export_interactions(args, fmt)
        return Response(stream_with_context(chunks), mimetype=MEDIA_TYPES[fmt], headers={
            "Content-Disposition": f'attachment; filename="interactions.{fmt}"'})
