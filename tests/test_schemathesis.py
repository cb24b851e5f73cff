"""Property-based check of the whole API against its own OpenAPI document, in-process.

For every operation of the kernel and of every installed plugin, schemathesis generates requests
from ``/openapi.json`` (a bounded number per operation) and sends them with an administrator's
token. Every answer must be free of server errors and match its documented status codes, content
type and schema. ``CRMKIT_SCHEMATHESIS_EXAMPLES`` raises or lowers the bound (default 8).
"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

pytestmark = pytest.mark.every_plugin  # the operations of every installed plugin, too

EXAMPLES = int(os.environ.get("CRMKIT_SCHEMATHESIS_EXAMPLES", "8"))
# Far from the small ids generated requests use, so no request deactivates the caller or revokes
# its token half-way through an operation's examples.
CALLER_ID = 987_654_321


@pytest.fixture
def api_app(make_app):
    return make_app()


@pytest.fixture
def admin_bearer(api_app):
    from crmkit import db
    from crmkit.auth import roles, tokens
    from crmkit.auth.models import ApiToken, User
    with api_app.app_context(), db.connection(), db.write_transaction():
        roles.ensure_builtin_roles()
        user = User.create(id=CALLER_ID, email="schemathesis@crmkit.test", name="Schemathesis",
                           role=roles.get_role("admin"))
        token, plaintext = tokens.create_token(user, "schemathesis")
        ApiToken.update(id=CALLER_ID).where(ApiToken.id == token.id).execute()
    return plaintext


def test_every_operation_answers_within_its_documented_schema(api_app, admin_bearer):
    api = schemathesis.openapi.from_wsgi("/openapi.json", api_app)
    headers = {"Authorization": f"Bearer {admin_bearer}"}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures, operations = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case):
            case.call_and_validate(headers=headers, checks=checks)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # one failure must not hide the others'
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 40
    assert not failures, f"{len(failures)} operation(s) failed:\n" + "\n\n".join(failures)
