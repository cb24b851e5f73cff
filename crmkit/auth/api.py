"""Users, teams, roles, permissions and tokens over HTTP: thin doors into the domain modules."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth import roles as role_rules
from crmkit.auth import schemas as s
from crmkit.auth import tokens, users
from crmkit.auth.declare import AUTHENTICATED, protect, public, requires
from crmkit.auth.models import User
from crmkit.auth.principal import current_principal
from crmkit.auth.gate import record_failed_login
from crmkit.errors import Forbidden, NotFound, Unauthorized
from crmkit.pagination import clamp_limit, keyset_page
from crmkit.registry import collect_permissions

blp = protect(Blueprint("users", __name__, description="Users and teams"),
              read="users:read", write="users:manage")
roles_blp = protect(Blueprint("roles", __name__, description="Roles and permissions"),
                    read="roles:read", write="roles:manage")
tokens_blp = protect(Blueprint("tokens", __name__, description="API tokens and login"),
                     read="tokens:write", write="tokens:write")


def _max_page() -> int:
    return int(current_app.extensions["crmkit"].config["MAX_PAGE_SIZE"])


def _known() -> list[str]:
    return [p.name for _, p in collect_permissions(current_app.extensions["crmkit"].pm)]


# -- users --------------------------------------------------------------------------------------

@blp.route("/users")
class Users(MethodView):
    @blp.arguments(s.UserListArgs, location="query")
    @blp.response(200, s.UserPage)
    def get(self, args):
        """List users, oldest first."""
        query = User.select(User, role_rules.Role).join(role_rules.Role)
        if "active" in args:
            query = query.where(User.active == args["active"])
        if "role" in args:
            query = query.where(role_rules.Role.name == args["role"])
        page = keyset_page(query, User.id, User.id, False, args.get("cursor"),
                           clamp_limit(args.get("limit"), _max_page()), lambda u: u.id)
        return {"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}

    @blp.arguments(s.UserIn)
    @blp.response(201, s.UserOut)
    def post(self, data):
        """Create a user."""
        return users.create_user(data["email"], data["name"], data["role"], data.get("password"))


@blp.route("/users/me")
class Me(MethodView):
    @requires(AUTHENTICATED)
    @blp.response(200, s.MeOut)
    def get(self):
        """Who this token belongs to, and what it may do."""
        principal = current_principal()
        user = users.get_user(principal.user_id)
        return {"id": user.id, "email": user.email, "name": user.name, "role": principal.role,
                "scope": principal.scope, "token_id": principal.token_id,
                "permissions": [name for name in _known() if principal.can(name)]}


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @blp.response(200, s.UserOut)
    def get(self, user_id):
        """One user."""
        return users.get_user(user_id)

    @blp.arguments(s.UserPatch)
    @blp.response(200, s.UserOut)
    def patch(self, data, user_id):
        """Change a user: name, email, role, password or active."""
        return users.update_user(users.get_user(user_id), **data)


@blp.route("/users/<int:user_id>/deactivate")
class Deactivate(MethodView):
    @blp.response(200, s.UserOut)
    def post(self, user_id):
        """Deactivate a user: no more logins, their tokens stop working; their records stay."""
        return users.deactivate_user(users.get_user(user_id))


def _team_out(team):
    return {"id": team.id, "name": team.name, "manager_id": team.manager_id,
            "member_ids": users.team_member_ids(team), "created_at": team.created_at}


def _user_or_none(user_id):
    return None if user_id is None else users.get_user(user_id)


@blp.route("/teams")
class Teams(MethodView):
    @blp.response(200, s.TeamOut(many=True))
    def get(self):
        """Every team with its manager and members."""
        return [_team_out(t) for t in users.list_teams()]

    @blp.arguments(s.TeamIn)
    @blp.response(201, s.TeamOut)
    def post(self, data):
        """Create a team, optionally with its manager."""
        return _team_out(users.create_team(data["name"], _user_or_none(data.get("manager_id"))))


@blp.route("/teams/<int:team_id>")
class TeamItem(MethodView):
    @blp.response(200, s.TeamOut)
    def get(self, team_id):
        """One team."""
        return _team_out(users.get_team(team_id))

    @blp.arguments(s.TeamPatch)
    @blp.response(200, s.TeamOut)
    def patch(self, data, team_id):
        """Rename a team or change its manager (null removes the manager)."""
        manager = _user_or_none(data["manager_id"]) if "manager_id" in data else False
        return _team_out(users.update_team(users.get_team(team_id), name=data.get("name"),
                                           manager=manager))

    @blp.response(204)
    def delete(self, team_id):
        """Delete a team; its members stay users."""
        users.delete_team(users.get_team(team_id))


@blp.route("/teams/<int:team_id>/members")
class TeamMembers(MethodView):
    @blp.arguments(s.MemberIn)
    @blp.response(200, s.TeamOut)
    def post(self, data, team_id):
        """Add a user to a team (no change if they are in it already)."""
        team = users.get_team(team_id)
        users.add_member(team, users.get_user(data["user_id"]))
        return _team_out(team)


@blp.route("/teams/<int:team_id>/members/<int:user_id>")
class TeamMember(MethodView):
    @blp.response(204)
    def delete(self, team_id, user_id):
        """Remove a user from a team."""
        users.remove_member(users.get_team(team_id), users.get_user(user_id))


# -- roles and permissions ----------------------------------------------------------------------

def _role_out(role):
    return {"name": role.name, "description": role.description, "permissions": role.permissions,
            "grants": role_rules.expand(role.permissions, _known()), "scope": role.scope,
            "builtin": role.builtin}


@roles_blp.route("/roles")
class Roles(MethodView):
    @roles_blp.response(200, s.RoleOut(many=True))
    def get(self):
        """Every role, built-in first, with the permissions it grants today."""
        return [_role_out(r) for r in role_rules.list_roles()]

    @roles_blp.arguments(s.RoleIn)
    @roles_blp.response(201, s.RoleOut)
    def post(self, data):
        """Create a custom role from permission names and patterns."""
        return _role_out(role_rules.create_role(data["name"], data["permissions"], _known(),
                                                data["scope"], data["description"]))


@roles_blp.route("/roles/<string:name>")
class RoleItem(MethodView):
    @roles_blp.response(200, s.RoleOut)
    def get(self, name):
        """One role."""
        return _role_out(role_rules.get_role(name))

    @roles_blp.arguments(s.RolePatch)
    @roles_blp.response(200, s.RoleOut)
    def patch(self, data, name):
        """Change a custom role's permissions, scope or description (built-in roles are fixed)."""
        return _role_out(role_rules.update_role(name, _known(), **data))

    @roles_blp.response(204)
    def delete(self, name):
        """Delete a custom role nobody holds."""
        role_rules.delete_role(name)


@roles_blp.route("/permissions")
class Permissions(MethodView):
    @roles_blp.response(200, s.PermissionOut(many=True))
    def get(self):
        """Every permission the kernel and enabled plugins declare."""
        pm = current_app.extensions["crmkit"].pm
        return [{"name": p.name, "description": p.description, "plugin": plugin}
                for plugin, p in collect_permissions(pm)]


# -- tokens -------------------------------------------------------------------------------------

def _may_manage_tokens() -> bool:
    return current_principal().can("tokens:manage")


@tokens_blp.route("/tokens")
class Tokens(MethodView):
    @tokens_blp.arguments(s.TokenListArgs, location="query")
    @tokens_blp.response(200, s.TokenOut(many=True))
    def get(self, args):
        """Your tokens; with tokens:manage, another user's (user_id) or everyone's (user_id=0)."""
        principal = current_principal()
        user_id = args.get("user_id", principal.user_id)
        if user_id != principal.user_id and not _may_manage_tokens():
            raise Forbidden("Listing another user's tokens needs the permission "
                            "'tokens:manage'.")
        owner = None if user_id == 0 else users.get_user(user_id)
        return tokens.list_tokens(owner, args["include_revoked"])

    @tokens_blp.arguments(s.TokenIn)
    @tokens_blp.response(201, s.NewTokenOut)
    def post(self, data):
        """Create a token; the answer holds the token itself, which is never shown again."""
        principal = current_principal()
        user_id = data.get("user_id", principal.user_id)
        if user_id != principal.user_id and not _may_manage_tokens():
            raise Forbidden("Creating a token for another user needs the permission "
                            "'tokens:manage'.")
        scopes = data.get("scopes", ["*"])
        if "*" not in principal.credential_patterns and not set(scopes) <= set(
                principal.credential_patterns):
            # A narrow token must not mint a wider one.
            raise Forbidden("A token can only create tokens with scopes it holds itself.")
        token, plaintext = tokens.create_token(users.get_user(user_id), data["name"], scopes,
                                               s.expires_at(data.get("expires_in_days")))
        token.token = plaintext
        return token


@tokens_blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @tokens_blp.response(200, s.TokenOut)
    def get(self, token_id):
        """One of your tokens (any token with tokens:manage)."""
        return _visible_token(token_id)

    @tokens_blp.response(200, s.TokenOut)
    def delete(self, token_id):
        """Revoke a token: it stops working at once. Revoking twice is harmless."""
        return tokens.revoke_token(_visible_token(token_id))


def _visible_token(token_id: int):
    principal = current_principal()
    owner = None if _may_manage_tokens() else users.get_user(principal.user_id)
    try:
        return tokens.get_token(token_id, owner)
    except NotFound:
        raise NotFound(f"No token with id {token_id}.") from None


@tokens_blp.route("/auth/login")
class Login(MethodView):
    @public
    @tokens_blp.doc(security=[])
    @tokens_blp.arguments(s.LoginIn)
    @tokens_blp.response(201, s.NewTokenOut)
    def post(self, data):
        """Exchange an email and password for a token that expires after 12 hours."""
        try:
            token, plaintext = tokens.login(data["email"], data["password"], data["name"])
        except Unauthorized as exc:
            record_failed_login(f"{exc.message} ({data['email'][:254]})")
            raise
        token.token = plaintext
        return token
