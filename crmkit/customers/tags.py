"""Tags: free labels on customers, matched case-insensitively, created on first use."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from peewee import fn

from crmkit import audit
from crmkit.customers.models import CustomerTag, Tag
from crmkit.errors import NotFound, ValidationError
from crmkit.prepared import Prepared


def tag_problem(name: str) -> str | None:
    """What is wrong with a tag name (stripped), or None. A tag is 1-100 characters, and so is
    its key (lower case can be longer: "İ" becomes two characters), and holds no comma, which
    separates the tags of the list filter (``?tag=vip,newsletter``)."""
    if not name or max(len(name), len(name.lower())) > 100:
        return "Each tag must be 1 to 100 characters."
    if "," in name:
        return ("A tag cannot hold a comma: the tag filter separates tags with commas "
                "(?tag=vip,newsletter).")
    return None


def _clean(names: Iterable[str], field: str = "tags") -> dict[str, str]:
    """{key: name as first given}."""
    out: dict[str, str] = {}
    for raw in names:
        name = str(raw).strip()
        problem = tag_problem(name)
        if problem is not None:
            raise ValidationError({field: problem})
        out.setdefault(name.lower(), name)
    return out


def ensure_tags(names: Iterable[str]) -> list[Tag]:
    wanted = _clean(names)
    if not wanted:
        return []
    existing = {t.name_key: t for t in Tag.select().where(Tag.name_key.in_(list(wanted)))}
    missing = [{"name": wanted[k], "name_key": k} for k in wanted if k not in existing]
    if missing:
        Tag.insert_many(missing).on_conflict_ignore().execute()
        existing = {t.name_key: t for t in Tag.select().where(Tag.name_key.in_(list(wanted)))}
    return [existing[k] for k in wanted]


def set_tags(customer_id: int, names: Iterable[str]) -> None:
    """Make the customer's tags exactly ``names``."""
    tags = ensure_tags(names)
    CustomerTag.delete().where(CustomerTag.customer == customer_id).execute()
    if tags:
        CustomerTag.insert_many([{"customer": customer_id, "tag": t.id} for t in tags]).execute()


_TAGS_OF = Prepared(lambda: (
    Tag.select(Tag.name).join(CustomerTag).where(CustomerTag.customer == 0)
    .order_by(fn.LOWER(Tag.name))))


def tags_of(customer_id: int) -> list[str]:
    """One customer's tags, as :func:`tags_for` orders them (the query composed once)."""
    return [row[0] for row in _TAGS_OF.rows(customer_id)]


def tags_for(customer_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(customer_ids)
    out: dict[int, list[str]] = defaultdict(list)
    if ids:
        query = (CustomerTag.select(CustomerTag.customer, Tag.name).join(Tag)
                 .where(CustomerTag.customer.in_(ids)).order_by(fn.LOWER(Tag.name)).tuples())
        for customer_id, name in query:
            out[customer_id].append(name)
    return out


def list_tags() -> list[dict]:
    counts = (CustomerTag.select(CustomerTag.tag, fn.COUNT(CustomerTag.customer).alias("n"))
              .group_by(CustomerTag.tag))
    usage = {row.tag_id: row.n for row in counts}
    return [{"id": t.id, "name": t.name, "customers": usage.get(t.id, 0)}
            for t in Tag.select().order_by(Tag.name_key)]


def create_tag(name: str) -> tuple[dict, bool]:
    """The tag named ``name`` in any case, made if missing, as :func:`list_tags` lists it; and
    whether it was made."""
    _clean([name], field="name")
    existed = Tag.select().where(Tag.name_key == name.strip().lower()).exists()
    tag = ensure_tags([name])[0]
    if not existed:
        audit.record("tag.create", "tag", tag.id, changes={"name": [None, tag.name]})
    used = CustomerTag.select().where(CustomerTag.tag == tag.id).count()
    return {"id": tag.id, "name": tag.name, "customers": used}, not existed


def delete_tag(tag_id: int) -> None:
    tag = Tag.get_or_none(Tag.id == tag_id)
    if tag is None:
        raise NotFound(f"Tag {tag_id} does not exist.")
    removed = CustomerTag.delete().where(CustomerTag.tag == tag).execute()
    tag.delete_instance()
    audit.record("tag.delete", "tag", tag_id, changes={"name": [tag.name, None]},
                 detail={"removed_from_customers": removed})
