"""Document templates (versioned, sandboxed Jinja2), documents generated for deals (HTML and PDF,
numbered without gaps), and files attached to deals.

PDFs are drawn by fpdf2 from the rendered HTML: pure Python, installed from PyPI with no system
libraries (WeasyPrint would need Pango). fpdf2 understands a plain subset of HTML (headings,
paragraphs, bold/italic, lists, tables), which is what commercial documents use. Its built-in
fonts cover Windows-1252 (Western European text and the euro sign); other characters are
transliterated or shown as '?' in the PDF, while the HTML keeps them.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import importlib.resources
import re
import unicodedata

from crmkit.db import utcnow
from crmkit.errors import NotFound, ValidationError
from crmkit.events import emit

from crmkit_sales import templating
from crmkit_sales.models import (DOCUMENT_KINDS, Attachment, Deal, Document, DocumentTemplate)
from crmkit_sales.settings import setting

_D = decimal.Decimal

DOC_SAMPLE = {
    "document": {"number": "PAY-2030-00001", "kind": "payment", "date": dt.date(2030, 1, 1)},
    "seller": {"name": "Seller Ltd", "address": "1 High Street"},
    "customer": {"id": 1, "name": "Sample Customer", "first_name": "Sample",
                 "last_name": "Customer", "email": "sample@example.com", "phone": "+4420",
                 "street": "1 Road", "city": "Town", "region": "", "postal_code": "AB1",
                 "country": "GB", "address": "1 Road\nTown AB1"},
    "deal": {"id": 1, "title": "Sample", "amount": "100.00", "currency": "EUR", "source": "web",
             "expected_close": dt.date(2030, 1, 31), "stage": "Won", "pipeline": "Sales"},
    "owner": {"id": 1, "name": "Owner", "email": "owner@example.com"},
    "lines": [{"position": 0, "product_id": None, "sku": "X", "name": "Item",
               "quantity": _D("1.000"), "unit_price": _D("100.00"), "discount_percent": _D(0),
               "tax_rate": _D(20), "net": _D("100.00"), "tax": _D("20.00"),
               "total": _D("120.00")}],
    "totals": {"currency": "EUR", "subtotal": _D("100.00"), "discount": _D("0.00"),
               "net": _D("100.00"), "tax": _D("20.00"), "voucher": _D("0.00"),
               "total": _D("120.00")},
    "benefit": None,
    "perks": [],
    "payment": {"details": "IBAN", "reference": "PAY-2030-00001",
                "due_date": dt.date(2030, 1, 15), "amount": _D("120.00"), "currency": "EUR"},
}


# -- templates ------------------------------------------------------------------------------------

def default_template_body(kind: str) -> str:
    name = "payment.html" if kind in ("payment", "invoice") else "quote.html"
    return importlib.resources.files("crmkit_sales").joinpath("templates", name).read_text()


def _check_template(body: str, kind: str) -> None:
    errors: dict = {}
    if kind not in DOCUMENT_KINDS:
        errors["kind"] = f"One of: {', '.join(DOCUMENT_KINDS)}."
    if not body or not body.strip():
        errors["body"] = "Missing data for required field."
    if errors:
        raise ValidationError(errors)
    templating.check(body, "body", DOC_SAMPLE)


def create_template(name: str, kind: str, body: str | None = None,
                    by_user: int | None = None) -> DocumentTemplate:
    """Version 1 of a new template, or the next version of an existing one."""
    body = body if body is not None else default_template_body(kind)
    _check_template(body, kind)
    latest = (DocumentTemplate.select().where(DocumentTemplate.name == name)
              .order_by(DocumentTemplate.version.desc()).first())
    return DocumentTemplate.create(name=name, kind=kind, body=body, created_by=by_user,
                                   version=latest.version + 1 if latest else 1)


def new_version(name: str, body: str | None = None, kind: str | None = None,
                by_user: int | None = None) -> DocumentTemplate:
    latest = current_template(name, active_only=False)
    if latest is None:
        raise NotFound(f"No document template named {name!r}.")
    return create_template(name, kind or latest.kind, body if body is not None else latest.body,
                           by_user)


def current_template(name: str, active_only: bool = True) -> DocumentTemplate | None:
    query = DocumentTemplate.select().where(DocumentTemplate.name == name)
    if active_only:
        query = query.where(DocumentTemplate.active == True)  # noqa: E712
    return query.order_by(DocumentTemplate.version.desc()).first()


def get_template(template_id: int) -> DocumentTemplate:
    template = DocumentTemplate.get_or_none(DocumentTemplate.id == template_id)
    if template is None:
        raise NotFound(f"No document template with id {template_id}.")
    return template


def list_templates(all_versions: bool = False) -> list[DocumentTemplate]:
    rows = list(DocumentTemplate.select().order_by(DocumentTemplate.name,
                                                   DocumentTemplate.version.desc()))
    if all_versions:
        return rows
    seen, out = set(), []
    for row in rows:
        if row.name not in seen:
            seen.add(row.name)
            out.append(row)
    return out


def set_template_active(name: str, active: bool) -> None:
    DocumentTemplate.update(active=active).where(DocumentTemplate.name == name).execute()


def template_dict(t: DocumentTemplate, with_body: bool = True) -> dict:
    out = {"id": t.id, "name": t.name, "version": t.version, "kind": t.kind, "active": t.active,
           "created_by": t.created_by, "created_at": t.created_at}
    if with_body:
        out["body"] = t.body
    return out


def ensure_default_templates() -> None:
    """The shipped quote and payment templates, unless templates with those names exist."""
    for name, kind in (("Quote", "quote"), ("Payment request", "payment")):
        if current_template(name, active_only=False) is None:
            create_template(name, kind)


# -- documents ------------------------------------------------------------------------------------

CITY_FIRST = ("GB", "US", "CA", "AU", "IE", "NZ")


def _address(customer) -> str:
    if customer is None:
        return ""
    # Postcode after the town in English-speaking countries, before it in most others.
    order = ((customer.city, customer.postal_code) if customer.country in CITY_FIRST
             else (customer.postal_code, customer.city))
    city = " ".join(p for p in order if p)
    parts = [customer.street, city, customer.region, customer.country]
    return "\n".join(p for p in parts if p)


def document_data(deal: Deal, pricing: dict, number: str, kind: str, now: dt.datetime) -> dict:
    from crmkit.customers.models import Customer

    from crmkit_sales import people
    from crmkit_sales.automation import CUSTOMER_FIELDS
    customer = Customer.get_or_none(Customer.id == deal.customer_id)
    owner = people.user_names([deal.owner_id]) if deal.owner_id else {}
    today = now.date()
    due = today + dt.timedelta(days=setting("PAYMENT_DAYS"))
    totals = {k: pricing[k] for k in ("currency", "subtotal", "discount", "net", "tax",
                                      "voucher", "total")}
    return {
        "document": {"number": number, "kind": kind, "date": today},
        "seller": {"name": setting("COMPANY_NAME"), "address": setting("COMPANY_ADDRESS")},
        "customer": {"id": deal.customer_id,
                     **{f: getattr(customer, f, None) for f in CUSTOMER_FIELDS},
                     "address": _address(customer)},
        "deal": {"id": deal.id, "title": deal.title, "amount": deal.amount,
                 "currency": deal.currency, "source": deal.source,
                 "expected_close": deal.expected_close, "stage": deal.stage.name,
                 "pipeline": deal.pipeline.name},
        "owner": {"id": deal.owner_id, "name": owner.get(deal.owner_id), "email": None},
        "lines": pricing["lines"],
        "totals": totals,
        "benefit": pricing["benefit"],
        "perks": pricing["perks"],
        "payment": {"details": setting("PAYMENT_DETAILS"), "reference": number,
                    "due_date": due, "amount": pricing["total"], "currency": pricing["currency"]},
    }


def _pdf_text(html: str) -> str:
    """The HTML with characters the PDF's built-in fonts lack transliterated or replaced."""
    out = []
    for char in html:
        try:
            char.encode("cp1252")
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("cp1252", "ignore").decode("cp1252")
            out.append(plain or "?")
    return "".join(out)


def html_to_pdf(html: str, title: str = "") -> bytes:
    from fpdf import FPDF
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(title)
    pdf.set_creator("crmkit-sales")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    try:
        pdf.write_html(_pdf_text(html).replace("\n", " "))
    except Exception as exc:  # fpdf2 reports unsupported HTML with assorted exception types
        raise ValidationError({"body": f"The template's HTML cannot be drawn as a PDF: {exc}"})
    return bytes(pdf.output())


def generate_document(deal: Deal, template_name: str, by_user: int | None = None) -> Document:
    """Render the newest active version of ``template_name`` for ``deal`` and attach it.

    Prices are worked out afresh (benefits may have changed since the deal was priced) and the
    deal's own amount follows them, so the document and the deal agree.
    """
    from crmkit_sales import deals as deal_rules
    from crmkit_sales.numbering import document_number
    template = current_template(template_name)
    if template is None:
        raise ValidationError({"template": f"No active document template named "
                                           f"{template_name!r}."})
    pricing = deal_rules.reprice(deal)
    now = utcnow()
    number = document_number(template.kind, now.year)
    html = templating.render(template.body, document_data(deal, pricing, number, template.kind,
                                                          now), field="body")
    pdf = html_to_pdf(html, f"{number} {deal.title}")
    figures = {k: pricing[k] for k in ("currency", "subtotal", "discount", "net", "tax",
                                       "voucher", "total")}
    figures["benefit"] = pricing["benefit"]
    document = Document.create(deal=deal, template=template, kind=template.kind, number=number,
                               html=html, pdf=pdf, figures=figures, total=pricing["total"],
                               currency=pricing["currency"], created_by=by_user, created_at=now)
    from crmkit.customers.timeline import record_interaction

    from crmkit_sales.people import seeing_all
    with seeing_all():
        record_interaction(deal.customer_id, {
            "type": "sales.document", "direction": "outbound", "channel": "sales",
            "summary": f"{template.kind.capitalize()} {number}: {pricing['total']} "
                       f"{pricing['currency']}", "external_id": f"document:{document.id}",
            "payload": {"document_id": document.id, "deal_id": deal.id, "number": number,
                        "kind": template.kind, "total": str(pricing["total"]),
                        "currency": pricing["currency"]}}, source="sales")
    emit("sales.document.generated", {"document_id": document.id, "deal_id": deal.id,
                                      "number": number, "kind": template.kind,
                                      "total": pricing["total"], "currency": pricing["currency"]},
         subject="sales.deal", subject_id=deal.id)
    return document


def get_document(document_id: int) -> Document:
    document = Document.get_or_none(Document.id == document_id)
    if document is None:
        raise NotFound(f"No document with id {document_id}.")
    return document


def document_dict(d: Document) -> dict:
    return {"id": d.id, "deal_id": d.deal_id, "template_id": d.template_id,
            "template_version": d.template.version, "template_name": d.template.name,
            "kind": d.kind, "number": d.number, "total": d.total, "currency": d.currency,
            "figures": d.figures, "erased": d.erased, "created_by": d.created_by,
            "created_at": d.created_at}


def documents_of(deal: Deal) -> list[Document]:
    return list(Document.select(Document, DocumentTemplate).join(DocumentTemplate)
                .where(Document.deal == deal).order_by(Document.id))


# -- attachments ----------------------------------------------------------------------------------

def attachment_types() -> list[str]:
    return [t.strip() for t in str(setting("ATTACHMENT_TYPES")).split(",") if t.strip()]


def attach_file(deal: Deal, file, by_user: int | None = None) -> Attachment:
    """Check the upload's size and type (its bytes must match the declared type) and store it."""
    from crmkit.limits import read_upload
    data = read_upload(file, attachment_types(), max_bytes=setting("ATTACHMENT_MAX_BYTES"))
    name = (file.filename or "file").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[^\w.\- ]", "_", name).strip()[:255] or "file"
    attachment = Attachment.create(deal=deal, filename=name, content_type=file.mimetype.lower(),
                                   size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                   data=data, uploaded_by=by_user)
    emit("sales.deal.file_attached", {"deal_id": deal.id, "attachment_id": attachment.id,
                                      "filename": name, "size": len(data)},
         subject="sales.deal", subject_id=deal.id)
    return attachment


def get_attachment(deal: Deal, attachment_id: int) -> Attachment:
    attachment = Attachment.get_or_none(Attachment.id == attachment_id,
                                        Attachment.deal == deal)
    if attachment is None:
        raise NotFound(f"No attachment with id {attachment_id} on deal {deal.id}.")
    return attachment


def attachments_of(deal: Deal) -> list[Attachment]:
    return list(Attachment.select(Attachment.id, Attachment.deal, Attachment.filename,
                                  Attachment.content_type, Attachment.size, Attachment.sha256,
                                  Attachment.uploaded_by, Attachment.created_at)
                .where(Attachment.deal == deal).order_by(Attachment.id))


def attachment_dict(a: Attachment) -> dict:
    return {"id": a.id, "deal_id": a.deal_id, "filename": a.filename,
            "content_type": a.content_type, "size": a.size, "sha256": a.sha256,
            "uploaded_by": a.uploaded_by, "created_at": a.created_at}
