"""Users, teams, roles and passwords: domain rules, the command line and the admin API."""
import pytest

from crmkit.audit.models import AuditEvent
from crmkit.auth import passwords, roles, users
from crmkit.auth.models import Role, User
from crmkit.auth.roles import BUILTIN_ROLES, grants
from crmkit.errors import Conflict, ValidationError


def test_passwords_are_argon2id_hashes_that_verify_and_never_store_the_password():
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "correct horse battery" not in stored
    assert passwords.verify_password(stored, "correct horse battery")
    assert not passwords.verify_password(stored, "correct horse batterY")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not a hash", "anything at all")
    assert passwords.hash_password("correct horse battery") != stored  # salted
    with pytest.raises(ValidationError, match="Invalid input"):
        passwords.hash_password("short")


@pytest.mark.parametrize("patterns, permission, expected", [
    (["*"], "sales.deals:write", True),
    (["*:read"], "sales.deals:read", True),
    (["*:read"], "sales.deals:write", False),
    (["customers:read"], "customers:read", True),
    (["customers:*"], "customers:delete", True),
    (["*", "!audit:*"], "audit:read", False),
    (["*", "!audit:*"], "customers:read", True),
    (["!audit:read", "*"], "audit:read", False),  # exclusions win wherever they stand
    ([], "customers:read", False),
])
def test_permission_patterns(patterns, permission, expected):
    assert grants(patterns, permission) is expected


def test_builtin_roles_exist_with_their_scopes(db, app):
    roles.ensure_builtin_roles()
    stored = {r.name: r for r in Role.select()}
    assert set(stored) >= {"admin", "manager", "agent", "read-only", "integration"}
    assert {n: stored[n].scope for n in BUILTIN_ROLES} == {
        "admin": "all", "manager": "team", "agent": "own", "read-only": "all",
        "integration": "all"}
    known = ["customers:read", "customers:write", "customers:delete", "audit:read",
             "users:manage", "sales.deals:write"]
    assert roles.expand(stored["admin"].permissions, known) == sorted(known)
    assert roles.expand(stored["read-only"].permissions, known) == ["customers:read"]
    assert roles.expand(stored["agent"].permissions, known) == [
        "customers:read", "customers:write", "sales.deals:write"]
    assert "customers:delete" in roles.expand(stored["manager"].permissions, known)
    assert "users:manage" not in roles.expand(stored["manager"].permissions, known)
    assert "audit:read" not in roles.expand(stored["integration"].permissions, known)


def test_builtin_roles_cannot_be_changed_or_deleted(db, app):
    with pytest.raises(Conflict):
        roles.update_role("agent", ["customers:read"], scope="all")
    with pytest.raises(Conflict):
        roles.delete_role("admin")


def test_custom_roles_validate_patterns_and_are_audited(db, app):
    known = ["customers:read", "customers:write"]
    with pytest.raises(ValidationError) as caught:
        roles.create_role("auditor", ["customers:raed", "no spaces allowed"], known)
    assert caught.value.fields["permissions"] == [
        "'customers:raed' is not a registered permission",
        "'no spaces allowed' is not a permission pattern"]
    role = roles.create_role("support", ["customers:read", "*:read"], known, "team")
    assert (role.permissions, role.scope) == (["customers:read", "*:read"], "team")
    roles.update_role("support", known, permissions=["customers:*"])
    assert [e.action for e in AuditEvent.select().where(AuditEvent.object_type == "role")
            .order_by(AuditEvent.id)] == ["role.create", "role.update"]
    change = AuditEvent.select().where(AuditEvent.action == "role.update").get().changes
    assert change == {"permissions": [["customers:read", "*:read"], ["customers:*"]]}
    with pytest.raises(Conflict):
        roles.create_role("support", ["customers:read"], known)
    users.create_user("holder@example.com", "Holder", "support")
    with pytest.raises(Conflict, match="held by 1 user"):
        roles.delete_role("support")


def test_users_have_unique_case_insensitive_emails(db, app):
    user = users.create_user("Ada@Example.COM", "Ada", "manager")
    assert (user.email, user.role.name, user.active) == ("ada@example.com", "manager", True)
    with pytest.raises(Conflict):
        users.create_user("ada@example.com", "Other Ada")
    with pytest.raises(ValidationError):
        users.create_user("not-an-address", "Nobody")
    with pytest.raises(Exception, match="No role named 'wizard'"):
        users.create_user("w@example.com", "W", "wizard")


def test_role_change_and_password_change_are_audited_without_the_hash(db, app):
    user = users.create_user("bo@example.com", "Bo", "agent", password="first password 1")
    old_hash = user.password_hash
    users.update_user(user, role="manager")
    users.update_user(user, password="second password 2")
    events = list(AuditEvent.select().where(AuditEvent.object_type == "user")
                  .order_by(AuditEvent.id))
    assert [e.action for e in events] == ["user.create", "user.role_change", "user.update"]
    assert events[1].changes == {"role": ["agent", "manager"]}
    assert events[2].changes == {"password_hash": ["[redacted]", "[redacted]"]}
    assert old_hash not in str([e.changes for e in events])
    assert events[0].actor.startswith("cli")  # no principal: the operator


def test_teams_have_a_manager_and_members(db, app):
    lead = users.create_user("lead@example.com", "Lead", "manager")
    rep = users.create_user("rep@example.com", "Rep")
    team = users.create_team("North", lead)
    users.add_member(team, rep)
    users.add_member(team, rep)  # twice is once
    assert users.team_member_ids(team) == [rep.id]
    assert team.manager_id == lead.id
    with pytest.raises(Conflict):
        users.create_team("North")
    users.remove_member(team, rep)
    assert users.team_member_ids(team) == []


def test_cli_users_create_list_deactivate(runner, app):
    result = runner.invoke(["users", "create", "cli@example.com", "--name", "Cli User",
                            "--role", "read-only", "--token", "laptop"])
    assert result.exit_code == 0, result.output
    assert "created user" in result.output and "(read-only)" in result.output
    token = result.output.split("token (shown once): ")[1].strip()
    assert token.startswith("crmkit_")
    listed = runner.invoke(["users", "list"])
    assert "cli@example.com" in listed.output and "read-only" in listed.output
    client = app.test_client(token=token)
    assert client.get("/api/v1/users/me").json["role"] == "read-only"
    result = runner.invoke(["users", "deactivate", "cli@example.com"])
    assert result.exit_code == 0, result.output
    assert "cli@example.com" not in runner.invoke(["users", "list"]).output
    assert "cli@example.com" in runner.invoke(["users", "list", "--all"]).output
    assert client.get("/api/v1/users/me").status_code == 401  # tokens stop at once
    again = runner.invoke(["users", "create", "cli@example.com", "--name", "Again"])
    assert again.exit_code == 1
    assert "exists already" in again.output


def test_cli_password_prompt(runner, app):
    result = runner.invoke(["users", "create", "pw@example.com", "--name", "Pw", "--password"],
                           input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    response = app.test_client(token=None).post("/api/v1/auth/login", json={
        "email": "pw@example.com", "password": "a long password"})
    assert response.status_code == 201


def test_cli_roles_and_teams(runner, app):
    assert runner.invoke(["roles", "create", "support", "-p", "customers:read", "-p",
                          "customers:write", "--scope", "team"]).exit_code == 0
    assert "support      team   no" in runner.invoke(["roles", "list"]).output
    shown = runner.invoke(["roles", "show", "support"]).output
    assert "customers:read" in shown and "customers:write" in shown
    bad = runner.invoke(["roles", "create", "x-role", "-p", "customers:raed"])
    assert bad.exit_code == 1 and "'customers:raed' is not a registered permission" in bad.output
    assert runner.invoke(["users", "create", "m@example.com", "--name", "M", "--role",
                          "manager"]).exit_code == 0
    assert runner.invoke(["teams", "create", "South", "--manager", "m@example.com"]).exit_code == 0
    assert runner.invoke(["users", "create", "s@example.com", "--name", "S", "--role",
                          "support"]).exit_code == 0
    assert runner.invoke(["teams", "add", "South", "s@example.com"]).exit_code == 0
    listed = runner.invoke(["teams", "list"]).output
    assert "South" in listed and "m@example.com" in listed
    assert runner.invoke(["roles", "delete", "support"]).exit_code == 1
    assert runner.invoke(["users", "update", "s@example.com", "--role", "agent"]).exit_code == 0
    assert runner.invoke(["roles", "delete", "support"]).exit_code == 0


def test_admin_api_creates_and_changes_users(client, db):
    response = client.post("/api/v1/users", json={"email": "new@example.com", "name": "New",
                                                   "role": "agent", "password": "long enough 1"})
    assert response.status_code == 201
    body = response.json
    assert body["role"] == "agent" and body["has_password"] is True
    assert "password" not in body and "password_hash" not in body
    user_id = body["id"]
    patched = client.patch(f"/api/v1/users/{user_id}", json={"role": "manager", "name": "Newer"})
    assert (patched.json["role"], patched.json["name"]) == ("manager", "Newer")
    assert client.post(f"/api/v1/users/{user_id}/deactivate").json["active"] is False
    listed = client.get("/api/v1/users?active=false").json["items"]
    assert [u["email"] for u in listed] == ["new@example.com"]
    assert client.get("/api/v1/users/9999").status_code == 404


def test_server_owned_user_fields_are_not_writable(client):
    created = client.post("/api/v1/users", json={"email": "so@example.com", "name": "So"}).json
    for field, value in [("id", 99), ("created_at", "2020-01-01T00:00:00Z"),
                         ("password_hash", "x"), ("last_login_at", None), ("has_password", True)]:
        response = client.patch(f"/api/v1/users/{created['id']}", json={field: value})
        assert response.status_code == 422, field
        assert response.json["errors"]["json"] == {field: ["Unknown field."]}


def test_admin_api_roles_teams_and_permissions(client):
    permissions = {p["name"]: p["plugin"] for p in client.get("/api/v1/permissions").json}
    assert permissions["customers:read"] == "crmkit"
    assert permissions["audit:read"] == "crmkit"
    created = client.post("/api/v1/roles", json={"name": "support",
                                                 "permissions": ["customers:*", "!customers:delete"],
                                                 "scope": "team"})
    assert created.status_code == 201
    assert "customers:read" in created.json["grants"]
    assert "customers:delete" not in created.json["grants"]
    assert client.patch("/api/v1/roles/agent", json={"scope": "all"}).status_code == 409
    assert client.get("/api/v1/roles/nope").status_code == 404
    manager = client.post("/api/v1/users", json={"email": "mgr@example.com", "name": "Mgr",
                                                 "role": "manager"}).json
    team = client.post("/api/v1/teams", json={"name": "East", "manager_id": manager["id"]})
    assert team.status_code == 201 and team.json["manager_id"] == manager["id"]
    rep = client.post("/api/v1/users", json={"email": "rep@example.com", "name": "Rep"}).json
    members = client.post(f"/api/v1/teams/{team.json['id']}/members", json={"user_id": rep["id"]})
    assert members.json["member_ids"] == [rep["id"]]
    assert client.delete(f"/api/v1/teams/{team.json['id']}/members/{rep['id']}").status_code == 204
    assert client.delete(f"/api/v1/roles/support").status_code == 204


def test_only_admins_manage_users_and_roles(make_client):
    for role in ("manager", "agent", "read-only", "integration"):
        client = make_client(role)
        assert client.post("/api/v1/users", json={"email": f"x-{role}@example.com",
                                                  "name": "X"}).status_code == 403, role
        assert client.post("/api/v1/roles", json={"name": "x", "permissions": ["*"]}
                           ).status_code == 403, role
        assert client.get("/api/v1/audit").status_code == 403, role
    assert make_client("read-only").get("/api/v1/users").status_code == 200


def test_user_model_is_the_app_user_table():
    assert User._meta.table_name == "app_user"
