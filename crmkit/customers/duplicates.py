"""Duplicate candidates: customers that are probably one person or company entered twice.

Three rules, each a blocking key the database groups on, so no rule compares every customer with
every other:

- ``email``: the same mailbox once case, a ``+tag`` sub-address and the dots Gmail ignores are set
  aside (``Anna.Smith+shop@Gmail.com`` is ``annasmith@gmail.com``). Case alone cannot make two
  customers: an address belongs to one customer whatever its case.
- ``phone``: the same E.164 number (numbers are stored normalised, so any typing matches).
- ``name``: people of one company whose names match once case, accents, punctuation and word
  order are set aside, or differ by a typo. The company is the block: names are compared only
  within one, in Python, so the cost grows with company sizes, not with all customers squared.

A candidate is a group of two or more active (not merged) customers sharing one key. The list is
ordered by rule, then key, and paged with a cursor on (rule, key): each page is a few grouped,
limited queries whatever the page number. Pairs a person marked "not duplicates"
(:mod:`crmkit.customers.not_duplicates`) are left out.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from peewee import Case, fn

from crmkit.customers.models import PERSON, Customer, CustomerEmail, CustomerPhone, Interaction
from crmkit.db import is_sqlite
from crmkit.errors import ValidationError
from crmkit.pagination import Page, clamp_limit, make_cursor, read_cursor

RULES = ("email", "phone", "name")
# Providers that ignore dots in the mailbox name (and are one domain under two names).
GMAIL = ("gmail.com", "googlemail.com")
# Names within one company count as similar from this ratio (difflib, on folded names) ...
SIMILAR_RATIO = 0.9
# ... when they share a word that at most this many people of the company have.
COMMON_WORD_LIMIT = 50
# Companies fetched per query while looking for name candidates.
_COMPANY_BATCH = 200


@dataclass
class Candidate:
    rule: str
    match: str  # what the customers share: the mailbox, the number, or the name
    customer_ids: list[int]
    company_id: int | None = None
    key: object = None  # where this candidate sorts within its rule (for the cursor)
    customers: list[dict] = field(default_factory=list)
    suggested_survivor_id: int | None = None

    def as_dict(self) -> dict:
        return {"rule": self.rule, "match": self.match, "company_id": self.company_id,
                "customer_ids": self.customer_ids, "customers": self.customers,
                "suggested_survivor_id": self.suggested_survivor_id}


# -- keys -----------------------------------------------------------------------------------------

def fold_name(name: str) -> str:
    """A name with case, accents, punctuation and word order set aside: ``"Müller-Lüdenscheidt,
    Hans"`` and ``"hans muller ludenscheidt"`` fold alike."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(sorted(re.findall(r"[^\W_]+", text)))


def canonical_email(email: str) -> str:
    """The mailbox an address reaches, as the ``email`` rule compares it (mirrors the SQL)."""
    key = email.strip().lower()
    local, _, domain = key.rpartition("@")
    plus = local.find("+")
    if plus > 0:
        local = local[:plus]
    if domain in GMAIL:
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def _position(haystack, needle: str):
    return fn.INSTR(haystack, needle) if is_sqlite() else fn.STRPOS(haystack, needle)


def _canonical_email_sql(column):
    """:func:`canonical_email` as a SQL expression on a lower-cased address column."""
    at = _position(column, "@")
    local = fn.SUBSTR(column, 1, at - 1)
    domain = fn.SUBSTR(column, at + 1)
    plus = _position(local, "+")
    base = Case(None, [(plus > 1, fn.SUBSTR(local, 1, plus - 1))], local)
    return Case(None, [(domain.in_(list(GMAIL)), fn.REPLACE(base, ".", "").concat("@gmail.com"))],
                base.concat("@").concat(domain))


# -- the rules ------------------------------------------------------------------------------------

def _active(scope) -> list:
    conditions = [Customer.merged_into.is_null()]
    if scope is not None:
        conditions.append(scope)
    return conditions


def _email_candidates(after, limit: int, scope, customer_id: int | None) -> list[Candidate]:
    # Grouped in an outer query: PostgreSQL cannot match a GROUP BY expression that carries
    # parameters against the same expression in the SELECT list.
    rows = (CustomerEmail
            .select(_canonical_email_sql(CustomerEmail.email_key).alias("mailbox"),
                    CustomerEmail.customer.alias("cid"))
            .join(Customer, on=(CustomerEmail.customer == Customer.id))
            .where(*_active(scope))
            .alias("mailboxes"))
    shared = (Customer.select(rows.c.mailbox).from_(rows)
              .group_by(rows.c.mailbox)
              .having(fn.COUNT(fn.DISTINCT(rows.c.cid)) > 1)
              .order_by(rows.c.mailbox).limit(limit))
    if after is not None:
        shared = shared.where(rows.c.mailbox > after)
    if customer_id is not None:
        own = Customer.select(rows.c.mailbox).from_(rows).where(rows.c.cid == customer_id)
        shared = shared.where(rows.c.mailbox.in_(own))
    keys = [k for (k,) in shared.tuples()]
    if not keys:
        return []
    members: dict[str, set[int]] = {k: set() for k in keys}
    for mailbox, cid in (Customer.select(rows.c.mailbox, rows.c.cid).from_(rows)
                         .where(rows.c.mailbox.in_(keys)).tuples()):
        members[mailbox].add(cid)
    return [Candidate("email", k, sorted(members[k]), key=k) for k in keys]


def _phone_candidates(after, limit: int, scope, customer_id: int | None) -> list[Candidate]:
    shared = (CustomerPhone.select(CustomerPhone.number)
              .join(Customer, on=(CustomerPhone.customer == Customer.id))
              .where(*_active(scope))
              .group_by(CustomerPhone.number)
              .having(fn.COUNT(fn.DISTINCT(CustomerPhone.customer)) > 1)
              .order_by(CustomerPhone.number).limit(limit))
    if after is not None:
        shared = shared.where(CustomerPhone.number > after)
    if customer_id is not None:
        # The customer's own numbers only if the caller may see it: else its number would
        # show through the group of the others holding it.
        shared = shared.where(CustomerPhone.number.in_(
            CustomerPhone.select(CustomerPhone.number)
            .join(Customer, on=(CustomerPhone.customer == Customer.id))
            .where(CustomerPhone.customer == customer_id, *_active(scope))))
    keys = [k for (k,) in shared.tuples()]
    if not keys:
        return []
    members: dict[str, set[int]] = {k: set() for k in keys}
    for number, cid in (CustomerPhone.select(CustomerPhone.number, CustomerPhone.customer)
                        .join(Customer, on=(CustomerPhone.customer == Customer.id))
                        .where(CustomerPhone.number.in_(keys), *_active(scope)).tuples()):
        members[number].add(cid)
    return [Candidate("phone", k, sorted(members[k]), key=k) for k in keys]


def similar_names(a: str, b: str) -> bool:
    """Folded names that are equal, or close enough to be one name mistyped."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 2:
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= SIMILAR_RATIO and matcher.ratio() >= SIMILAR_RATIO


def name_groups(people: list[tuple[int, str]]) -> list[list[int]]:
    """Groups (two or more ids, ascending) of one company's people with similar names.

    Equal folded names group at once. For typos, only names sharing a word are compared (a
    typo rarely hits every word), and a word more than :data:`COMMON_WORD_LIMIT` people share
    is no evidence: so a large company costs little more than a small one.
    """
    folded = [(pid, fold_name(name)) for pid, name in sorted(people)]
    parent = {pid: pid for pid, _ in folded}

    def root(pid):
        while parent[pid] != pid:
            parent[pid] = parent[parent[pid]]
            pid = parent[pid]
        return pid

    def join(a, b):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_with: dict[str, int] = {}
    for pid, key in folded:
        if key in first_with:
            join(first_with[key], pid)
        else:
            first_with[key] = pid
    by_word: dict[str, list[str]] = {}
    for key in first_with:
        for word in set(key.split()):
            by_word.setdefault(word, []).append(key)
    compared: set[tuple[str, str]] = set()
    for keys in by_word.values():
        if len(keys) > COMMON_WORD_LIMIT:
            continue
        for i, key_a in enumerate(keys):
            for key_b in keys[i + 1:]:
                pair = (key_a, key_b) if key_a < key_b else (key_b, key_a)
                if pair not in compared:
                    compared.add(pair)
                    if similar_names(key_a, key_b):
                        join(first_with[key_a], first_with[key_b])
    groups: dict[int, list[int]] = {}
    for pid, _ in folded:
        groups.setdefault(root(pid), []).append(pid)
    return sorted(g for g in groups.values() if len(g) > 1)


def _name_candidates(after, limit: int, scope, customer_id: int | None) -> list[Candidate]:
    people = Customer.kind == PERSON
    out: list[Candidate] = []
    after_company = after[0] if after is not None else None
    if customer_id is not None:
        own = Customer.get_or_none(Customer.id == customer_id)
        if own is None or own.company_id is None:
            return []
        only = [own.company_id]
    while len(out) < limit:
        if customer_id is not None:
            companies = [c for c in only if after_company is None or c >= after_company]
            only = []
        else:
            blocks = (Customer.select(Customer.company)
                      .where(Customer.company.is_null(False), people, *_active(scope))
                      .group_by(Customer.company).having(fn.COUNT(Customer.id) > 1)
                      .order_by(Customer.company).limit(_COMPANY_BATCH))
            if after_company is not None:
                blocks = blocks.where(Customer.company >= after_company)
            companies = [c for (c,) in blocks.tuples()]
        if not companies:
            break
        members: dict[int, list[tuple[int, str]]] = {c: [] for c in companies}
        for pid, company, name in (Customer.select(Customer.id, Customer.company, Customer.name)
                                   .where(Customer.company.in_(companies), people,
                                          *_active(scope)).tuples()):
            members[company].append((pid, name))
        names = {pid: name for block in members.values() for pid, name in block}
        for company in companies:
            for group in name_groups(members[company]):
                key = [company, group[0]]
                if after is not None and key <= list(after):
                    continue
                if customer_id is not None and customer_id not in group:
                    continue
                out.append(Candidate("name", names[group[0]], group, company_id=company,
                                     key=key))
        after_company = companies[-1] + 1
    return out[:limit]


FINDERS = {"email": _email_candidates, "phone": _phone_candidates, "name": _name_candidates}
# Candidates fetched at most per query while marked pairs thin a page out.
_REFILL_LIMIT = 500


def _unmarked(rule: str, after, want: int, scope, customer_id: int | None) -> list[Candidate]:
    """Up to ``want`` candidates of ``rule`` after ``after``, without pairs marked not
    duplicates: when marks empty some of a batch, the next batch starts after it, so a page is
    still full and the cursor still exact."""
    from crmkit.customers.not_duplicates import drop_marked
    out: list[Candidate] = []
    ask = want
    while len(out) < want:
        batch = FINDERS[rule](after, ask, scope, customer_id)
        out += drop_marked(batch, customer_id)
        if len(batch) < ask:
            break
        after = batch[-1].key
        ask = min(ask * 2, max(want, _REFILL_LIMIT))
    return out[:want]


# -- the list -------------------------------------------------------------------------------------

def _parse_rules(raw) -> list[str]:
    if raw in (None, ""):
        return list(RULES)
    rules = [r.strip() for r in (raw if isinstance(raw, (list, tuple)) else str(raw).split(","))]
    bad = [r for r in rules if r not in RULES]
    if bad:
        raise ValidationError({"rule": f"Unknown rule {bad[0]!r}; one of: {', '.join(RULES)}."},
                              location="query")
    return [r for r in RULES if r in rules]


# Marks this list's cursors, so one of another list is refused rather than misread.
_CURSOR_TAG = "duplicates"


def _make_position(candidate: Candidate) -> str:
    return make_cursor([_CURSOR_TAG, RULES.index(candidate.rule), candidate.key], 0)


def _read_position(cursor: str | None) -> tuple[int, object]:
    if not cursor:
        return 0, None
    value, _ = read_cursor(cursor)
    valid = isinstance(value, list) and len(value) == 3 and value[0] == _CURSOR_TAG \
        and isinstance(value[1], int) and 0 <= value[1] < len(RULES)
    if valid:
        rank, key = value[1], value[2]
        valid = (isinstance(key, list) and len(key) == 2
                 and all(isinstance(k, int) for k in key)) if RULES[rank] == "name" \
            else isinstance(key, str)
    if not valid:
        raise ValidationError({"cursor": "Not a cursor returned by this list."}, location="query")
    return rank, key


def _describe(candidates: list[Candidate]) -> None:
    """Fill each candidate's customers and a suggested survivor: the one with the longest
    timeline, the oldest on a tie (most history stays where it is)."""
    ids = sorted({i for c in candidates for i in c.customer_ids})
    if not ids:
        return
    rows = {c.id: c for c in Customer.select(
        Customer.id, Customer.kind, Customer.name, Customer.email, Customer.phone,
        Customer.status, Customer.company, Customer.owner_id, Customer.created_at)
        .where(Customer.id.in_(ids))}
    counts = dict(Interaction.select(Interaction.customer, fn.COUNT(Interaction.id))
                  .where(Interaction.customer.in_(ids)).group_by(Interaction.customer).tuples())
    for candidate in candidates:
        candidate.customers = [{
            "id": rows[i].id, "kind": rows[i].kind, "name": rows[i].name,
            "email": rows[i].email, "phone": rows[i].phone, "status": rows[i].status,
            "company_id": rows[i].company_id, "owner_id": rows[i].owner_id,
            "created_at": rows[i].created_at, "interactions": counts.get(i, 0),
        } for i in candidate.customer_ids if i in rows]
        candidate.suggested_survivor_id = min(
            candidate.customer_ids, key=lambda i: (-counts.get(i, 0), i))
        if candidate.rule == "name" and candidate.customer_ids[0] in rows:
            # The first one's name, also when marks took the group's first customer out.
            candidate.match = rows[candidate.customer_ids[0]].name


def find_duplicates(params: Mapping[str, object], max_page_size: int) -> Page:
    """One page of duplicate candidates.

    ``params``: ``rule`` (comma list of email, phone, name; default all), ``customer_id`` (only
    candidates this customer is part of), ``cursor`` and ``limit``. Only customers the caller may
    see are considered.
    """
    from crmkit.auth.scoping import scope_condition
    limit = clamp_limit(params.get("limit"), max_page_size)
    rules = _parse_rules(params.get("rule"))
    start, after = _read_position(params.get("cursor"))
    customer_id = params.get("customer_id")
    scope = scope_condition(Customer)
    found: list[Candidate] = []
    for rank, rule in enumerate(RULES):
        if rank < start or rule not in rules:
            continue
        found += _unmarked(rule, after if rank == start else None, limit + 1 - len(found),
                           scope, customer_id)
        if len(found) > limit:
            break
    more = len(found) > limit
    found = found[:limit]
    _describe(found)
    next_cursor = _make_position(found[-1]) if more else None
    return Page(found, next_cursor, limit)


def duplicates_of(customer_id: int, rules: Iterable[str] = RULES) -> list[Candidate]:
    """Every candidate group one customer belongs to (for a profile or an import check)."""
    out, cursor = [], None
    for _ in range(1000):  # bounded: one customer is in few groups
        page = find_duplicates({"customer_id": customer_id, "rule": ",".join(rules),
                                "cursor": cursor, "limit": 50}, 50)
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return out


__all__ = ["Candidate", "RULES", "canonical_email", "duplicates_of", "find_duplicates",
           "fold_name", "name_groups", "similar_names"]
