"""Pairs of customers marked "not duplicates": a person checked them and they are two.

Duplicate candidates keep offering a pair until someone says otherwise; a mark says it once. A pair
is one row whatever the order it is given in (the lower id first). The candidate list leaves
marked pairs out (:func:`drop_marked`): a group keeps each customer that still has an unmarked
partner in it, and is dropped when fewer than two remain. Marking and unmarking are audited on
both customers. Merging a customer away or erasing it removes its marks (:func:`forget`): its
row no longer stands for anyone to compare with.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from crmkit import audit
from crmkit.customers.models import Customer, NotDuplicate
from crmkit.errors import NotFound, ValidationError
from crmkit.pagination import Page, clamp_limit, keyset_page

ENTITY = "customer"


def pair_of(a: int, b: int) -> tuple[int, int]:
    """The pair in stored order; the same customer twice is a 422."""
    if a == b:
        raise ValidationError({"customer_ids": "Two different customers, not one twice."})
    return (a, b) if a < b else (b, a)


def _check_customers(low: int, high: int) -> None:
    """404 for a customer that does not exist, the caller may not see, or was merged away.

    Both rows stay locked (in id order, as a merge locks them) until the transaction ends: a
    merge of either cannot remove their marks while a mark is being written.
    """
    from crmkit.customers.service import get_customer
    get_customer(low, lock=True)
    get_customer(high, lock=True)


def _current_user_id() -> int | None:
    from crmkit.auth.principal import current_principal
    principal = current_principal()
    return principal.user_id if principal is not None else None


def _find(low: int, high: int) -> NotDuplicate | None:
    return NotDuplicate.get_or_none((NotDuplicate.customer_low == low)
                                    & (NotDuplicate.customer_high == high))


def mark(a: int, b: int) -> tuple[NotDuplicate, bool]:
    """Mark ``a`` and ``b`` as not duplicates; (the mark, whether it is new). Marking a marked
    pair again changes nothing."""
    low, high = pair_of(a, b)
    _check_customers(low, high)
    existing = _find(low, high)
    if existing is not None:
        return existing, False
    row = NotDuplicate.create(customer_low=low, customer_high=high,
                              created_by=_current_user_id())
    for one, other in ((low, high), (high, low)):
        audit.record("customer.not_duplicate", ENTITY, one,
                     changes={"not_duplicate_of": [None, other]}, detail={"other_id": other})
    return row, True


def unmark(a: int, b: int) -> None:
    """Remove a mark: the pair may be offered as duplicates again. 404 when not marked."""
    low, high = pair_of(a, b)
    _check_customers(low, high)
    existing = _find(low, high)
    if existing is None:
        raise NotFound(f"Customers {low} and {high} are not marked as not duplicates.")
    existing.delete_instance()
    for one, other in ((low, high), (high, low)):
        audit.record("customer.not_duplicate_removed", ENTITY, one,
                     changes={"not_duplicate_of": [other, None]}, detail={"other_id": other})


def mark_dict(row: NotDuplicate) -> dict:
    return {"customer_ids": [row.customer_low_id, row.customer_high_id],
            "created_by": row.created_by, "created_at": row.created_at}


def list_marks(params: Mapping[str, object], max_page_size: int) -> Page:
    """Marked pairs, newest first; ``customer_id`` keeps the pairs one customer is in. Only pairs
    of two customers the caller may see are listed."""
    from crmkit.auth.scoping import scope_condition
    query = NotDuplicate.select()
    customer_id = params.get("customer_id")
    if customer_id is not None:
        query = query.where((NotDuplicate.customer_low == customer_id)
                            | (NotDuplicate.customer_high == customer_id))
    scope = scope_condition(Customer)
    if scope is not None:
        seen = Customer.select(Customer.id).where(scope)
        query = query.where(NotDuplicate.customer_low.in_(seen)
                            & NotDuplicate.customer_high.in_(seen))
    limit = clamp_limit(params.get("limit"), max_page_size)
    return keyset_page(query, NotDuplicate.id, NotDuplicate.id, True, params.get("cursor"),
                       limit, lambda row: row.id)


def marked_among(ids: Iterable[int]) -> set[tuple[int, int]]:
    """The marked pairs both of whose customers are in ``ids``."""
    ids = sorted(set(ids))
    if len(ids) < 2:
        return set()
    return set(NotDuplicate.select(NotDuplicate.customer_low, NotDuplicate.customer_high)
               .where(NotDuplicate.customer_low.in_(ids) & NotDuplicate.customer_high.in_(ids))
               .tuples())


def drop_marked(candidates: list, customer_id: int | None = None) -> list:
    """``candidates`` without their marked pairs: each group keeps the customers with at least
    one unmarked partner in it (if every pair of a customer is marked, nobody there is its
    duplicate); groups left with fewer than two, or without ``customer_id`` when given, go."""
    marked = marked_among(i for c in candidates for i in c.customer_ids)
    if not marked:
        return candidates
    out = []
    for candidate in candidates:
        ids = candidate.customer_ids
        keep = [i for i in ids
                if any((min(i, j), max(i, j)) not in marked for j in ids if j != i)]
        if len(keep) < 2 or (customer_id is not None and customer_id not in keep):
            continue
        candidate.customer_ids = keep
        out.append(candidate)
    return out


def forget(customer_id: int) -> int:
    """Remove every mark of a customer merged away or erased; returns how many went."""
    return (NotDuplicate.delete()
            .where((NotDuplicate.customer_low == customer_id)
                   | (NotDuplicate.customer_high == customer_id)).execute())


__all__ = ["drop_marked", "forget", "list_marks", "mark", "mark_dict", "marked_among",
           "pair_of", "unmark"]
