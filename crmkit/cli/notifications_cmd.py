"""``crmkit notifications send|inbox``: notify people from a shell, a cron job or a script."""
from __future__ import annotations

import click

from crmkit.auth.users import find_user
from crmkit.cli.output import domain_command, echo_json
from crmkit.notifications import service
from crmkit.tables import render_table


@click.group("notifications")
def notifications_group():
    """Notify users or roles (in-app and email), and read a user's inbox."""


@notifications_group.command("send")
@click.option("--user", "users", multiple=True, metavar="ID|EMAIL",
              help="A user to notify (repeatable).")
@click.option("--role", "roles", multiple=True, metavar="NAME",
              help="Notify every active user with this role (repeatable).")
@click.option("--message", required=True, help="The text; its first line is the email subject.")
@click.option("--link", default=None, help="Where the notification points (a URL or app path).")
@click.option("--kind", default=service.DEFAULT_KIND, show_default=True,
              help="Dotted kind; each user's channel preferences are per kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a line.")
@domain_command(write=True)
def send_cmd(users, roles, message, link, kind, as_json):
    """Notify users and roles, as plugins do with crmkit.notifications.notify.

    All or nothing: an unknown user or role, or a bad message, notifies nobody. Emails are
    queued and sent by `crmkit worker`.
    """
    if not users and not roles:
        raise click.UsageError("Name at least one --user or --role.")
    recipients = [find_user(ref).id for ref in users] + list(roles)
    created = []
    for recipient in recipients:
        created += service.notify(recipient, message, link=link, kind=kind)
    people = sorted({n.user_id for n in created})
    if as_json:
        echo_json({"notifications": [n.id for n in created], "users": people})
        return
    click.echo(f"notified {len(people)} user(s) in-app ({len(created)} inbox entries); "
               "emails follow their preferences and go out with the worker")


@notifications_group.command("inbox")
@click.argument("user")
@click.option("--unread", is_flag=True, help="Only unread notifications.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@domain_command()
def inbox_cmd(user, unread, limit, as_json):
    """A user's notifications (ID or EMAIL), newest first."""
    owner = find_user(user)
    items = service.inbox(owner.id, unread_only=unread, limit=limit)
    if as_json:
        echo_json([{"id": n.id, "kind": n.kind, "message": n.message, "link": n.link,
                    "created_at": n.created_at, "read_at": n.read_at} for n in items])
        return
    click.echo(render_table(["id", "kind", "message", "link", "read"],
                            [[n.id, n.kind, n.message.splitlines()[0][:60], n.link or "-",
                              "yes" if n.read_at else "no"] for n in items]))


COMMANDS = [notifications_group]
