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

    Strings and integers are exact. A JSON number with a fraction arrives as a float; it is read
    back as the shortest decimal that round-trips (``1200.1`` stays ``1200.1``), which is what the
    sender wrote for any amount of up to 15 digits. Strings are still the safe choice.
    """
    if isinstance(value, bool):
        errors[field] = "Not a valid number."
        return None
    if isinstance(value, float):
        value = repr(value)
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
