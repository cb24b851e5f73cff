"""``crmkit webhooks ...``: the command-line door to webhook subscriptions and deliveries."""
from __future__ import annotations

import functools
import json

import click

from crmkit import db
from crmkit.cli.context import cli_context
from crmkit.errors import CrmkitError
from crmkit.tables import render_table


def _domain(func):
    """Run in the app with a connection and one transaction; domain errors become messages."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        app = cli_context().app()
        with app.app_context(), db.connection():
            try:
                with db.write_transaction():
                    return func(app.extensions["crmkit"].config, *args, **kwargs)
            except CrmkitError as exc:
                detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in
                                   (exc.errors or {}).get("json", {}).items())
                raise click.ClickException(detail or exc.message) from None

    return wrapper


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@click.group("webhooks")
def webhooks_group():
    """Webhook subscriptions: signed POSTs of events to your URLs, with retries and a log."""


@webhooks_group.command("list")
@_domain
def list_cmd(config):
    """Every subscription with its state."""
    from crmkit.webhooks import subscriptions as subs
    rows = [[s.id, "yes" if s.active else f"no ({s.disabled_reason})", s.url,
             ",".join(subs.event_types(s)), s.consecutive_failures]
            for s in subs.list_subscriptions()]
    click.echo(render_table(["id", "active", "url", "events", "failures"], rows))


@webhooks_group.command("create")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              help="Event type, prefix.* or *; repeat for several.")
@click.option("--description", default="")
@click.option("--secret", help="Signing secret (16+ characters); generated when omitted.")
@click.option("--inactive", is_flag=True, help="Create it switched off.")
@_domain
def create_cmd(config, url, events, description, secret, inactive):
    """Subscribe URL to events; prints the id and the signing secret (shown only now)."""
    from crmkit.webhooks import subscriptions as subs
    created = subs.create_subscription(config, url, list(events), description, secret,
                                       active=not inactive)
    click.echo(f"subscription {created.id} created")
    click.echo(f"secret: {created.secret}")


@webhooks_group.command("update")
@click.argument("subscription_id", type=int)
@click.option("--url")
@click.option("--event", "events", multiple=True, help="Replaces the event types; repeatable.")
@click.option("--description")
@_domain
def update_cmd(config, subscription_id, url, events, description):
    """Change a subscription's URL, event types or description."""
    from crmkit.webhooks import subscriptions as subs
    changes = {k: v for k, v in (("url", url), ("description", description)) if v is not None}
    if events:
        changes["event_types"] = list(events)
    subs.update_subscription(config, subscription_id, **changes)
    click.echo(f"subscription {subscription_id} updated")


@webhooks_group.command("enable")
@click.argument("subscription_id", type=int)
@_domain
def enable_cmd(config, subscription_id):
    """Switch a subscription on again (clears its run of failures)."""
    from crmkit.webhooks import subscriptions as subs
    subs.update_subscription(config, subscription_id, active=True)
    click.echo(f"subscription {subscription_id} enabled")


@webhooks_group.command("disable")
@click.argument("subscription_id", type=int)
@_domain
def disable_cmd(config, subscription_id):
    """Switch a subscription off; nothing is sent to it until it is enabled."""
    from crmkit.webhooks import subscriptions as subs
    subs.update_subscription(config, subscription_id, active=False)
    click.echo(f"subscription {subscription_id} disabled")


@webhooks_group.command("delete")
@click.argument("subscription_id", type=int)
@_domain
def delete_cmd(config, subscription_id):
    """Delete a subscription with its deliveries and their log."""
    from crmkit.webhooks import subscriptions as subs
    subs.delete_subscription(subscription_id)
    click.echo(f"subscription {subscription_id} deleted")


@webhooks_group.command("rotate-secret")
@click.argument("subscription_id", type=int)
@_domain
def rotate_cmd(config, subscription_id):
    """Replace the signing secret; prints the new one."""
    from crmkit.webhooks import subscriptions as subs
    click.echo(f"secret: {subs.rotate_secret(subscription_id).secret}")


@webhooks_group.command("deliveries")
@click.argument("subscription_id", type=int)
@click.option("--status", type=click.Choice(["pending", "delivered", "failed"]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@_domain
def deliveries_cmd(config, subscription_id, status, limit):
    """A subscription's deliveries, newest first."""
    from crmkit.webhooks import subscriptions as subs
    rows = [[d.id, d.event.type, d.status, d.attempts, d.last_status_code or "-",
             _when(d.delivered_at), (d.last_error or "")[:50]]
            for d in subs.deliveries(subscription_id, status, limit=limit)]
    click.echo(render_table(["id", "event", "status", "attempts", "last code", "delivered",
                             "last error"], rows))


@webhooks_group.command("show")
@click.argument("delivery_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_domain
def show_cmd(config, delivery_id, as_json):
    """One delivery with its attempt log (attempt, time, status, latency, error)."""
    from crmkit.webhooks import subscriptions as subs
    data = subs.delivery_dict(subs.get_delivery(delivery_id), with_attempts=True)
    if as_json:
        click.echo(json.dumps(data, default=str, indent=2))
        return
    click.echo(f"delivery {data['id']}: event {data['event_id']} ({data['event_type']}), "
               f"{data['status']} after {data['attempts']} attempt(s)")
    rows = [[a["number"], _when(a["attempted_at"]), a["status_code"] or "-", a["latency_ms"],
             a["error"] or ""] for a in data["attempt_log"]]
    click.echo(render_table(["attempt", "at", "status", "ms", "error"], rows))


@webhooks_group.command("redeliver")
@click.argument("delivery_id", type=int)
@_domain
def redeliver_cmd(config, delivery_id):
    """Queue one more attempt of a delivery now."""
    from crmkit.webhooks.delivery import redeliver
    redeliver(delivery_id)
    click.echo(f"delivery {delivery_id} queued for another attempt")


COMMANDS = [webhooks_group]
