"""``crmkit audit list``: read the audit trail from the command line."""
from __future__ import annotations

import json

import click

from crmkit.audit.query import audit_page
from crmkit.cli.access_cmd import in_transaction
from crmkit.tables import render_table


@click.group("audit")
def audit_group():
    """The audit trail (append-only)."""


@audit_group.command("list")
@click.option("--object-type")
@click.option("--object-id")
@click.option("--user-id", type=int, help="Who acted.")
@click.option("--action", help="create, update, token.create ...; 'token.*' for a family.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@in_transaction
def list_audit(object_type, object_id, user_id, action, limit, as_json):
    """The newest audit records first."""
    page = audit_page(object_type=object_type, object_id=object_id, actor_id=user_id,
                      action=action, limit=limit)
    if as_json:
        for event in page.items:
            click.echo(json.dumps({
                "id": event.id, "at": event.at.isoformat(), "user_id": event.actor_id,
                "actor": event.actor, "action": event.action, "object_type": event.object_type,
                "object_id": event.object_id, "changes": event.changes, "detail": event.detail,
                "request_id": event.request_id}))
        return
    click.echo(render_table(
        ["id", "at", "actor", "action", "object", "changed"],
        [[e.id, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action,
          f"{e.object_type}:{e.object_id or '-'}", ", ".join(sorted(e.changes or {})) or "-"]
         for e in page.items]))


COMMANDS = [audit_group]
