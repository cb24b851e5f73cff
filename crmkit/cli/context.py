"""What every ``crmkit`` command shares: settings, the plugin manager and, on demand, the app."""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping

import click

from crmkit import db
from crmkit.config import ConfigError, load_config
from crmkit.plugins import CrmkitPluginManager, PluginError


class CliContext:
    """Passed as click's ``obj``; tests build one with their own config and throwaway plugins."""

    def __init__(self, config: Mapping[str, object] | None = None, plugins: Iterable[object] = ()):
        self.overrides = dict(config or {})
        self.extra_plugins = list(plugins)
        self._settings: dict | None = None
        self._pm: CrmkitPluginManager | None = None
        self._app = None
        self.plugin_commands: dict[str, click.Command] | None = None

    @property
    def settings(self) -> dict:
        if self._settings is None:
            try:
                self._settings = load_config(self.overrides)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from None
            logging.basicConfig(level=str(self._settings["LOG_LEVEL"]).upper(),
                                format="%(levelname)s %(name)s: %(message)s")
            logging.getLogger("peewee.migrations").setLevel(logging.WARNING)
        return self._settings

    def init_database(self) -> None:
        try:
            db.init_database(str(self.settings["DATABASE_URL"]),
                             int(self.settings["SQLITE_BUSY_TIMEOUT_MS"]),
                             int(self.settings["DB_POOL_SIZE"]))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None

    def plugin_manager(self) -> CrmkitPluginManager:
        """Plugins loaded leniently: broken ones are listed with their reason, never raised."""
        if self._app is not None:
            return self._app.extensions["crmkit"].pm
        if self._pm is None:
            from crmkit.app import load_plugins
            self.init_database()
            self._pm = load_plugins(self.settings, self.extra_plugins)
        return self._pm

    def app(self):
        """The full app; an enabled plugin that cannot run stops the command with its reason."""
        if self._app is None:
            from crmkit.app import create_app
            try:
                self._app = create_app(self.overrides, self.extra_plugins)
            except (PluginError, ConfigError, ValueError) as exc:
                raise click.ClickException(str(exc)) from None
        return self._app


def cli_context() -> CliContext:
    return click.get_current_context().ensure_object(CliContext)


def with_app(func):
    """Run a command inside the app context with a database connection open.

    Plugin commands use it too: ``@cli.command() @with_app def stats(): ...``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        app = cli_context().app()
        with app.app_context(), db.connection():
            return func(*args, **kwargs)

    return wrapper
