"""Reading the audit trail: filters and keyset pages, newest first."""
from __future__ import annotations

import datetime as dt

from crmkit.audit.models import AuditEvent
from crmkit.pagination import Page, keyset_page


def audit_page(*, object_type: str | None = None, object_id: str | None = None,
               actor_id: int | None = None, action: str | None = None,
               request_id: str | None = None, since: dt.datetime | None = None,
               until: dt.datetime | None = None, cursor: str | None = None,
               limit: int = 50) -> Page:
    """``action`` ending in ``.*`` matches a family (``token.*``)."""
    query = AuditEvent.select()
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action is not None:
        if action.endswith(".*"):
            query = query.where(AuditEvent.action.startswith(action[:-1]))
        else:
            query = query.where(AuditEvent.action == action)
    if request_id is not None:
        query = query.where(AuditEvent.request_id == request_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    # By id: ids grow with time, and the id index makes any page as cheap as the first.
    return keyset_page(query, AuditEvent.id, AuditEvent.id, True, cursor, limit, lambda e: e.id)
