"""``crmkit sales ...``: a thin door into the same domain functions as the API."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from crmkit.cli.output import domain_command, echo_json

from crmkit_sales import calendar, deals, forecast, pipelines, reports


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-03-31") from None


def _user(ref: str | None) -> int | None:
    if ref is None:
        return None
    from crmkit.auth.users import find_user
    return find_user(ref).id


@click.group("sales")
def sales():
    """Sales: pipelines, deals, agendas and reports."""


# -- pipelines ------------------------------------------------------------------------------------

@sales.group("pipelines")
def pipelines_group():
    """Pipelines and their stages."""


@pipelines_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Everything, as JSON.")
@domain_command()
def pipelines_list(as_json):
    """Every pipeline with its stages in order."""
    data = [pipelines.pipeline_dict(p) for p in pipelines.list_pipelines()]
    if as_json:
        echo_json(data)
        return
    for pipeline in data:
        state = "" if pipeline["active"] else " (inactive)"
        click.echo(f"{pipeline['id']}  {pipeline['name']}  {pipeline['currency']}{state}")
        for stage in pipeline["stages"]:
            rot = f"  rots after {stage['rotting_days']} d" if stage["rotting_days"] else ""
            actions = ", ".join(a["action"] for a in stage["automations"])
            click.echo(f"    {stage['position']:>2}. [{stage['id']}] {stage['name']}  "
                       f"{stage['kind']} {stage['probability']}%{rot}"
                       + (f"  -> {actions}" if actions else ""))


@pipelines_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@domain_command(write=True)
def pipelines_load(path):
    """Create or update pipelines from a YAML or JSON file (the file is the truth for the
    pipelines it names)."""
    data = pipelines.parse_file(path.read_text(encoding="utf-8"), path.name)
    for item in pipelines.load_pipelines(data):
        verb = "created" if item["created"] else "updated"
        click.echo(f"{item['pipeline']}: {verb}, {item['stages']} stages")


@pipelines_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True)
@domain_command()
def pipelines_export(fmt):
    """Every pipeline as a file that ``load`` reads back."""
    data = pipelines.export_pipelines()
    if fmt == "json":
        echo_json(data)
    else:
        import yaml
        click.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), nl=False)


@pipelines_group.command("example")
def pipelines_example():
    """Print the example pipeline of an installation company (a starting point for ``load``)."""
    from crmkit_sales.demo import example_pipeline_file
    click.echo(example_pipeline_file(), nl=False)


@pipelines_group.command("add-stage")
@click.argument("pipeline")
@click.argument("name")
@click.option("--probability", type=click.IntRange(0, 100))
@click.option("--kind", type=click.Choice(["open", "won", "lost"]), default="open",
              show_default=True)
@click.option("--rotting-days", type=click.IntRange(1, 3650))
@domain_command(write=True)
def pipelines_add_stage(pipeline, name, probability, kind, rotting_days):
    """Add a stage at the end of PIPELINE (id or name)."""
    data = {"name": name, "kind": kind}
    if probability is not None:
        data["probability"] = probability
    if rotting_days is not None:
        data["rotting_days"] = rotting_days
    stage = pipelines.add_stage(pipelines.get_pipeline(pipeline), data)
    click.echo(f"stage {stage.id} {stage.name!r} added at position {stage.position}")


# -- deals ----------------------------------------------------------------------------------------

@sales.group("deals")
def deals_group():
    """Deals."""


@deals_group.command("list")
@click.option("--pipeline", "pipeline_id", type=int)
@click.option("--stage", "stage_id", type=int)
@click.option("--status", help="open, won, lost (comma-separated)")
@click.option("--owner", help="User id or email")
@click.option("--rotting", is_flag=True, help="Only deals idle in their stage too long")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@domain_command()
def deals_list(pipeline_id, stage_id, status, owner, rotting, limit, as_json):
    """Deals, newest first."""
    params = {"pipeline_id": pipeline_id, "stage_id": stage_id, "status": status,
              "owner_id": _user(owner), "rotting": rotting, "limit": limit}
    rows = deals.deal_dicts(deals.list_deals(params, 1000).items)
    if as_json:
        echo_json(rows)
        return
    report = {"columns": ["id", "title", "stage", "status", "amount", "currency", "owner_id",
                          "expected_close"],
              "rows": [{**r, "stage": r["stage"]["name"]} for r in rows]}
    click.echo(reports.to_table(report))


@deals_group.command("move")
@click.argument("deal_id", type=int)
@click.argument("stage")
@click.option("--lost-reason")
@click.option("--as", "as_user", help="Record the move as this user (id or email)")
@domain_command(write=True)
def deals_move(deal_id, stage, lost_reason, as_user):
    """Move DEAL_ID into STAGE (a stage id, or a name in the deal's pipeline)."""
    from crmkit_sales.models import Stage
    deal = deals.get_deal(deal_id)
    if not stage.isdigit():
        found = Stage.get_or_none(Stage.pipeline == deal.pipeline_id, Stage.name == stage)
        if found is None:
            raise click.ClickException(f"no stage {stage!r} in the deal's pipeline")
        stage = found.id
    made = deals.move_deal(deal, int(stage), _user(as_user), lost_reason)
    if not made["moved"]:
        click.echo(f"deal {deal.id} is already in {deal.stage.name!r}")
        return
    click.echo(f"deal {deal.id} moved to {deal.stage.name!r} ({deal.status})")
    for task_id in made["tasks"]:
        click.echo(f"  task {task_id} created")
    for document_id in made["documents"]:
        click.echo(f"  document {document_id} generated")


# -- agenda ---------------------------------------------------------------------------------------

@sales.command("agenda")
@click.option("--user", "user_ref", required=True, help="User id or email")
@click.option("--date", "day", help="YYYY-MM-DD (default: today in the sales time zone)")
@click.option("--json", "as_json", is_flag=True)
@domain_command()
def agenda(user_ref, day, as_json):
    """A user's tasks for the day, and their overdue ones."""
    from crmkit_sales.tasks import task_dict
    data = calendar.agenda(_user(user_ref), _date(day), scoped=False)
    if as_json:
        echo_json({**data, "tasks": [task_dict(t) for t in data["tasks"]],
                   "overdue": [task_dict(t) for t in data["overdue"]]})
        return
    click.echo(f"Agenda for user {data['user_id']} on {data['date']} ({data['timezone']})")
    if data["overdue"]:
        click.echo("Overdue:")
        for task in data["overdue"]:
            click.echo(f"  ! {task.due_at:%Y-%m-%d %H:%M}  {task.kind:<7} {task.title}")
    if not data["tasks"]:
        click.echo("No tasks today.")
    tz = calendar.timezone()
    for task in data["tasks"]:
        mark = "x" if task.status == "done" else " "
        click.echo(f"  [{mark}] {task.due_at.astimezone(tz):%H:%M}  {task.kind:<7} {task.title}")


# -- reports --------------------------------------------------------------------------------------

@sales.command("report")
@click.argument("name", type=click.Choice(list(reports.REPORTS) + ["forecast", "targets"]))
@click.option("--start", help="From this day (YYYY-MM-DD)")
@click.option("--end", help="Before this day (YYYY-MM-DD)")
@click.option("--pipeline", "pipeline_id", type=int)
@click.option("--owner", help="User id or email")
@click.option("--grain", type=click.Choice(["month", "quarter", "year"]))
@click.option("--by", type=click.Choice(["owner", "source"]))
@click.option("--period", help="Targets: 2025-03, 2025-Q1 or 2025")
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of a table")
@click.option("--json", "as_json", is_flag=True)
@domain_command()
def report(name, start, end, pipeline_id, owner, grain, by, period, as_csv, as_json):
    """A sales report as a table (or CSV, or JSON)."""
    if name == "forecast":
        data = forecast.forecast(grain or "month", pipeline_id, _user(owner), _date(start),
                                 _date(end), by_owner=by != "source")
    elif name == "targets":
        data = forecast.attainment(period, _user(owner))
    else:
        data = reports.run(name, start=_date(start), end=_date(end), pipeline_id=pipeline_id,
                           owner_id=_user(owner), grain=grain, by=by)
    if as_json:
        echo_json(data)
    elif as_csv:
        click.echo(reports.to_csv(data), nl=False)
    else:
        click.echo(reports.to_table(data))


@sales.command("target")
@click.argument("user_ref")
@click.argument("period")
@click.argument("amount")
@click.option("--currency", default="EUR", show_default=True)
@domain_command(write=True)
def target(user_ref, period, amount, currency):
    """Set USER's target for PERIOD (2025-03, 2025-Q1, 2025)."""
    row = forecast.set_target(_user(user_ref), period, currency, amount)
    click.echo(f"target {row.id}: {row.amount} {row.currency} for {row.period}")


# -- housekeeping ---------------------------------------------------------------------------------

@sales.command("templates-install")
@domain_command(write=True)
def templates_install():
    """Add the shipped "Quote" and "Payment request" document templates if missing."""
    from crmkit_sales.documents import ensure_default_templates
    ensure_default_templates()
    click.echo("document templates in place")


@sales.command("alert-overdue")
def alert_overdue():
    """Send overdue-task alerts now (the worker does this every minute)."""
    from crmkit.cli.context import cli_context
    from crmkit.db import connection

    from crmkit_sales.jobs import alert_overdue_tasks
    app = cli_context().app()
    with app.app_context(), connection():
        sent = alert_overdue_tasks()
    click.echo(f"alerts sent: {sent['assignee']} to assignees, {sent['manager']} to managers")
