"""pytest plugin for crmkit and plugin authors (registered through the ``pytest11`` entry point).

Fixtures: ``app``, ``client`` (authenticated as an administrator), ``anon_client``, ``runner``,
``db``, and the factories ``make_app`` / ``make_runner`` that take throwaway plugin objects for one
test, ``make_user`` and ``make_client`` (a client acting as a user of a given role). Every test
gets its own database: a fresh SQLite file, or, when ``CRMKIT_TEST_DATABASE_URL`` names a
PostgreSQL server, a fresh schema on it.
"""
from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

TEST_DATABASE_ENV = "CRMKIT_TEST_DATABASE_URL"


def configured_test_database() -> str | None:
    return os.environ.get(TEST_DATABASE_ENV) or None


def _is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgres://", "postgresql://"))


def pytest_report_header(config):
    url = configured_test_database()
    if _is_postgres(url):
        return f"crmkit database: PostgreSQL ({url}), one schema per test"
    return (f"crmkit database: SQLite, one file per test "
            f"(set {TEST_DATABASE_ENV}=postgresql://... to run on PostgreSQL)")


class PostgresSchema:
    """A throwaway schema on a real PostgreSQL server, named in the URL's search_path."""

    def __init__(self, server_url: str):
        import psycopg
        self.server_url = server_url
        self.name = "t_" + uuid.uuid4().hex[:12]
        try:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE SCHEMA "{self.name}"')
        except psycopg.OperationalError as exc:
            # The suite was asked to run on PostgreSQL: an unreachable server is a failure.
            pytest.fail(f"{TEST_DATABASE_ENV}={server_url} is not reachable: {exc}", pytrace=False)

    @property
    def url(self) -> str:
        sep = "&" if "?" in self.server_url else "?"
        # Test data is thrown away, so waiting for each commit to reach the disk buys nothing.
        options = f"-c search_path={self.name} -c synchronous_commit=off"
        return f"{self.server_url}{sep}options={quote(options)}"

    # Every test creates and drops dozens of tables, which leaves dead rows in the system
    # catalogs. A server running without autovacuum (as test servers often do) then gets slower
    # test by test: measured 0.1 s per catalog lookup after one run. Vacuum them now and then.
    VACUUM_EVERY = 20
    CATALOGS = ("pg_attribute", "pg_class", "pg_depend", "pg_type", "pg_index", "pg_constraint",
                "pg_attrdef", "pg_sequence", "pg_namespace", "pg_statistic")
    _dropped = 0

    def drop(self) -> None:
        import psycopg
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')
            PostgresSchema._dropped += 1
            if PostgresSchema._dropped % self.VACUUM_EVERY == 0:
                try:
                    conn.execute("VACUUM " + ", ".join(f"pg_catalog.{t}" for t in self.CATALOGS))
                except psycopg.Error:
                    pass  # not allowed for this user: the suite is slower, not wrong


@pytest.fixture
def crmkit_database_url(tmp_path):
    """URL of this test's own, empty database."""
    server = configured_test_database()
    if _is_postgres(server):
        schema = PostgresSchema(server)
        yield schema.url
        from crmkit.db import release_connections
        release_connections()
        schema.drop()
    else:
        yield f"sqlite:///{tmp_path / 'crmkit-test.db'}"


@pytest.fixture
def crmkit_config(crmkit_database_url):
    """Settings for ``app`` and ``runner``; override this fixture to change them."""
    return {"DATABASE_URL": crmkit_database_url}


@pytest.fixture
def crmkit_plugins():
    """Extra plugin objects for ``app`` and ``runner``; override to add throwaway plugins."""
    return []


# Tests send many requests a minute with one token; the limits' own tests set real ones.
TEST_LIMITS = {"RATE_LIMIT": "1000000 per minute", "RATE_LIMIT_ANONYMOUS": "1000000 per minute"}


@pytest.fixture
def make_app(crmkit_config):
    """``make_app(plugins=[obj], upgrade=True, **settings)``: an app with its schema in place."""

    def factory(plugins=(), upgrade=True, **settings):
        from crmkit.app import create_app
        from crmkit.schema import upgrade as upgrade_schema
        app = create_app({**TEST_LIMITS, **crmkit_config, **settings}, plugins)
        if upgrade:
            upgrade_schema(app.extensions["crmkit"].pm)
        app.config["TESTING"] = True
        app.test_client_class = CrmkitClient  # an admin's token by default; see CrmkitClient
        return app

    return factory


@pytest.fixture
def app(make_app, crmkit_plugins):
    return make_app(crmkit_plugins)


@pytest.fixture
def client(app):
    """A test client authenticated as an administrator (every permission, every record)."""
    return app.test_client()


ADMIN_EMAIL = "admin@crmkit.test"


def _in_app(app, func):
    from crmkit import db
    with app.app_context(), db.connection(), db.write_transaction():
        return func()


def admin_token(app) -> str | None:
    """A token of the test administrator of ``app`` (created on first use), or None while the
    schema is not in place."""
    cached = app.extensions.get("crmkit_test_admin_token")
    if cached is None:
        from crmkit.auth.models import User

        def create():
            if not User.table_exists():
                return None
            from crmkit.auth import tokens, users
            admin = (User.get_or_none(User.email == ADMIN_EMAIL)
                     or users.create_user(ADMIN_EMAIL, "Test Admin", "admin"))
            return tokens.create_token(admin, "tests")[1]

        cached = _in_app(app, create)
        if cached is not None:
            app.extensions["crmkit_test_admin_token"] = cached
    return cached


class CrmkitClient(FlaskClient):
    """Flask's test client sending ``Authorization: Bearer <token>`` with every request.

    ``app.test_client()`` acts as the test administrator; ``app.test_client(token=None)`` is
    anonymous; ``app.test_client(token="crmkit_...")`` uses that token. A request that sets its
    own Authorization header keeps it.
    """

    def __init__(self, *args, token: str | None | bool = True, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = token
        self.user = user

    def open(self, *args, **kwargs):
        token = admin_token(self.application) if self.token is True else self.token
        if token and not (args and not isinstance(args[0], str)):
            from werkzeug.datastructures import Headers
            headers = Headers(kwargs.get("headers") or {})
            if "Authorization" not in headers:
                headers["Authorization"] = f"Bearer {token}"
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


@pytest.fixture
def anon_client(app):
    """A test client without credentials."""
    return app.test_client(token=None)


@pytest.fixture
def make_user(app):
    """``make_user(role="agent", email=None, teams=(), manager_of=())``: a user in ``app``'s
    database; teams are created by name when missing."""
    counter = iter(range(1, 1_000_000))

    def factory(role="agent", email=None, name=None, teams=(), manager_of=(), password=None):
        from crmkit.auth import users
        from crmkit.auth.models import Team

        def create():
            n = next(counter)
            user = users.create_user(email or f"{role}{n}@crmkit.test", name or f"{role} {n}",
                                     role, password)
            for team_name in teams:
                team = Team.get_or_none(Team.name == team_name) or users.create_team(team_name)
                users.add_member(team, user)
            for team_name in manager_of:
                team = Team.get_or_none(Team.name == team_name) or users.create_team(team_name)
                users.update_team(team, manager=user)
            return user

        return _in_app(app, create)

    return factory


@pytest.fixture
def make_client(app, make_user):
    """``make_client(role="agent", scopes=("*",), user=None, expires_at=None, **user_args)``: a
    test client acting as a new user with that role (or as ``user``); ``client.user`` is the
    user."""

    def factory(role="agent", scopes=("*",), user=None, expires_at=None, **user_args):
        from crmkit.auth import tokens
        user = user or make_user(role, **user_args)
        plaintext = _in_app(app, lambda: tokens.create_token(user, "tests", scopes,
                                                              expires_at)[1])
        return app.test_client(token=plaintext, user=user)

    return factory


class Runner:
    """Runs ``crmkit`` commands in-process; each call loads plugins afresh, as a new shell would."""

    def __init__(self, config, plugins=()):
        from click.testing import CliRunner
        self.config = dict(config)
        self.plugins = list(plugins)
        self.cli_runner = CliRunner()

    def invoke(self, args, env=None, **kwargs):
        from crmkit.cli import CliContext, main
        config = {**self.config, **(env or {})}
        if isinstance(args, str):
            args = args.split()
        return self.cli_runner.invoke(main, args, obj=CliContext(config, self.plugins), **kwargs)


@pytest.fixture
def make_runner(crmkit_config):
    """``make_runner(plugins=[obj], **settings)``: a CLI runner sharing the test's database."""

    def factory(plugins=(), **settings):
        return Runner({**crmkit_config, **settings}, plugins)

    return factory


@pytest.fixture
def runner(make_runner, crmkit_plugins):
    return make_runner(crmkit_plugins)


@pytest.fixture
def other_database_url(tmp_path):
    """The URL of a second, empty database on the engine under test (a SQLite file, or a
    PostgreSQL schema dropped afterwards): another installation, for export/import round trips.
    An app made on it (``make_app(DATABASE_URL=url)``) points the shared database at it."""
    server = configured_test_database()
    other = PostgresSchema(server) if _is_postgres(server) else None
    yield other.url if other else f"sqlite:///{tmp_path / 'other.db'}"
    if other is not None:
        from crmkit.db import release_connections
        release_connections()
        other.drop()


@pytest.fixture
def db(app):
    """The database of ``app``, connected, for direct model access in a test."""
    from crmkit.db import database
    with app.app_context():
        database.connect(reuse_if_open=True)
        yield database
        if not database.is_closed():
            database.close()


def assert_migrations_build_the_models(app) -> None:
    """Run every migration script from scratch and check the result equals the models.

    Call it from a plugin's own tests with an app whose database is empty
    (``make_app(upgrade=False)``).
    """
    from crmkit.schema import drift, upgrade
    pm = app.extensions["crmkit"].pm
    upgrade(pm, from_scratch=True)
    differences = drift(pm)
    assert not differences, "migrations and models disagree:\n" + "\n".join(
        f"{plugin}: {text}" for plugin, text in differences.items())
