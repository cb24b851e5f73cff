"""``crmkit users|teams|roles|tokens ...``: the command-line door to access control.

Commands run as the operator of the installation (no principal): what they do is recorded in the
audit trail as ``cli:<os user>``. Each command is one transaction.
"""
from __future__ import annotations

import datetime as dt
import json

import click
from flask import current_app

from crmkit.auth import roles as role_rules
from crmkit.auth import tokens, users
from crmkit.cli.output import domain_command
from crmkit.registry import collect_permissions
from crmkit.tables import render_table


# Every access command changes or reads in one write transaction: everything or nothing.
in_transaction = domain_command(write=True)


def _known() -> list[str]:
    return [p.name for _, p in collect_permissions(current_app.extensions["crmkit"].pm)]


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


# -- users --------------------------------------------------------------------------------------

@click.group("users")
def users_group():
    """Users: create, list, change, deactivate."""


@users_group.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name.")
@click.option("--role", default="agent", show_default=True,
              help="admin, manager, agent, read-only, integration or a custom role.")
@click.option("--password", is_flag=True,
              help="Prompt for a password (without it the user logs in with tokens only).")
@click.option("--token", "token_name", default=None,
              help="Also create an API token with this name and print it (shown once).")
@in_transaction
def create_user(email, name, role, password, token_name):
    """Create a user."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) \
        if password else None
    user = users.create_user(email, name, role, secret)
    click.echo(f"created user {user.id} {user.email} ({user.role.name})")
    if token_name:
        _, plaintext = tokens.create_token(user, token_name)
        click.echo(f"token (shown once): {plaintext}")


@users_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include deactivated users.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@in_transaction
def list_users(show_all, as_json):
    """Users with their role and state."""
    rows = users.list_users(None if show_all else True)
    if as_json:
        click.echo(json.dumps([{"id": u.id, "email": u.email, "name": u.name,
                                "role": u.role.name, "active": u.active} for u in rows], indent=2))
        return
    click.echo(render_table(["id", "email", "name", "role", "active", "last login"],
                            [[u.id, u.email, u.name, u.role.name, "yes" if u.active else "no",
                              _when(u.last_login_at)] for u in rows]))


@users_group.command("update")
@click.argument("user")
@click.option("--name")
@click.option("--email")
@click.option("--role")
@click.option("--password", is_flag=True, help="Prompt for a new password.")
@click.option("--activate", is_flag=True, help="Reactivate a deactivated user.")
@in_transaction
def update_user(user, name, email, role, password, activate):
    """Change a user (USER is an id or an email address)."""
    secret = click.prompt("Password", hide_input=True, confirmation_prompt=True) \
        if password else None
    row = users.update_user(users.find_user(user), name=name, email=email, role=role,
                            password=secret, active=True if activate else None)
    click.echo(f"updated user {row.id} {row.email} ({row.role.name})")


@users_group.command("deactivate")
@click.argument("user")
@in_transaction
def deactivate_user(user):
    """Deactivate a user: no more logins, their tokens stop working; records keep their owner."""
    row = users.deactivate_user(users.find_user(user))
    click.echo(f"deactivated user {row.id} {row.email}")


# -- teams --------------------------------------------------------------------------------------

@click.group("teams")
def teams_group():
    """Teams of users, each with a manager."""


@teams_group.command("create")
@click.argument("name")
@click.option("--manager", help="The manager's id or email.")
@in_transaction
def create_team(name, manager):
    """Create a team."""
    team = users.create_team(name, users.find_user(manager) if manager else None)
    click.echo(f"created team {team.id} {team.name}")


@teams_group.command("list")
@in_transaction
def list_teams():
    """Teams with their manager and members."""
    rows = []
    for team in users.list_teams():
        manager = team.manager.email if team.manager_id else "-"
        members = ", ".join(str(i) for i in users.team_member_ids(team)) or "-"
        rows.append([team.id, team.name, manager, members])
    click.echo(render_table(["id", "name", "manager", "member ids"], rows))


@teams_group.command("add")
@click.argument("team")
@click.argument("user")
@in_transaction
def add_member(team, user):
    """Add USER to TEAM (ids or names/emails)."""
    users.add_member(users.get_team(team), users.find_user(user))
    click.echo(f"added {user} to {team}")


@teams_group.command("remove")
@click.argument("team")
@click.argument("user")
@in_transaction
def remove_member(team, user):
    """Remove USER from TEAM."""
    users.remove_member(users.get_team(team), users.find_user(user))
    click.echo(f"removed {user} from {team}")


@teams_group.command("manager")
@click.argument("team")
@click.argument("user", required=False)
@in_transaction
def set_manager(team, user):
    """Make USER the manager of TEAM (no USER: the team has no manager)."""
    users.update_team(users.get_team(team), manager=users.find_user(user) if user else None)
    click.echo(f"{team}: manager {user or 'removed'}")


# -- roles --------------------------------------------------------------------------------------

@click.group("roles")
def roles_group():
    """Roles: named sets of permissions with a record scope (own, team, all)."""


@roles_group.command("list")
@in_transaction
def list_roles():
    """Every role with its scope and permission patterns."""
    click.echo(render_table(["role", "scope", "builtin", "permissions"],
                            [[r.name, r.scope, "yes" if r.builtin else "no",
                              " ".join(r.permissions)] for r in role_rules.list_roles()]))


@roles_group.command("show")
@click.argument("name")
@in_transaction
def show_role(name):
    """The registered permissions a role grants today."""
    role = role_rules.get_role(name)
    click.echo(f"{role.name} (scope: {role.scope}){': ' + role.description if role.description else ''}")
    for permission in role_rules.expand(role.permissions, _known()):
        click.echo(f"  {permission}")


@roles_group.command("create")
@click.argument("name")
@click.option("--permission", "-p", "permissions", multiple=True, required=True,
              help="A permission or pattern (repeat): customers:read, *:read, !audit:*.")
@click.option("--scope", type=click.Choice(["own", "team", "all"]), default="own",
              show_default=True)
@click.option("--description", default="")
@in_transaction
def create_role(name, permissions, scope, description):
    """Create a custom role."""
    role = role_rules.create_role(name, permissions, _known(), scope, description)
    click.echo(f"created role {role.name}")


@roles_group.command("update")
@click.argument("name")
@click.option("--permission", "-p", "permissions", multiple=True,
              help="Replace the permissions (repeat).")
@click.option("--scope", type=click.Choice(["own", "team", "all"]))
@click.option("--description")
@in_transaction
def update_role(name, permissions, scope, description):
    """Change a custom role."""
    role_rules.update_role(name, _known(), list(permissions) or None, scope, description)
    click.echo(f"updated role {name}")


@roles_group.command("delete")
@click.argument("name")
@in_transaction
def delete_role(name):
    """Delete a custom role nobody holds."""
    role_rules.delete_role(name)
    click.echo(f"deleted role {name}")


# -- tokens -------------------------------------------------------------------------------------

@click.group("tokens")
def tokens_group():
    """API tokens: shown once at creation, stored hashed."""


@tokens_group.command("create")
@click.argument("user")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", "scopes", multiple=True,
              help="Limit the token to these permission patterns (repeat); default everything "
                   "the user's role allows.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650))
@in_transaction
def create_token(user, name, scopes, expires_in_days):
    """Create a token for USER and print it (it cannot be shown again)."""
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=expires_in_days)
               if expires_in_days else None)
    token, plaintext = tokens.create_token(users.find_user(user), name, scopes or ["*"], expires)
    click.echo(f"created token {token.id} ({token.name}); it is shown once:", err=True)
    click.echo(plaintext)


@tokens_group.command("list")
@click.option("--user", help="Only this user's tokens.")
@click.option("--all", "show_all", is_flag=True, help="Include revoked tokens.")
@in_transaction
def list_tokens(user, show_all):
    """Tokens with owner, scopes, expiry and last use (never the secret)."""
    owner = users.find_user(user) if user else None
    rows = [[t.id, t.user.email, t.name, t.prefix, " ".join(t.scopes), _when(t.expires_at),
             _when(t.last_used_at), _when(t.revoked_at)]
            for t in tokens.list_tokens(owner, show_all)]
    click.echo(render_table(["id", "user", "name", "prefix", "scopes", "expires", "last used",
                             "revoked"], rows))


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@in_transaction
def revoke_token(token_id):
    """Revoke a token: it stops working at once."""
    tokens.revoke_token(tokens.get_token(token_id))
    click.echo(f"revoked token {token_id}")


COMMANDS = [users_group, teams_group, roles_group, tokens_group]
