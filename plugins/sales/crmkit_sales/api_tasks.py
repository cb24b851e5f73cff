"""HTTP door to tasks, calendars, agendas and the per-user iCalendar feed."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from crmkit.auth import scoping
from crmkit.auth.declare import AUTHENTICATED, protect, public, requires
from crmkit.auth.principal import current_principal

from crmkit_sales import calendar
from crmkit_sales import schemas as s
from crmkit_sales import tasks as rules
from crmkit_sales.api_common import by_user, max_page, page
from crmkit_sales.models import Task
from crmkit_sales.settings import link

blp = protect(Blueprint("sales_tasks", __name__, description="Tasks, calendars and agendas"),
              read="sales.tasks:read", write="sales.tasks:write")

REASSIGN = "sales.deals:reassign"


def _dump(tasks):
    from crmkit.db import utcnow
    now = utcnow()
    return [rules.task_dict(t, now) for t in tasks]


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(s.SalesTaskListArgs, location="query")
    @blp.response(200, s.SalesTaskPage)
    def get(self, args):
        """Tasks you may see, by due time; filter by assignee, deal, customer, status, kind,
        due range, or ``overdue``."""
        return page(rules.list_tasks(args, max_page()), _dump)

    @blp.arguments(s.SalesTaskIn)
    @blp.response(201, s.SalesTaskOut)
    def post(self, data):
        """Create a task; it is yours unless ``assignee_id`` names someone else (which needs
        the permission to reassign)."""
        data = scoping.assign_owner(data, Task, REASSIGN, creating=True)
        return rules.task_dict(rules.create_task(data, by_user()))


@blp.route("/tasks/<int:task_id>")
class TaskItem(MethodView):
    @blp.response(200, s.SalesTaskOut)
    def get(self, task_id):
        return rules.task_dict(rules.get_task(task_id))

    @blp.arguments(s.SalesTaskPatch)
    @blp.response(200, s.SalesTaskOut)
    def patch(self, data, task_id):
        task = rules.get_task(task_id)
        if "assignee_id" in data:
            data = scoping.assign_owner(data, Task, REASSIGN, current_owner=task.assignee_id)
        return rules.task_dict(rules.update_task(task, data))


@blp.route("/tasks/<int:task_id>/complete")
class TaskComplete(MethodView):
    @blp.arguments(s.SalesCompleteIn)
    @blp.response(200, s.SalesTaskOut)
    def post(self, data, task_id):
        """Mark the task done with an outcome; a call, meeting or visit goes on the customer's
        timeline."""
        return rules.task_dict(rules.complete_task(rules.get_task(task_id), data.get("outcome"),
                                                   by_user()))


@blp.route("/tasks/<int:task_id>/cancel")
class TaskCancel(MethodView):
    @blp.response(200, s.SalesTaskOut)
    def post(self, task_id):
        return rules.task_dict(rules.cancel_task(rules.get_task(task_id)))


@blp.route("/tasks/<int:task_id>/reopen")
class TaskReopen(MethodView):
    @blp.response(200, s.SalesTaskOut)
    def post(self, task_id):
        return rules.task_dict(rules.reopen_task(rules.get_task(task_id)))


def _user_or_caller(user_id):
    if user_id is not None:
        return user_id
    principal = current_principal()
    return principal.user_id if principal is not None else None


@blp.route("/calendar")
class Calendar(MethodView):
    @blp.arguments(s.SalesCalendarArgs, location="query")
    @blp.response(200, s.SalesTaskOut(many=True))
    def get(self, args):
        """A user's tasks (default: yours) due between ``start`` and ``end``."""
        return _dump(calendar.tasks_between(_user_or_caller(args.get("user_id")), args["start"],
                                            args["end"], args["include_done"]))


@blp.route("/agenda")
class Agenda(MethodView):
    @blp.arguments(s.SalesAgendaArgs, location="query")
    @blp.response(200, s.SalesAgendaOut)
    def get(self, args):
        """A user's day (default: yours, today in the sales time zone), with overdue tasks."""
        day = calendar.agenda(_user_or_caller(args.get("user_id")), args.get("date"))
        return {**day, "tasks": _dump(day["tasks"]), "overdue": _dump(day["overdue"])}


@blp.route("/calendar/feed")
class CalendarFeedSettings(MethodView):
    @requires(AUTHENTICATED)
    @blp.response(200, s.SalesFeedOut)
    def get(self):
        """Whether you have a calendar feed URL (the URL itself is shown only when created)."""
        return calendar.feed_status(current_principal().user_id)

    @requires("sales.tasks:read")
    @blp.response(201, s.SalesFeedOut)
    def post(self):
        """Create your calendar feed URL, replacing any earlier one. Subscribe to it in a
        calendar application; keep it secret, it opens your task calendar without a token."""
        user_id = current_principal().user_id
        token = calendar.create_feed(user_id)
        return {**calendar.feed_status(user_id), "url": link(calendar.feed_path(token))}

    @requires(AUTHENTICATED)
    @blp.response(204)
    def delete(self):
        """Revoke your calendar feed URL."""
        calendar.revoke_feed(current_principal().user_id)


@blp.route("/calendar/feeds/<string:token>.ics")
class CalendarFeed(MethodView):
    @public
    @blp.doc(security=[])
    @blp.response(200, content_type="text/calendar")
    def get(self, token):
        """The iCalendar feed behind a secret URL (no token header: calendar clients cannot
        send one). An unknown or revoked URL is 404."""
        user_id = calendar.user_for_feed(token)
        return Response(calendar.render_feed(user_id), mimetype="text/calendar", headers={
            "Content-Disposition": 'inline; filename="tasks.ics"',
            "Cache-Control": "private, max-age=300"})
