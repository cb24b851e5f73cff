"""How an endpoint declares the permission it needs.

Three ways, most specific first:

- ``@requires("sales.deals:write")`` on a view function or a MethodView method (or on the
  MethodView class, for all its methods);
- ``protect(blp, read="sales.deals:read", write="sales.deals:write")``: a blueprint-wide default,
  ``read`` for GET and HEAD, ``write`` for every other method;
- ``@public``: no token needed (health checks, documentation, login).

An endpoint that declares nothing is closed to everyone but roles granting ``*`` (admin), and
``tests/test_access_urlmap.py`` fails for it. OPTIONS is always answered without a token.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask

F = TypeVar("F", bound=Callable)

PUBLIC = "public"
# Any valid credential, whatever its permissions ("who am I", one's own settings).
AUTHENTICATED = "authenticated"
_ATTR = "_crmkit_permission"
_BLUEPRINT_ATTR = "_crmkit_permissions"
_SAFE = frozenset({"GET", "HEAD"})

# Routes the kernel itself serves without a token: health and the API documentation.
PUBLIC_ENDPOINTS = frozenset({"healthz", "swagger_ui_static", "static"})
PUBLIC_BLUEPRINTS = frozenset({"api-docs"})


def requires(permission: str) -> Callable[[F], F]:
    """Declare the permission a view, MethodView method or MethodView class needs."""

    def mark(view: F) -> F:
        setattr(view, _ATTR, permission)
        return view

    return mark


def public(view: F) -> F:
    """Declare a view that answers without a token."""
    setattr(view, _ATTR, PUBLIC)
    return view


def protect(blueprint, read: str, write: str | None = None):
    """Give every endpoint of ``blueprint`` a default permission: ``read`` for GET/HEAD, ``write``
    (default: ``read``) for the other methods. Methods marked with :func:`requires` win."""
    setattr(blueprint, _BLUEPRINT_ATTR, {"read": read, "write": write or read})
    return blueprint


def required_permission(app: Flask, endpoint: str, method: str) -> str | None:
    """What ``method`` on ``endpoint`` needs: a permission name, :data:`PUBLIC`, or None when the
    endpoint declares nothing."""
    if endpoint in PUBLIC_ENDPOINTS:
        return PUBLIC
    view = app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        handler = getattr(view_class, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(view_class, "get", None)
        for holder in (handler, view_class):
            if holder is not None and getattr(holder, _ATTR, None):
                return getattr(holder, _ATTR)
    elif getattr(view, _ATTR, None):
        return getattr(view, _ATTR)
    blueprint_name, _, _ = endpoint.rpartition(".")
    if blueprint_name in PUBLIC_BLUEPRINTS:
        return PUBLIC
    blueprint = app.blueprints.get(blueprint_name)
    defaults = getattr(blueprint, _BLUEPRINT_ATTR, None) if blueprint is not None else None
    if defaults:
        return defaults["read"] if method in _SAFE else defaults["write"]
    return None


def declared_endpoints(app: Flask) -> list[tuple[str, str, str, str | None]]:
    """``(rule, method, endpoint, permission)`` for every route and method of ``app``."""
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"OPTIONS"}):
            out.append((rule.rule, method, rule.endpoint,
                        required_permission(app, rule.endpoint, method)))
    return out
