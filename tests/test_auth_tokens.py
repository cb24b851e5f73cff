"""API tokens: shown once, stored hashed, scopes, expiry, last use, revocation; password login."""
import datetime as dt
import hashlib

import pytest

from crmkit.audit.models import AuditEvent
from crmkit.auth import tokens
from crmkit.auth.models import ApiToken
from crmkit.db import utcnow
from crmkit.errors import Unauthorized


def test_token_is_shown_once_and_only_its_hash_is_stored(client, db):
    response = client.post("/api/v1/tokens", json={"name": "script"})
    assert response.status_code == 201
    plaintext = response.json["token"]
    assert plaintext.startswith(f"crmkit_{response.json['prefix']}_")
    stored = ApiToken.get_by_id(response.json["id"])
    secret = plaintext.split("_", 2)[2]
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored.__data__)
    listed = client.get("/api/v1/tokens").json
    assert all("token" not in t for t in listed)
    assert "token" not in client.get(f"/api/v1/tokens/{response.json['id']}").json


def test_a_token_authenticates_and_records_its_last_use(app, client, db):
    created = client.post("/api/v1/tokens", json={"name": "probe"}).json
    assert created["last_used_at"] is None
    own = app.test_client(token=created["token"])
    assert own.get("/api/v1/users/me").json["token_id"] == created["id"]
    assert ApiToken.get_by_id(created["id"]).last_used_at is not None


@pytest.mark.parametrize("header", [
    "Bearer crmkit_000000000000_" + "a" * 43,     # well-formed, unknown
    "Bearer not-a-token",
    "Basic dXNlcjpwYXNz",                         # another scheme
    "Bearer ",
])
def test_bad_credentials_are_401_and_recorded(app, anon_client, db, header):
    response = anon_client.get("/api/v1/customers", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["code"] == 401
    failures = list(AuditEvent.select().where(AuditEvent.action == "login.failed"))
    assert len(failures) == 1
    assert failures[0].detail["path"] == "/api/v1/customers"
    assert failures[0].request_id == response.headers["X-Request-ID"]


def test_missing_credentials_are_401(anon_client):
    response = anon_client.get("/api/v1/customers")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json["message"]


def test_a_tampered_secret_fails_even_with_a_real_prefix(app, client):
    plaintext = client.post("/api/v1/tokens", json={"name": "t"}).json["token"]
    tampered = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")
    assert app.test_client(token=tampered).get("/api/v1/users/me").status_code == 401


def test_revoked_token_stops_at_once(app, client):
    created = client.post("/api/v1/tokens", json={"name": "revoke me"}).json
    other = app.test_client(token=created["token"])
    assert other.get("/api/v1/users/me").status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{created['id']}")
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    response = other.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json["message"] == "The token has been revoked."
    assert client.get("/api/v1/tokens").json and all(
        t["id"] != created["id"] for t in client.get("/api/v1/tokens").json)
    assert any(t["id"] == created["id"]
               for t in client.get("/api/v1/tokens?include_revoked=true").json)


def test_role_changes_and_deactivation_apply_to_the_next_request(client, make_client):
    # Every request reads the token with its user and role: nothing about them is cached.
    agent = make_client("agent")
    assert agent.get("/api/v1/customers").status_code == 200
    assert agent.get("/api/v1/audit").status_code == 403
    user_id = agent.get("/api/v1/users/me").json["id"]
    assert client.patch(f"/api/v1/users/{user_id}", json={"role": "admin"}).status_code == 200
    assert agent.get("/api/v1/audit").status_code == 200
    assert client.post("/api/v1/roles", json={"name": "narrow", "scope": "all",
                                              "permissions": ["customers:read"]}
                       ).status_code == 201
    assert client.patch(f"/api/v1/users/{user_id}", json={"role": "narrow"}).status_code == 200
    assert agent.get("/api/v1/audit").status_code == 403
    assert agent.get("/api/v1/customers").status_code == 200
    changed = client.patch("/api/v1/roles/narrow", json={"permissions": ["audit:read"]})
    assert changed.status_code == 200, changed.json
    assert agent.get("/api/v1/audit").status_code == 200
    assert agent.get("/api/v1/customers").status_code == 403
    assert client.post(f"/api/v1/users/{user_id}/deactivate").status_code == 200
    refused = agent.get("/api/v1/customers")
    assert refused.status_code == 401
    assert refused.json["message"] == "The token's user is deactivated."


def test_expired_token_is_refused(app, make_client, db):
    client = make_client("agent")
    token = ApiToken.select().where(ApiToken.user == client.user).get()
    ApiToken.update(expires_at=utcnow() - dt.timedelta(seconds=1)).where(
        ApiToken.id == token.id).execute()
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json["message"] == "The token has expired."


def test_expiry_in_the_future_works_and_is_set_from_days(client, app):
    created = client.post("/api/v1/tokens", json={"name": "week", "expires_in_days": 7}).json
    expires = dt.datetime.fromisoformat(created["expires_at"])
    assert dt.timedelta(days=6, hours=23) < expires - utcnow() <= dt.timedelta(days=7)
    assert app.test_client(token=created["token"]).get("/api/v1/users/me").status_code == 200
    with pytest.raises(Exception, match="Invalid input"):
        tokens.create_token(None, "past", expires_at=utcnow() - dt.timedelta(days=1))


def test_scopes_narrow_what_a_token_may_do(app, client):
    created = client.post("/api/v1/tokens", json={"name": "reader",
                                                  "scopes": ["customers:read"]}).json
    reader = app.test_client(token=created["token"])
    assert reader.get("/api/v1/customers").status_code == 200
    refused = reader.post("/api/v1/customers", json={"name": "X"})
    assert refused.status_code == 403
    assert refused.json["errors"] == {"permission": "customers:write"}
    assert reader.get("/api/v1/users/me").json["permissions"] == ["customers:read"]


def test_scopes_never_widen_the_role(make_client):
    client = make_client("read-only", scopes=["*"])
    assert client.get("/api/v1/customers").status_code == 200
    assert client.post("/api/v1/customers", json={"name": "X"}).status_code == 403


def test_a_narrow_token_cannot_mint_a_wider_one(app, client):
    narrow = client.post("/api/v1/tokens", json={
        "name": "narrow", "scopes": ["tokens:write", "customers:read"]}).json["token"]
    narrow_client = app.test_client(token=narrow)
    assert narrow_client.post("/api/v1/tokens", json={"name": "wide"}).status_code == 403
    assert narrow_client.post("/api/v1/tokens", json={
        "name": "same", "scopes": ["customers:read"]}).status_code == 201


def test_users_see_and_revoke_only_their_own_tokens(make_client, client):
    alice, bob = make_client("agent"), make_client("agent")
    bob_token = bob.post("/api/v1/tokens", json={"name": "bob's"}).json
    assert alice.get(f"/api/v1/tokens/{bob_token['id']}").status_code == 404
    assert alice.delete(f"/api/v1/tokens/{bob_token['id']}").status_code == 404
    assert alice.get(f"/api/v1/tokens?user_id={bob.user.id}").status_code == 403
    assert alice.post("/api/v1/tokens", json={"name": "for bob",
                                              "user_id": bob.user.id}).status_code == 403
    # An administrator holds tokens:manage.
    assert client.get(f"/api/v1/tokens?user_id={bob.user.id}").status_code == 200
    made = client.post("/api/v1/tokens", json={"name": "for bob", "user_id": bob.user.id})
    assert made.status_code == 201 and made.json["user_id"] == bob.user.id


def test_token_creation_is_audited(client, db):
    created = client.post("/api/v1/tokens", json={"name": "audited",
                                                  "scopes": ["customers:read"]}).json
    event = AuditEvent.get(AuditEvent.action == "token.create",
                           AuditEvent.object_id == str(created["id"]))
    assert event.changes["scopes"] == [None, ["customers:read"]]
    assert event.actor == "admin@crmkit.test"
    assert created["token"] not in str(event.changes)


def test_cli_tokens_create_list_revoke(runner, app, make_user):
    user = make_user("agent", email="cli-token@example.com")
    result = runner.invoke(["tokens", "create", "cli-token@example.com", "--name", "ci",
                            "--scope", "customers:read", "--expires-in-days", "30"])
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip().splitlines()[-1]
    assert app.test_client(token=plaintext).get("/api/v1/customers").status_code == 200
    listed = runner.invoke(["tokens", "list", "--user", str(user.id)]).output
    assert "ci" in listed and "customers:read" in listed and plaintext not in listed
    token_id = int(listed.splitlines()[2].split()[0])
    assert runner.invoke(["tokens", "revoke", str(token_id)]).exit_code == 0
    assert app.test_client(token=plaintext).get("/api/v1/customers").status_code == 401


def test_password_login_issues_a_short_lived_token(app, anon_client, make_user, db):
    make_user("agent", email="login@example.com", password="a good password")
    response = anon_client.post("/api/v1/auth/login", json={"email": "LOGIN@example.com",
                                                            "password": "a good password"})
    assert response.status_code == 201
    expires = dt.datetime.fromisoformat(response.json["expires_at"])
    assert expires - utcnow() <= tokens.LOGIN_TOKEN_LIFETIME
    assert app.test_client(token=response.json["token"]).get(
        "/api/v1/users/me").json["email"] == "login@example.com"


@pytest.mark.parametrize("email, password", [
    ("login@example.com", "the wrong password"),
    ("nobody@example.com", "a good password"),
])
def test_failed_login_says_little_and_is_recorded(anon_client, make_user, db, email, password):
    make_user("agent", email="login@example.com", password="a good password")
    response = anon_client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401
    assert response.json["message"] == "Wrong email or password."
    failure = AuditEvent.get(AuditEvent.action == "login.failed")
    assert email in failure.detail["reason"] and password not in str(failure.detail)
    assert ApiToken.select().where(ApiToken.name == "login").count() == 0


def test_deactivated_user_cannot_log_in(anon_client, make_user, db):
    from crmkit.auth import users
    user = make_user("agent", email="gone@example.com", password="a good password")
    users.deactivate_user(user)
    assert anon_client.post("/api/v1/auth/login", json={
        "email": "gone@example.com", "password": "a good password"}).status_code == 401


def test_authenticate_rejects_without_revealing_which_part_was_wrong(db, app, make_user):
    user = make_user("agent")
    _, plaintext = tokens.create_token(user, "x")
    prefix = plaintext.split("_")[1]
    for presented in ("", "crmkit_zz_zz", f"crmkit_{prefix}_" + "b" * 43,
                      "crmkit_ffffffffffff_" + "b" * 43):
        with pytest.raises(Unauthorized, match="The token is not valid."):
            tokens.authenticate(presented)
