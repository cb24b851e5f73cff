"""The audit trail: who changed what, when, from which request. Append-only.

``record(action, object_type, object_id, changes=...)`` for explicit records; the
:class:`Audited` mixin for models whose every save and delete is recorded.
"""
from crmkit.audit.trail import (Audited, diff, record, record_even_if_refused, redact_object,
                                snapshot)

__all__ = ["Audited", "diff", "record", "record_even_if_refused", "redact_object", "snapshot"]
