"""Pricing a deal: its lines, the customer's benefits, and totals, all Decimal.

Rounding is explicit and happens at fixed points, so a document, the deal and the revenue record
always agree to the cent:

1. a line's net = quantity x unit price x (1 - line discount) x (1 - benefit percent), rounded to
   the cent half up;
2. its tax = net x tax rate, rounded the same way; its total = net + tax;
3. the deal's totals are sums of rounded line figures; an amount benefit (a voucher) then comes
   off the grand total.

Benefits come from other plugins through the kernel (``crmkit.benefits.benefits_for``): this
module never knows who grants them. Benefits do not stack: the one that saves the customer most
is applied, and perks are listed.
"""
from __future__ import annotations

import datetime as dt
import decimal

from crmkit.errors import ValidationError

from crmkit_sales.money import HUNDRED, ZERO, round_money, percent_of, to_decimal
from crmkit_sales.products import find_product, unit_price_for

QUANTITY = decimal.Decimal("0.001")


def prepare_lines(raw: list, currency: str, on: dt.date | None = None) -> list[dict]:
    """Checked lines with prices looked up where not given; 422 names ``lines.N.field``."""
    if not isinstance(raw, list):
        raise ValidationError({"lines": "A list of lines."})
    errors: dict = {}
    lines = []
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            errors[f"lines.{i}"] = "Must be an object."
            continue
        product = None
        ref = line.get("product_id") or line.get("sku")
        if line.get("product_id") is not None or (line.get("sku") and "unit_price" not in line):
            product = find_product(ref)
            if product is None:
                errors[f"lines.{i}.product_id"] = f"No product {ref!r}."
                continue
        name = str(line.get("name") or (product.name if product else "")).strip()
        if not name:
            errors[f"lines.{i}.name"] = "A line needs a name or a product."
        quantity = to_decimal(line.get("quantity", 1), f"lines.{i}.quantity", errors,
                              maximum=decimal.Decimal(10) ** 10)
        if quantity is not None and quantity <= 0:
            errors[f"lines.{i}.quantity"] = "Must be more than 0."
        if line.get("unit_price") is not None:
            price = to_decimal(line["unit_price"], f"lines.{i}.unit_price", errors)
        elif product is not None:
            try:
                price = unit_price_for(product, currency, on)
            except ValidationError as exc:
                errors[f"lines.{i}.unit_price"] = exc.fields["currency"]
                price = None
        else:
            errors[f"lines.{i}.unit_price"] = "Give a unit price or a product."
            price = None
        discount = to_decimal(line.get("discount_percent", 0), f"lines.{i}.discount_percent",
                              errors, maximum=decimal.Decimal("100.0001"))
        default_tax = product.tax_rate if product is not None else 0
        tax_rate = to_decimal(line.get("tax_rate", default_tax), f"lines.{i}.tax_rate", errors,
                              maximum=HUNDRED)
        if None in (quantity, price, discount, tax_rate) or errors:
            continue
        lines.append({
            "position": i, "product_id": product.id if product else None,
            "sku": line.get("sku") or (product.sku if product else None), "name": name[:300],
            "quantity": quantity.quantize(QUANTITY, rounding=decimal.ROUND_HALF_UP),
            "unit_price": round_money(price),
            "discount_percent": discount, "tax_rate": tax_rate,
        })
    if errors:
        raise ValidationError(errors)
    for line in lines:
        line.update(line_amounts(line))
    return lines


def line_amounts(line: dict, benefit_percent: decimal.Decimal = ZERO) -> dict:
    gross = line["quantity"] * line["unit_price"]
    factor = (HUNDRED - decimal.Decimal(line["discount_percent"])) / HUNDRED
    factor *= (HUNDRED - benefit_percent) / HUNDRED
    net = round_money(gross * factor)
    tax = percent_of(net, decimal.Decimal(line["tax_rate"]))
    return {"net": net, "tax": tax, "total": net + tax}


def _sum(lines: list[dict], key: str) -> decimal.Decimal:
    return sum((line[key] for line in lines), ZERO)


def price(lines: list[dict], currency: str, customer=None) -> dict:
    """Totals of ``lines`` (from :func:`prepare_lines` or stored deal lines) with the customer's
    best benefit applied."""
    lines = [dict(line) for line in lines]
    for line in lines:
        for key in ("quantity", "unit_price", "discount_percent", "tax_rate"):
            line[key] = decimal.Decimal(str(line[key]))
    plain = [dict(line, **line_amounts(line)) for line in lines]
    subtotal, gross = _sum(plain, "net"), _sum(plain, "total")
    benefits = []
    if customer is not None:
        from crmkit.benefits import benefits_for
        benefits = benefits_for(customer, {"purpose": "quote", "currency": currency,
                                           "amount": subtotal})
    best = None  # (saving, benefit, priced lines, voucher)
    for benefit in benefits:
        if benefit["kind"] == "discount_percent" and 0 < benefit["value"] <= 100:
            priced = [dict(line, **line_amounts(line, benefit["value"])) for line in lines]
            saving, voucher = gross - _sum(priced, "total"), ZERO
        elif benefit["kind"] == "discount_amount" and benefit.get("currency") == currency \
                and benefit["value"] > 0:
            priced, voucher = plain, min(round_money(benefit["value"]), gross)
            saving = voucher
        else:
            continue
        if best is None or saving > best[0]:
            best = (saving, benefit, priced, voucher)
    priced, voucher, applied = plain, ZERO, None
    if best is not None and best[0] > 0:
        _, benefit, priced, voucher = best
        applied = {"kind": benefit["kind"], "value": benefit["value"],
                   "label": benefit.get("label"), "source": benefit.get("source"),
                   "saving": best[0]}
    net, tax = _sum(priced, "net"), _sum(priced, "tax")
    return {
        "currency": currency,
        "lines": priced,
        "subtotal": subtotal,              # after line discounts, before benefits and tax
        "discount": subtotal - net,        # what a percentage benefit took off the net
        "net": net,
        "tax": tax,
        "voucher": voucher,                # what an amount benefit took off the total
        "total": net + tax - voucher,
        "benefit": applied,
        "perks": [b.get("label") or b["value"] for b in benefits if b["kind"] == "perk"],
    }
