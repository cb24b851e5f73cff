"""The audit trail table. Rows are only ever inserted (see :class:`AuditEvent`)."""
from __future__ import annotations

import peewee

from crmkit.auth.fields import JSONField
from crmkit.db import BaseModel, UTCDateTimeField, utcnow


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete an audit record."""


class AuditEvent(BaseModel):
    at = UTCDateTimeField(default=utcnow, index=True)
    # Who: a user id for API calls (None for the operator), a readable label, and the token used.
    actor_id = peewee.IntegerField(null=True, index=True)
    actor = peewee.CharField(max_length=254)
    token_id = peewee.IntegerField(null=True)
    action = peewee.CharField(max_length=60, index=True)
    object_type = peewee.CharField(max_length=100)
    object_id = peewee.CharField(max_length=64, null=True)
    # {"field": [before, after]}; None when the action changes no fields (a login failure).
    changes = JSONField(null=True)
    detail = JSONField(null=True)
    request_id = peewee.CharField(max_length=64, null=True, index=True)
    ip = peewee.CharField(max_length=45, null=True)

    class Meta:
        table_name = "audit_event"
        indexes = ((("object_type", "object_id"), False),)

    # Append-only in the application: the ways peewee offers to change rows all refuse.
    def save(self, *args, **kwargs):
        if self._pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit records cannot be changed")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise AppendOnlyError("audit records cannot be deleted")

    @classmethod
    def update(cls, *args, **kwargs):
        raise AppendOnlyError("audit records cannot be changed")

    @classmethod
    def delete(cls, *args, **kwargs):
        raise AppendOnlyError("audit records cannot be deleted")

    @classmethod
    def _redact(cls, **kwargs):
        """The one sanctioned change: erasure blanks personal values (see trail.redact_object)."""
        return super().update(**kwargs)
