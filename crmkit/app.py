"""The application factory."""
from __future__ import annotations

import datetime as dt
import decimal

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import flask_smorest
from flask import Flask, g, jsonify, request
from flask.json.provider import DefaultJSONProvider

from crmkit import db, errors
from crmkit.config import load_config, plugin_override
from crmkit.plugin_state import stored_choices
from crmkit.plugins import KERNEL, CrmkitPluginManager, PluginError, build_plugin_manager

API_PREFIX = "/api/v1"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class JSONProvider(DefaultJSONProvider):
    """ISO 8601 times and exact decimals everywhere, not Flask's HTTP-date default."""

    @staticmethod
    def default(o):
        if isinstance(o, (dt.datetime, dt.date)):
            return o.isoformat()
        if isinstance(o, decimal.Decimal):
            return str(o)
        return DefaultJSONProvider.default(o)


class Api(flask_smorest.Api):
    """flask-smorest's Api documenting crmkit's single error shape."""

    ERROR_SCHEMA = errors.ErrorSchema


@dataclass
class Crmkit:
    """What the kernel keeps on ``app.extensions["crmkit"]``."""

    config: dict
    pm: CrmkitPluginManager
    api: Api
    models: dict[str, list[type]]


def load_plugins(config: Mapping, extra: Iterable[object] = ()) -> CrmkitPluginManager:
    """Plugins as this installation has them: stored choices, unless ``CRMKIT_PLUGINS`` pins them."""
    override = plugin_override(config)
    choices = {} if override is not None else stored_choices()
    return build_plugin_manager(extra, choices, override)


def create_app(config: Mapping[str, object] | None = None,
               plugins: Iterable[object] = ()) -> Flask:
    """Build the crmkit Flask app.

    ``config`` overrides ``CRMKIT_*`` environment settings; ``plugins`` are extra plugin objects
    registered next to the installed ones (tests use it for throwaway plugins).
    Raises :class:`PluginError` when an enabled plugin cannot run.
    """
    settings = load_config(config)
    db.init_database(str(settings["DATABASE_URL"]), int(settings["SQLITE_BUSY_TIMEOUT_MS"]),
                     int(settings["DB_POOL_SIZE"]))
    pm = load_plugins(settings, plugins)
    pm.raise_on_errors()

    app = Flask("crmkit")
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.config.update(
        API_TITLE="crmkit",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/docs/static/",
        JSON_SORT_KEYS=False,
    )
    app.config.update({f"CRMKIT_{k}": v for k, v in settings.items()})
    from crmkit.idempotency import OpenAPIDocs
    api = Api(app, spec_kwargs={"extra_plugins": [OpenAPIDocs(app)]})
    from crmkit import openapi_types
    openapi_types.install(app, api)  # bounded ids, decimals as strings: before any route exists
    errors.init_app(app)  # after Api, so our handlers replace flask-smorest's
    _init_request_lifecycle(app)
    _init_docs_assets(app)

    models = _collect(pm, "register_models")
    app.extensions["crmkit"] = Crmkit(settings, pm, api, models)
    for plugin, blueprints in _collect(pm, "register_blueprints").items():
        prefix = API_PREFIX if plugin == KERNEL else f"{API_PREFIX}/{plugin}"
        for blp in blueprints:
            try:
                api.register_blueprint(blp, url_prefix=prefix + (blp.url_prefix or ""))
            except Exception as exc:
                raise PluginError(f"plugin {plugin!r}: blueprint {blp.name!r} could not be "
                                  f"mounted: {exc}") from exc
    app.add_url_rule("/healthz", "healthz", healthz)
    # Authentication, permissions, rate limits and idempotency: after every route exists.
    from crmkit.auth.gate import init_app as init_access
    init_access(app)
    return app


def _collect(pm: CrmkitPluginManager, hook: str) -> dict[str, list]:
    """Run a registration hook plugin by plugin; a failure names the plugin."""
    return {plugin: list(result or []) for plugin, result in pm.call_each(hook, _name_errors=True)}


def _init_request_lifecycle(app: Flask) -> None:
    """One connection per request; one transaction per writing request."""

    # Reads connect lazily on their first query, so /healthz can answer while the database is down.
    @app.before_request
    def _open():
        if request.method not in _SAFE_METHODS:
            tx = db.write_transaction()
            tx.__enter__()
            g.crmkit_tx = tx  # only once it is open, so a failed BEGIN is not "rolled back"

    @app.after_request
    def _finish(response):
        tx = g.pop("crmkit_tx", None)
        if tx is not None:
            if response.status_code < 400:
                tx.__exit__(None, None, None)
            else:
                # An error answer stores nothing, even if a handler wrote before failing.
                tx.__exit__(_Rollback, _Rollback(), None)
        return response

    @app.teardown_request
    def _close(exc):
        tx = g.pop("crmkit_tx", None)
        if tx is not None:
            tx.__exit__(_Rollback, _Rollback(), None)
        if not db.database.is_closed():
            db.database.close()


class _Rollback(Exception):
    pass


def _init_docs_assets(app: Flask) -> None:
    """Serve Swagger UI from the installed swagger-ui-bundle package: /docs works offline."""
    import swagger_ui_bundle
    from flask import send_from_directory

    @app.route("/docs/static/<path:filename>")
    def swagger_ui_static(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def healthz():
    """Database reachability and enabled plugins; 503 when the database does not answer."""
    state = _crmkit()
    problem = db.ping()
    body = {
        "status": "ok" if problem is None else "unavailable",
        "database": {"ok": problem is None, "engine": "sqlite" if db.is_sqlite() else "postgresql"},
        "plugins": state.pm.active_names(),
    }
    if problem is not None:
        body["database"]["error"] = problem
    return jsonify(body), 200 if problem is None else 503


def _crmkit() -> Crmkit:
    from flask import current_app
    return current_app.extensions["crmkit"]
