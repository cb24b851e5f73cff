"""Money arithmetic: Decimal only, rounded to cents half up at each documented step."""
from __future__ import annotations

import decimal
import re

CENT = decimal.Decimal("0.01")
HUNDRED = decimal.Decimal(100)
ZERO = decimal.Decimal("0.00")
# The largest amount a money column holds (18 digits, 2 places).
MAX_AMOUNT = decimal.Decimal(10) ** 16
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def to_decimal(value, field: str, errors: dict, *, minimum=decimal.Decimal(0),
               maximum=MAX_AMOUNT) -> decimal.Decimal | None:
    """``value`` as a finite Decimal within bounds, or None with a message in ``errors``.

    Floats are refused: 0.1 + 0.2 is not money. Strings and ints are exact.
    """
    if isinstance(value, (float, bool)):
        errors[field] = "Send amounts as strings or integers, not floating-point numbers."
        return None
    try:
        amount = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError, TypeError):
        errors[field] = "Not a valid number."
        return None
    if not amount.is_finite():
        errors[field] = "Not a valid number."
        return None
    if minimum is not None and amount < minimum:
        errors[field] = f"Must be at least {minimum}."
        return None
    if maximum is not None and amount >= maximum:
        errors[field] = f"Must be below {maximum}."
        return None
    return amount


def round_money(value: decimal.Decimal) -> decimal.Decimal:
    """To the cent, half up (commercial rounding; Python's default would be half even)."""
    return value.quantize(CENT, rounding=decimal.ROUND_HALF_UP)


def percent_of(amount: decimal.Decimal, rate: decimal.Decimal) -> decimal.Decimal:
    return round_money(amount * rate / HUNDRED)


def check_currency(value, field: str, errors: dict) -> str | None:
    code = str(value or "").strip().upper()
    if not _CURRENCY.match(code):
        errors[field] = "An ISO 4217 code such as EUR."
        return None
    return code
