"""Permissions that the kernel and plugins declare, collected through ``register_permissions``."""
from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"^[a-z][a-z0-9_.]*:[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Permission:
    """A named right such as ``customers:read`` or ``sales.deals:write``."""

    name: str
    description: str = ""

    def __post_init__(self):
        if not _NAME.match(self.name):
            raise ValueError(
                f"permission name {self.name!r} must look like 'area:action' "
                "(lower case, e.g. 'sales.deals:write')")
