"""Recording to the audit trail: explicit records and the :class:`Audited` model mixin.

Records are written in the caller's transaction, so a change and its audit record are stored
together or not at all. Records that must outlive a refused request (a failed login) are written by
the caller in a transaction of their own.
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import peewee
from flask import g, has_request_context, request

from crmkit.audit.models import AuditEvent
from crmkit.db import utcnow

REDACTED = "[redacted]"
ERASED = "[erased]"


def _json_ready(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, peewee.Model):
        return value.get_id()
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    return value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
         secret: frozenset[str] | set[str] = frozenset()) -> dict[str, list]:
    """``{field: [before, after]}`` for the fields that differ; secret fields show as redacted."""
    before, after = before or {}, after or {}
    out = {}
    for name in list(before) + [n for n in after if n not in before]:
        if before.get(name) == after.get(name):  # by value: Decimal("9.5") == Decimal("9.50")
            continue
        old, new = _json_ready(before.get(name)), _json_ready(after.get(name))
        if old != new:
            out[name] = [REDACTED if old is not None else None,
                         REDACTED if new is not None else None] if name in secret else [old, new]
    return out


def actor_label() -> str:
    """How the audit trail names whoever is acting now (an email, ``cli:<user>``, anonymous)."""
    return _who()[1]


json_ready = _json_ready


def _who() -> tuple[int | None, str, int | None]:
    from crmkit.auth.principal import current_principal, operator_label
    principal = current_principal()
    if principal is not None:
        return principal.user_id, principal.label, principal.token_id
    if has_request_context():
        return None, "anonymous", None
    return None, operator_label(), None


def _row(action: str, object_type: str, object_id: object, changes: Mapping | None,
         detail: Mapping | None, actor: str | None) -> dict[str, Any]:
    actor_id, label, token_id = _who()
    request_id = ip = None
    if has_request_context():
        request_id = g.get("request_id")
        ip = request.remote_addr
    return dict(
        at=utcnow(), actor_id=actor_id, actor=(actor or label)[:254], token_id=token_id,
        action=action, object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        changes=_json_ready(dict(changes)) if changes else None,
        detail=_json_ready(dict(detail)) if detail else None, request_id=request_id, ip=ip)


def record(action: str, object_type: str, object_id: object = None,
           changes: Mapping[str, list] | None = None, detail: Mapping | None = None,
           actor: str | None = None) -> AuditEvent:
    """Append one audit record in the current transaction; who, when and the request id are
    filled in."""
    return AuditEvent.create(**_row(action, object_type, object_id, changes, detail, actor))


def record_even_if_refused(action: str, object_type: str, object_id: object = None,
                           changes: Mapping[str, list] | None = None,
                           detail: Mapping | None = None, actor: str | None = None) -> None:
    """Record something the request's own rollback must not erase (a failed login).

    In a request the record is written once the request's transaction has ended, in a
    transaction of its own; elsewhere at once.
    """
    row = _row(action, object_type, object_id, changes, detail, actor)
    if has_request_context():
        g.setdefault("crmkit_audit_after", []).append(row)
    else:
        AuditEvent.create(**row)


def write_deferred(exc: BaseException | None = None) -> None:
    """Teardown function: write what :func:`record_even_if_refused` kept for later."""
    rows = g.pop("crmkit_audit_after", None)
    if not rows:
        return
    from crmkit import db
    try:
        with db.connection(), db.write_transaction():
            AuditEvent.insert_many(rows).execute()
    except Exception:  # the answer is already sent; a full disk must not hide it
        import logging
        logging.getLogger("crmkit.audit").exception("could not write %d audit record(s)",
                                                    len(rows))


def redact_object(object_type: str, object_id: object, fields: set[str] | None = None) -> int:
    """Blank the recorded values of an erased object's personal fields; field names and who did
    what stay. Returns how many records were touched. Erasure is the only caller."""
    touched = 0
    query = AuditEvent.select().where(AuditEvent.object_type == object_type,
                                      AuditEvent.object_id == str(object_id),
                                      AuditEvent.changes.is_null(False))
    for event in query:
        changes = {name: ([ERASED if v is not None else None for v in values]
                          if fields is None or name in fields else values)
                   for name, values in event.changes.items()}
        if changes != event.changes:
            AuditEvent._redact(changes=changes).where(AuditEvent.id == event.id).execute()
            touched += 1
    return touched


def snapshot(instance: peewee.Model) -> dict[str, Any]:
    """Field values of a model instance, foreign keys as ids."""
    return {f.name: instance.__data__.get(f.name) for f in instance._meta.sorted_fields}


class Audited:
    """Mixin for models whose changes go to the audit trail: ``class Deal(Audited, BaseModel)``.

    ``save()`` records ``create`` or ``update`` (with the changed fields before and after) and
    ``delete_instance()`` records ``delete``. Bulk queries (``Model.update().where(...)``) bypass
    it: call :func:`record` yourself next to them. Fields in ``audit_secret`` are recorded as
    changed but never with their values; ``audit_ignore`` fields are not recorded at all.
    """

    audit_type: ClassVar[str | None] = None  # default: the table name
    audit_secret: ClassVar[frozenset[str]] = frozenset()
    audit_ignore: ClassVar[frozenset[str]] = frozenset({"updated_at"})

    @classmethod
    def _audit_type(cls) -> str:
        return cls.audit_type or cls._meta.table_name

    def _audit_view(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k not in self.audit_ignore}

    def save(self, *args, **kwargs):
        creating = self._pk is None or kwargs.get("force_insert", False)
        before = None
        if not creating:
            model = type(self)
            before = model.select().where(model._meta.primary_key == self._pk).dicts().first()
            creating = before is None
        result = super().save(*args, **kwargs)
        after = self._audit_view(snapshot(self))
        changes = diff(None if creating else self._audit_view(before), after, self.audit_secret)
        if creating or changes:
            record("create" if creating else "update", self._audit_type(), self._pk,
                   changes=changes)
        return result

    def delete_instance(self, *args, **kwargs):
        before = self._audit_view(snapshot(self))
        pk = self._pk
        result = super().delete_instance(*args, **kwargs)
        record("delete", self._audit_type(), pk, changes=diff(before, None, self.audit_secret))
        return result
