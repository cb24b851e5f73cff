"""Access control: users, teams, roles, API tokens, permissions and object-level scopes.

See docs/access.md. Plugin authors need :func:`requires`, :func:`protect`, :func:`public`
(endpoint permissions), :func:`crmkit.auth.scoping.visible` / ``get_visible`` (records with an
owner) and :func:`current_principal`.
"""
from crmkit.auth.declare import protect, public, requires
from crmkit.auth.principal import Principal, acting_as, current_principal

__all__ = ["Principal", "acting_as", "current_principal", "protect", "public", "requires"]
