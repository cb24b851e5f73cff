"""HTTP door to deals: create, change, move, history, pricing, documents and attachments."""
from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth import scoping
from crmkit.auth.declare import protect
from crmkit.errors import NotFound
from crmkit.limits import accepts_upload

from crmkit_sales import deals as rules
from crmkit_sales import documents
from crmkit_sales import schemas as s
from crmkit_sales.api_common import by_user, jsonable, max_page, page
from crmkit_sales.models import Deal, Document

blp = protect(Blueprint("sales_deals", __name__, description="Deals, their stages, documents "
                                                             "and attachments"),
              read="sales.deals:read", write="sales.deals:write")

REASSIGN = "sales.deals:reassign"


def _list_params(args: dict) -> dict:
    """Query arguments plus ``custom.<name>[__op]=value`` filters."""
    params = {k: v for k, v in args.items() if not k.startswith("custom.")}
    params["custom"] = {k[len("custom."):]: v for k, v in request.args.items()
                        if k.startswith("custom.")}
    return params


@blp.route("/deals")
class Deals(MethodView):
    @blp.arguments(s.SalesDealListArgs, location="query")
    @blp.response(200, s.SalesDealPage)
    def get(self, args):
        """Deals you may see, newest first; filter by pipeline, stage, status, owner, customer,
        source, expected close, rotting, or ``custom.<name>[__gte|__lte|__contains]=value``."""
        return page(rules.list_deals(_list_params(args), max_page()), rules.deal_dicts)

    @blp.arguments(s.SalesDealIn)
    @blp.response(201, s.SalesDealOut)
    def post(self, data):
        """Create a deal in its pipeline's first stage (or ``stage_id``); that stage's
        automations run as on any move. Without ``owner_id`` the caller owns it, or with
        ``auto_assign`` the assignment rules choose."""
        if "owner_id" in data:
            data = scoping.assign_owner(data, Deal, REASSIGN, creating=True)
        return rules.deal_dict(rules.create_deal(data, by_user()))


@blp.route("/deals/<int:deal_id>")
class DealItem(MethodView):
    @blp.response(200, s.SalesDealOut)
    def get(self, deal_id):
        return rules.deal_dict(rules.get_deal(deal_id))

    @blp.arguments(s.SalesDealPatch)
    @blp.response(200, s.SalesDealOut)
    def patch(self, data, deal_id):
        """Change fields; ``lines`` replaces the lines and reprices the deal. Stages change
        through ``/move``."""
        deal = rules.get_deal(deal_id)
        if "owner_id" in data:
            data = scoping.assign_owner(data, Deal, REASSIGN, current_owner=deal.owner_id)
        return rules.deal_dict(rules.update_deal(deal, data, by_user())[0])

    @blp.response(204)
    def delete(self, deal_id):
        """Delete a deal that was never won."""
        rules.delete_deal(rules.get_deal(deal_id))


@blp.route("/deals/<int:deal_id>/move")
class DealMove(MethodView):
    @blp.arguments(s.SalesMoveIn)
    @blp.response(200, s.SalesMoveOut)
    def post(self, data, deal_id):
        """Move the deal into a stage: the stage's required fields are checked (422 naming the
        missing ones), its automations run, and a won stage records the revenue once."""
        deal = rules.get_deal(deal_id)
        made = rules.move_deal(deal, data["stage_id"], by_user(), data.get("lost_reason"))
        return {**made, "deal": rules.deal_dict(deal)}


@blp.route("/deals/<int:deal_id>/history")
class DealHistory(MethodView):
    @blp.response(200, s.SalesHistoryOut(many=True))
    def get(self, deal_id):
        """Each stage the deal was in: when it entered and left, and who moved it."""
        return rules.history(rules.get_deal(deal_id))


@blp.route("/deals/<int:deal_id>/pricing")
class DealPricing(MethodView):
    @blp.response(200)
    def get(self, deal_id):
        """The deal's lines priced now, with the customer's benefits applied (nothing saved)."""
        from crmkit_sales import quotes
        deal = rules.get_deal(deal_id)
        lines = [rules.line_dict(line) for line in deal.lines.order_by(rules.DealLine.position)]
        return jsonable(quotes.price(lines, deal.currency, rules._customer(deal)))


@blp.route("/deals/<int:deal_id>/documents")
class DealDocuments(MethodView):
    @blp.response(200, s.SalesDocumentOut(many=True))
    def get(self, deal_id):
        return [documents.document_dict(d)
                for d in documents.documents_of(rules.get_deal(deal_id))]

    @blp.arguments(s.SalesGenerateIn)
    @blp.response(201, s.SalesDocumentOut)
    def post(self, data, deal_id):
        """Generate a document from the newest version of a template; it gets the next number
        of its kind and is attached to the deal."""
        deal = rules.get_deal(deal_id)
        return documents.document_dict(documents.generate_document(deal, data["template"],
                                                                   by_user()))


def _document(document_id: int) -> Document:
    document = documents.get_document(document_id)
    rules.get_deal(document.deal_id)  # 404 unless the caller may see its deal
    return document


@blp.route("/documents/<int:document_id>")
class DocumentItem(MethodView):
    @blp.response(200, s.SalesDocumentOut)
    def get(self, document_id):
        return documents.document_dict(_document(document_id))


@blp.route("/documents/<int:document_id>/pdf")
class DocumentPdf(MethodView):
    @blp.response(200, content_type="application/pdf")
    def get(self, document_id):
        document = _document(document_id)
        if document.pdf is None:
            raise NotFound(f"Document {document.number} was erased.")
        return Response(bytes(document.pdf), mimetype="application/pdf", headers={
            "Content-Disposition": f'inline; filename="{document.number}.pdf"'})


@blp.route("/documents/<int:document_id>/html")
class DocumentHtml(MethodView):
    @blp.response(200, content_type="text/html")
    def get(self, document_id):
        document = _document(document_id)
        if document.html is None:
            raise NotFound(f"Document {document.number} was erased.")
        # The HTML came from a sandboxed, auto-escaping template; still, never run scripts.
        return Response(document.html, mimetype="text/html", headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})


@blp.route("/deals/<int:deal_id>/attachments")
class DealAttachments(MethodView):
    @blp.response(200, s.SalesAttachmentOut(many=True))
    def get(self, deal_id):
        return [documents.attachment_dict(a)
                for a in documents.attachments_of(rules.get_deal(deal_id))]

    @accepts_upload
    @blp.arguments(s.SalesUploadIn, location="files")
    @blp.response(201, s.SalesAttachmentOut)
    def post(self, files, deal_id):
        """Attach a file (multipart field ``file``); its size and type are limited and its
        content must match its declared type."""
        deal = rules.get_deal(deal_id)
        return documents.attachment_dict(documents.attach_file(deal, files.get("file"),
                                                               by_user()))


@blp.route("/deals/<int:deal_id>/attachments/<int:attachment_id>")
class DealAttachment(MethodView):
    @blp.response(200, content_type="application/octet-stream")
    def get(self, deal_id, attachment_id):
        attachment = documents.get_attachment(rules.get_deal(deal_id), attachment_id)
        return Response(bytes(attachment.data), mimetype=attachment.content_type, headers={
            "Content-Disposition": f'attachment; filename="{attachment.filename}"',
            "X-Content-Type-Options": "nosniff"})

    @blp.response(204)
    def delete(self, deal_id, attachment_id):
        documents.get_attachment(rules.get_deal(deal_id), attachment_id).delete_instance()
