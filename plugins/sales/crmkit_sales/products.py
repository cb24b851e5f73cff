"""Products and price lists: what a deal line costs in a currency on a day."""
from __future__ import annotations

import datetime as dt
import decimal

import peewee

from crmkit.db import utcnow
from crmkit.errors import Conflict, NotFound, ValidationError

from crmkit_sales.models import PriceList, PriceListItem, Product
from crmkit_sales.money import check_currency, round_money, to_decimal

PRODUCT_FIELDS = ("sku", "name", "description", "unit_price", "currency", "tax_rate", "active")


def _clean_product(data: dict, errors: dict) -> dict:
    clean = {k: v for k, v in data.items() if k in PRODUCT_FIELDS}
    if "unit_price" in data:
        price = to_decimal(data["unit_price"], "unit_price", errors)
        clean["unit_price"] = round_money(price) if price is not None else None
    if "tax_rate" in data:
        clean["tax_rate"] = to_decimal(data["tax_rate"], "tax_rate", errors,
                                       maximum=decimal.Decimal(100))
    if "currency" in data:
        clean["currency"] = check_currency(data["currency"], "currency", errors)
    return clean


def create_product(data: dict) -> Product:
    errors: dict = {}
    clean = _clean_product(data, errors)
    if Product.select().where(Product.sku == data.get("sku")).exists():
        errors["sku"] = f"A product with SKU {data.get('sku')!r} exists already."
    if errors:
        raise ValidationError(errors)
    return Product.create(**clean)


def get_product(product_id: int) -> Product:
    product = Product.get_or_none(Product.id == product_id)
    if product is None:
        raise NotFound(f"No product with id {product_id}.")
    return product


def find_product(ref) -> Product | None:
    """A product by id or SKU."""
    if isinstance(ref, int):
        return Product.get_or_none(Product.id == ref)
    return Product.get_or_none(Product.sku == str(ref))


def update_product(product: Product, data: dict) -> Product:
    errors: dict = {}
    clean = _clean_product(data, errors)
    if "sku" in clean and Product.select().where(Product.sku == clean["sku"],
                                                 Product.id != product.id).exists():
        errors["sku"] = f"A product with SKU {clean['sku']!r} exists already."
    if errors:
        raise ValidationError(errors)
    for key, value in clean.items():
        setattr(product, key, value)
    product.updated_at = utcnow()
    product.save()
    return product


def list_products(active: bool | None = None, q: str | None = None) -> list[Product]:
    query = Product.select().order_by(Product.sku)
    if active is not None:
        query = query.where(Product.active == active)
    if q:
        query = query.where(Product.name.contains(q) | Product.sku.contains(q))
    return list(query)


def product_dict(p: Product) -> dict:
    return {"id": p.id, "sku": p.sku, "name": p.name, "description": p.description,
            "unit_price": p.unit_price, "currency": p.currency, "tax_rate": p.tax_rate,
            "active": p.active, "created_at": p.created_at, "updated_at": p.updated_at}


# -- price lists ----------------------------------------------------------------------------------

def _check_validity(valid_from, valid_to, errors: dict) -> None:
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = "Must not be before valid_from."


def create_price_list(data: dict) -> PriceList:
    errors: dict = {}
    currency = check_currency(data.get("currency"), "currency", errors)
    _check_validity(data.get("valid_from"), data.get("valid_to"), errors)
    if PriceList.select().where(PriceList.name == data["name"]).exists():
        errors["name"] = "A price list with this name exists already."
    if errors:
        raise ValidationError(errors)
    price_list = PriceList.create(name=data["name"], currency=currency,
                                  valid_from=data.get("valid_from"),
                                  valid_to=data.get("valid_to"), active=data.get("active", True))
    if data.get("items"):
        set_prices(price_list, data["items"])
    return price_list


def get_price_list(price_list_id: int) -> PriceList:
    price_list = PriceList.get_or_none(PriceList.id == price_list_id)
    if price_list is None:
        raise NotFound(f"No price list with id {price_list_id}.")
    return price_list


def update_price_list(price_list: PriceList, data: dict) -> PriceList:
    errors: dict = {}
    if "currency" in data:
        data["currency"] = check_currency(data["currency"], "currency", errors)
    _check_validity(data.get("valid_from", price_list.valid_from),
                    data.get("valid_to", price_list.valid_to), errors)
    if errors:
        raise ValidationError(errors)
    items = data.pop("items", None)
    for key, value in data.items():
        setattr(price_list, key, value)
    price_list.save()
    if items is not None:
        set_prices(price_list, items)
    return price_list


def set_prices(price_list: PriceList, items: list[dict]) -> None:
    """Replace the list's prices with ``items`` (``product_id`` or ``sku``, ``unit_price``)."""
    errors: dict = {}
    rows = {}
    for i, item in enumerate(items):
        product = find_product(item.get("product_id") or item.get("sku"))
        if product is None:
            errors[f"items.{i}.product_id"] = "No such product."
            continue
        price = to_decimal(item.get("unit_price"), f"items.{i}.unit_price", errors)
        if price is not None:
            rows[product.id] = {"price_list": price_list.id, "product": product.id,
                                "unit_price": round_money(price)}
    if errors:
        raise ValidationError(errors)
    PriceListItem.delete().where(PriceListItem.price_list == price_list).execute()
    if rows:
        PriceListItem.insert_many(list(rows.values())).execute()


def delete_price_list(price_list: PriceList) -> None:
    price_list.delete_instance(recursive=True)


def list_price_lists() -> list[PriceList]:
    return list(PriceList.select().order_by(PriceList.currency, PriceList.name))


def price_list_dict(pl: PriceList, with_items: bool = True) -> dict:
    out = {"id": pl.id, "name": pl.name, "currency": pl.currency, "valid_from": pl.valid_from,
           "valid_to": pl.valid_to, "active": pl.active, "created_at": pl.created_at}
    if with_items:
        out["items"] = [{"product_id": item.product_id, "sku": item.product.sku,
                         "name": item.product.name, "unit_price": item.unit_price}
                        for item in PriceListItem.select(PriceListItem, Product).join(Product)
                        .where(PriceListItem.price_list == pl).order_by(Product.sku)]
    return out


def unit_price_for(product: Product, currency: str, on: dt.date | None = None) -> decimal.Decimal:
    """The product's price in ``currency`` on day ``on``: the most recently started active price
    list valid that day, else the product's own price if it is in that currency."""
    on = on or utcnow().date()
    item = (PriceListItem.select(PriceListItem.unit_price).join(PriceList)
            .where((PriceListItem.product == product) & (PriceList.currency == currency)
                   & (PriceList.active == True)  # noqa: E712
                   & (PriceList.valid_from.is_null() | (PriceList.valid_from <= on))
                   & (PriceList.valid_to.is_null() | (PriceList.valid_to >= on)))
            .order_by(peewee.fn.COALESCE(PriceList.valid_from, dt.date(1900, 1, 1)).desc(),
                      PriceList.id.desc())
            .first())
    if item is not None:
        return item.unit_price
    if product.currency == currency:
        return product.unit_price
    raise ValidationError({"currency": f"Product {product.sku} has no price in {currency} on "
                                       f"{on.isoformat()}; add it to a price list."})


def delete_product(product: Product) -> None:
    from crmkit_sales.models import DealLine
    if DealLine.select().where(DealLine.product_id == product.id).exists():
        raise Conflict(f"Product {product.sku} is on deals; set it inactive instead.")
    product.delete_instance(recursive=True)
