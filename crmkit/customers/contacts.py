"""Normalising emails and phone numbers, so duplicates are found whatever way they were typed."""
from __future__ import annotations

import re

import phonenumbers

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is not our business.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> tuple[str | None, str | None]:
    """(address as typed but trimmed, None) or (None, why it is not an email)."""
    email = (raw or "").strip()
    if not _EMAIL.match(email) or len(email) > 320:
        return None, "Not a valid email address."
    return email, None


def email_key(email: str) -> str:
    return email.strip().lower()


def normalize_phone(raw: str, default_region: str | None = None) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, why not). Without a default region the number must carry
    its country code (+44 ...)."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        hint = "" if default_region else " (use the international form, e.g. +44 20 7946 0958)"
        return None, f"Not a valid phone number{hint}."
    if not phonenumbers.is_valid_number(number):
        return None, "Not a valid phone number."
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None
