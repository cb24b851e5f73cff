"""Products, price lists, benefits from other plugins, templates, documents, numbering,
attachments."""
import io
import threading
import zlib

import pytest

from crmkit import Manifest, db, hookimpl

API = "/api/v1/sales"


def product(client, **fields):
    body = {"sku": "BOIL", "name": "Boiler", "unit_price": "1000.00", "currency": "EUR",
            "tax_rate": "19", **fields}
    response = client.post(f"{API}/products", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_price_lists_by_currency_and_validity(client, make_deal):
    boiler = product(client)
    client.post(f"{API}/price-lists", json={"name": "GBP 2020s", "currency": "GBP",
                                            "items": [{"sku": "BOIL", "unit_price": "850.00"}]})
    client.post(f"{API}/price-lists", json={"name": "GBP promo", "currency": "GBP",
                                            "valid_from": "2020-01-01",
                                            "valid_to": "2099-12-31",
                                            "items": [{"product_id": boiler["id"],
                                                       "unit_price": "799.00"}]})
    client.post(f"{API}/price-lists", json={"name": "GBP expired", "currency": "GBP",
                                            "valid_from": "2001-01-01", "valid_to": "2001-12-31",
                                            "items": [{"sku": "BOIL", "unit_price": "1.00"}]})
    eur = make_deal(lines=[{"product_id": boiler["id"], "quantity": 2}])
    assert eur["lines"][0]["unit_price"] == "1000.00" and eur["amount"] == "2380.00"
    gbp = make_deal(currency="GBP", lines=[{"sku": "BOIL"}])
    assert gbp["lines"][0]["unit_price"] == "799.00"  # the most recently started valid list
    usd = client.post(f"{API}/deals", json={"customer_id": eur["customer_id"], "currency": "USD",
                                            "lines": [{"product_id": boiler["id"]}]})
    assert usd.status_code == 422 and "lines.0.unit_price" in usd.json["errors"]["json"]
    bad = client.post(f"{API}/price-lists", json={"name": "x", "currency": "EUR",
                                                  "valid_from": "2030-01-02",
                                                  "valid_to": "2030-01-01"})
    assert bad.status_code == 422
    assert client.delete(f"{API}/products/{boiler['id']}").status_code == 409


class Perks:
    """Stands in for a loyalty plugin: sales never imports it, it only answers the hook."""

    manifest = Manifest(name="perks")

    def __init__(self, benefits):
        self.benefits = benefits

    @hookimpl
    def customer_benefits(self, customer, context):
        assert context["purpose"] == "quote"
        return self.benefits


@pytest.mark.parametrize("benefits, total, discount, voucher, label", [
    ([{"kind": "discount_percent", "value": "5", "label": "Gold tier: 5% off"},
      {"kind": "perk", "value": "free_delivery", "label": "Free delivery"}],
     "1130.50", "50.00", "0.00", "Gold tier: 5% off"),
    ([{"kind": "discount_amount", "value": "100", "currency": "EUR", "label": "Voucher"},
      {"kind": "discount_percent", "value": "2", "label": "Silver"}],
     "1090.00", "0.00", "100.00", "Voucher"),
    ([{"kind": "discount_amount", "value": "100", "currency": "GBP", "label": "Wrong currency"}],
     "1190.00", "0.00", "0.00", None),
])
def test_quotes_apply_customer_benefits(make_app, customer, pipeline, client, benefits, total,
                                        discount, voucher, label):
    app = make_app([Perks(benefits)], PLUGINS="sales,perks")
    other = app.test_client()
    deal = other.post(f"{API}/deals", json={"customer_id": customer["id"], "lines": [
        {"name": "Boiler", "unit_price": "1000.00", "tax_rate": "19"}]})
    assert deal.status_code == 201, deal.json
    pricing = deal.json["pricing"]
    assert (pricing["total"], pricing["discount"], pricing["voucher"]) == (total, discount,
                                                                            voucher)
    assert deal.json["amount"] == total
    assert (pricing["benefit"] or {}).get("label") == label
    other.post(f"{API}/templates", json={"name": "Quote", "kind": "quote"})
    doc = other.post(f"{API}/deals/{deal.json['id']}/documents", json={"template": "Quote"})
    assert doc.status_code == 201 and doc.json["total"] == total
    html = other.get(f"{API}/documents/{doc.json['id']}/html").get_data(as_text=True)
    if label:
        assert f"Includes {label}" in html
    if benefits[-1]["kind"] == "perk":
        assert "Also for you: Free delivery" in html


def test_templates_are_versioned_and_sandboxed(client, make_deal):
    first = client.post(f"{API}/templates", json={"name": "Offer", "kind": "quote",
                                                  "body": "<p>Offer for {{ customer.name }}</p>"})
    assert first.status_code == 201 and first.json["version"] == 1
    deal = make_deal()
    doc1 = client.post(f"{API}/deals/{deal['id']}/documents", json={"template": "Offer"}).json
    second = client.post(f"{API}/templates/Offer/versions",
                         json={"body": "<p>Dear {{ customer.first_name }}: "
                                       "{{ totals.total | money }} {{ totals.currency }}</p>"})
    assert second.json["version"] == 2
    doc2 = client.post(f"{API}/deals/{deal['id']}/documents", json={"template": "Offer"}).json
    assert (doc1["template_version"], doc2["template_version"]) == (1, 2)
    html1 = client.get(f"{API}/documents/{doc1['id']}/html").get_data(as_text=True)
    html2 = client.get(f"{API}/documents/{doc2['id']}/html").get_data(as_text=True)
    assert html1.startswith("<p>Offer for Dana") and "1,000.00 EUR" in html2
    versions = client.get(f"{API}/templates", query_string={"all_versions": "true"}).json
    assert [t["version"] for t in versions if t["name"] == "Offer"] == [2, 1]
    listed = client.get(f"{API}/deals/{deal['id']}/documents").json
    assert [d["number"] for d in listed] == [doc1["number"], doc2["number"]]
    for body, field in (("{{ customer.__class__.__mro__ }}", "body"),
                        ("{{ customer.nmae }}", "body"),
                        ("{% for x in %}", "body"),
                        ("{{ lines.pop() }}", "body")):
        refused = client.post(f"{API}/templates", json={"name": "Evil", "kind": "quote",
                                                        "body": body})
        assert refused.status_code == 422, body
    # Merge data is escaped in HTML: a customer cannot inject markup into a document.
    client.patch(f"/api/v1/customers/{deal['customer_id']}",
                 json={"first_name": "<script>x</script>"})
    doc3 = client.post(f"{API}/deals/{deal['id']}/documents", json={"template": "Offer"}).json
    html3 = client.get(f"{API}/documents/{doc3['id']}/html").get_data(as_text=True)
    assert "<script>" not in html3 and "&lt;script&gt;" in html3


def pdf_text(data: bytes) -> bytes:
    """The page content of a (compressed) PDF from fpdf2, for looking for a figure."""
    out = b""
    for chunk in data.split(b"stream\n")[1:]:
        raw = chunk.split(b"\nendstream")[0]
        try:
            out += zlib.decompress(raw)
        except zlib.error:
            out += raw
    return out


def test_payment_document_html_and_pdf(client, make_deal, pipeline):
    client.post(f"{API}/templates", json={"name": "Payment request", "kind": "payment"})
    deal = make_deal(lines=[{"name": "Boiler", "unit_price": "999.99", "quantity": 3,
                             "tax_rate": "19"}])
    doc = client.post(f"{API}/deals/{deal['id']}/documents", json={"template": "Payment request"})
    assert doc.status_code == 201, doc.json
    assert doc.json["number"].startswith("PAY-") and doc.json["number"].endswith("-00001")
    # 3 x 999.99 = 2999.97; tax 19% = 569.9943 -> 569.99; total 3569.96
    assert doc.json["figures"]["tax"] == "569.99" and doc.json["total"] == "3569.96"
    pdf = client.get(f"{API}/documents/{doc.json['id']}/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    assert pdf.data.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf.data)
    assert b"3,569.96" in text and doc.json["number"].encode() in text
    timeline = client.get(f"/api/v1/customers/{deal['customer_id']}/interactions",
                          query_string={"type": "sales.document"}).json["items"]
    assert timeline[0]["summary"] == f"Payment {doc.json['number']}: 3569.96 EUR"


def test_numbers_are_gap_free_under_concurrency(app, client, make_deal):
    """Threads generating documents at once get 1..N, each once; a rolled-back one gives its
    number back."""
    client.post(f"{API}/templates", json={"name": "Invoice", "kind": "invoice",
                                          "body": "<p>{{ document.number }}</p>"})
    deal = make_deal()
    from crmkit_sales import documents
    from crmkit_sales.models import Deal
    numbers, errors = [], []

    def worker(fail: bool):
        try:
            with app.app_context(), db.connection():
                with db.write_transaction():
                    doc = documents.generate_document(Deal.get_by_id(deal["id"]), "Invoice")
                    if fail:
                        raise RuntimeError("roll back")
                numbers.append(doc.number)
        except RuntimeError:
            pass
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i % 5 == 4,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(numbers) == 16
    sequence = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert sequence == list(range(1, 17))


def test_attachments_with_size_and_type_limits(app, client, make_deal):
    app.config["CRMKIT_SALES_ATTACHMENT_MAX_BYTES"] = 1000
    deal = make_deal()
    url = f"{API}/deals/{deal['id']}/attachments"

    def upload(data, name, mimetype):
        return client.post(url, data={"file": (io.BytesIO(data), name, mimetype)},
                           content_type="multipart/form-data")

    ok = upload(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "../../roof photo.png", "image/png")
    assert ok.status_code == 201, ok.json
    assert ok.json["filename"] == "roof photo.png" and ok.json["size"] == 108
    assert upload(b"%PDF-" + b"0" * 2000, "big.pdf", "application/pdf").status_code == 413
    assert upload(b"MZ\x90\x00", "tool.exe", "application/x-msdownload").status_code == 415
    assert upload(b"not a png", "fake.png", "image/png").status_code == 415
    assert client.post(url, data={}, content_type="multipart/form-data").status_code == 422
    listed = client.get(url).json
    assert [a["filename"] for a in listed] == ["roof photo.png"]
    download = client.get(f"{url}/{listed[0]['id']}")
    assert download.data.startswith(b"\x89PNG") and download.mimetype == "image/png"
    assert client.delete(f"{url}/{listed[0]['id']}").status_code == 204
