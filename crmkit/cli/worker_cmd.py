"""``crmkit worker`` and ``crmkit jobs tasks|runs``."""
from __future__ import annotations

import click

from crmkit import db
from crmkit.cli.context import cli_context
from crmkit.cli.inspect_cmd import jobs_group
from crmkit.tables import render_table


@click.command("worker")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads running tasks, deliveries and emails.")
@click.option("--once", is_flag=True,
              help="Do everything due now in this process and exit (no huey queue needed).")
def worker(workers, once):
    """Run background work: deferred tasks, periodic jobs, webhook deliveries and emails.

    Tasks go through huey: SQLite in CRMKIT_JOBS_DATABASE (default: beside the CRM database), or
    Redis when CRMKIT_REDIS_URL is set. Stop with Ctrl-C or SIGTERM; tasks in hand finish first.
    """
    from crmkit.worker.process import run_once, run_worker
    ctx = cli_context()
    ctx.settings  # reading them sets up logging at CRMKIT_LOG_LEVEL
    app = ctx.app()
    if once:
        rounds = run_once(app)
        click.echo(f"done ({rounds} round(s))")
        return
    run_worker(app, workers)


# The kernel's ``jobs`` group (crmkit jobs list) gets the commands about runs here.
@jobs_group.command("tasks")
def list_tasks():
    """One-off tasks declared by enabled plugins (register_tasks)."""
    from crmkit.tasks import collect_tasks
    pm = cli_context().plugin_manager()
    rows = [[plugin, t.name, t.max_attempts, "yes" if t.atomic else "no"]
            for plugin, t in collect_tasks(pm)]
    click.echo(render_table(["plugin", "task", "max attempts", "atomic"], rows))


@jobs_group.command("runs")
@click.option("--status", type=click.Choice(["pending", "done", "failed"]))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_runs(status, limit):
    """Recent job runs, newest first: task, status, attempts, last error."""
    from crmkit.worker.models import Job
    app = cli_context().app()
    with app.app_context(), db.connection():
        query = Job.select().order_by(Job.id.desc()).limit(limit)
        if status:
            query = query.where(Job.status == status)
        rows = [[j.id, j.task, j.status, j.attempts, j.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                 (j.last_error or "")[:60]] for j in query]
    click.echo(render_table(["id", "task", "status", "attempts", "created", "last error"], rows))


COMMANDS = [worker]
