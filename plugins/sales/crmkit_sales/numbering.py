"""Gap-free document numbers.

A number is taken by incrementing a counter row inside the transaction that stores the document.
The UPDATE locks the row (PostgreSQL) or runs under the write lock the request already holds
(SQLite, BEGIN IMMEDIATE), so a concurrent request waits for the commit and then takes the next
number; a transaction that rolls back gives its increment back. Hence no duplicates and no gaps,
at the price of serialising document creation per sequence, which is what gap-free means.
"""
from __future__ import annotations

from crmkit.db import database

from crmkit_sales.models import Sequence

PREFIXES = {"quote": "Q", "invoice": "INV", "payment": "PAY", "contract": "CON", "other": "DOC"}


def next_value(name: str) -> int:
    """The next value of sequence ``name`` (1 for a new one), taken in the caller's transaction.

    Must run inside a write transaction: the number only counts if that transaction commits.
    """
    if not database.in_transaction():
        raise RuntimeError("next_value must run inside the transaction that uses the number")
    Sequence.insert(name=name, value=0).on_conflict_ignore().execute()
    Sequence.update(value=Sequence.value + 1).where(Sequence.name == name).execute()
    return Sequence.select(Sequence.value).where(Sequence.name == name).scalar()


def document_number(kind: str, year: int) -> str:
    """``PAY-2025-00042``: one gap-free sequence per document kind and year."""
    prefix = PREFIXES.get(kind, "DOC")
    return f"{prefix}-{year}-{next_value(f'document:{kind}:{year}'):05d}"
