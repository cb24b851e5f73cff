"""Stage automation, configured as data: what happens when a deal enters a stage.

Each stage holds an ordered list of automations (``sales_automation`` rows, or ``automations:``
in a pipeline file). Actions and their ``config``:

``require_fields``  ``fields: [amount, expected_close, lines, customer.street, custom.x]``
                    checked before the move; missing ones refuse it with a 422 naming each.
``create_task``     ``title`` (template), ``kind`` (call/meeting/visit/todo), ``assignee``
                    (``owner``, ``user:ID``, ``role:NAME``, ``team:ID``; ``strategy`` round_robin
                    or least_loaded for roles and teams), ``due`` (``+15 minutes``, ``+2 hours``,
                    ``+1 day``, ``+2 business days``, ``next business day 10:00``,
                    ``tomorrow 09:00``, ``today 17:00``), ``duration_minutes``, ``description``.
``notify``          ``to`` (list of ``owner``, ``manager``, ``user:ID``, ``role:NAME``,
                    ``team:ID``), ``message`` (template).
``generate_document`` ``template`` (a document template's name; its newest active version).
``emit_event``      ``type`` (``sales.something``): an extra event besides the
                    ``sales.deal.stage_changed`` every move emits.

Templates are sandboxed Jinja2 over ``deal``, ``customer``, ``stage``, ``pipeline``, ``owner``
(see :func:`template_data`). Everything here runs inside the move's transaction: if an
automation fails, the deal stays where it was.
"""
from __future__ import annotations

import datetime as dt
import re

from crmkit.errors import ValidationError

from crmkit_sales import alerts, people, templating
from crmkit_sales.models import TASK_KINDS, Automation, Deal, Stage, Task
from crmkit_sales.settings import link, timezone

ACTIONS = ("require_fields", "create_task", "notify", "generate_document", "emit_event")
DEAL_FIELDS = ("title", "amount", "currency", "expected_close", "owner_id", "source",
               "territory", "lost_reason", "lines")
CUSTOMER_FIELDS = ("name", "first_name", "last_name", "email", "phone", "street", "city",
                   "region", "postal_code", "country")

_RELATIVE = re.compile(r"^\+\s*(\d{1,4})\s*(minute|minutes|min|mins|hour|hours|h|day|days|"
                       r"business day|business days)$")
_AT_TIME = re.compile(r"^(next business day|tomorrow|today)(?:\s+(?:at\s+)?(\d{1,2}):(\d{2}))?$")
_ASSIGNEE = re.compile(r"^(owner|user:\d+|role:[a-z][a-z0-9_-]*|team:\d+)$")
_RECIPIENT = re.compile(r"^(owner|manager|user:\d+|role:[a-z][a-z0-9_-]*|team:\d+)$")
SETTINGS = {
    "require_fields": {"fields"},
    "create_task": {"title", "description", "kind", "assignee", "strategy", "due",
                    "duration_minutes"},
    "notify": {"to", "message"},
    "generate_document": {"template"},
    "emit_event": {"type"},
}
_EVENT = re.compile(r"^sales(\.[a-z][a-z0-9_]*)+$")

# Data for checking templates when they are saved: every merge field a template may use.
SAMPLE = {
    "deal": {"id": 1, "title": "Heat pump", "amount": "1000.00", "currency": "EUR",
             "source": "web", "territory": "north", "expected_close": "2030-01-31"},
    "customer": {key: "sample" for key in ("id",) + CUSTOMER_FIELDS},
    "stage": {"id": 1, "name": "Qualified", "probability": 20, "kind": "open"},
    "previous_stage": {"id": 1, "name": "New", "probability": 10, "kind": "open"},
    "pipeline": {"id": 1, "name": "Sales"},
    "owner": {"id": 1, "name": "Owner", "email": "owner@example.com"},
}


# -- due times ------------------------------------------------------------------------------------

def _next_business_day(day: dt.date) -> dt.date:
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _add_business_days(moment: dt.datetime, count: int) -> dt.datetime:
    for _ in range(count):
        moment = moment + dt.timedelta(days=1)
        while moment.weekday() >= 5:
            moment = moment + dt.timedelta(days=1)
    return moment


def check_due(spec: str, field: str = "due") -> str:
    spec = " ".join(str(spec or "").strip().lower().split())
    if not (_RELATIVE.match(spec) or _AT_TIME.match(spec)):
        raise ValidationError({field: "Use '+15 minutes', '+2 hours', '+1 day', "
                                      "'+2 business days', 'next business day 10:00', "
                                      "'tomorrow 09:00' or 'today 17:00'."})
    match = _AT_TIME.match(spec)
    if match and match.group(2) and (int(match.group(2)) > 23 or int(match.group(3)) > 59):
        raise ValidationError({field: "Not a time of day."})
    return spec


def due_at(spec: str, start: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """When a task is due, relative to ``start`` (aware). Day-based specs count in the sales
    time zone, so "next business day 10:00" is 10:00 where the team works."""
    spec = check_due(spec)
    tz = tz or timezone()
    relative = _RELATIVE.match(spec)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        if unit.startswith("min"):
            return start + dt.timedelta(minutes=amount)
        if unit in ("hour", "hours", "h"):
            return start + dt.timedelta(hours=amount)
        local = start.astimezone(tz)
        if unit.startswith("business"):
            return _add_business_days(local, amount).astimezone(dt.timezone.utc)
        return (local + dt.timedelta(days=amount)).astimezone(dt.timezone.utc)
    match = _AT_TIME.match(spec)
    local = start.astimezone(tz)
    day = local.date()
    if match.group(1) == "next business day":
        day = _next_business_day(day)
    elif match.group(1) == "tomorrow":
        day = day + dt.timedelta(days=1)
    hour, minute = (int(match.group(2)), int(match.group(3))) if match.group(2) else (9, 0)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(
        dt.timezone.utc)


# -- checking configurations ----------------------------------------------------------------------

def _text(config: dict, key: str, errors: dict, required: bool = True, limit: int = 2000):
    value = config.get(key)
    if value is None or str(value).strip() == "":
        if required:
            errors[f"config.{key}"] = "Missing data for required field."
        return None
    if not isinstance(value, str) or len(value) > limit:
        errors[f"config.{key}"] = f"A text of at most {limit} characters."
        return None
    return value


def _check_template(value: str | None, key: str, errors: dict) -> None:
    if value is None:
        return
    try:
        templating.check(value, f"config.{key}", SAMPLE, html=False)
    except ValidationError as exc:
        errors.update(exc.fields)


def _check_person_spec(spec: str, key: str, errors: dict) -> None:
    kind, _, ref = spec.partition(":")
    if kind == "user":
        people.check_user(int(ref), key, errors)
    elif kind == "team" and not people.team_exists(int(ref)):
        errors[key] = f"No team with id {ref}."
    elif kind == "role":
        try:
            people.require_role_name(ref, key)
        except ValidationError as exc:
            errors.update(exc.fields)


def check_required_field_name(name: str) -> bool:
    if name in DEAL_FIELDS:
        return True
    prefix, _, rest = name.partition(".")
    if prefix == "customer":
        return rest in CUSTOMER_FIELDS
    if prefix == "custom":
        from crmkit import custom_fields
        return rest in custom_fields.fields_for("sales.deal")
    return False


def validate(action: str, config: dict | None) -> dict:
    """The configuration as stored, or a 422 naming each bad key (``config.title``)."""
    config = dict(config or {})
    errors: dict = {}
    clean: dict = {}
    if action not in ACTIONS:
        raise ValidationError({"action": f"One of: {', '.join(ACTIONS)}."})
    if action == "require_fields":
        fields = config.get("fields")
        if not isinstance(fields, list) or not fields:
            errors["config.fields"] = "A non-empty list of field names."
        else:
            unknown = [str(f) for f in fields if not check_required_field_name(str(f))]
            if unknown:
                errors["config.fields"] = (
                    f"Unknown field(s) {', '.join(unknown)}; use deal fields "
                    f"({', '.join(DEAL_FIELDS)}), customer.<field> or custom.<name>.")
            clean["fields"] = [str(f) for f in fields]
    elif action == "create_task":
        clean["title"] = _text(config, "title", errors, limit=300)
        _check_template(clean["title"], "title", errors)
        description = _text(config, "description", errors, required=False)
        _check_template(description, "description", errors)
        if description:
            clean["description"] = description
        clean["kind"] = config.get("kind", "todo")
        if clean["kind"] not in TASK_KINDS:
            errors["config.kind"] = f"One of: {', '.join(TASK_KINDS)}."
        clean["assignee"] = str(config.get("assignee", "owner"))
        if not _ASSIGNEE.match(clean["assignee"]):
            errors["config.assignee"] = "One of 'owner', 'user:ID', 'role:NAME', 'team:ID'."
        else:
            _check_person_spec(clean["assignee"], "config.assignee", errors)
        clean["strategy"] = config.get("strategy", "round_robin")
        if clean["strategy"] not in ("round_robin", "least_loaded"):
            errors["config.strategy"] = "One of: round_robin, least_loaded."
        try:
            clean["due"] = check_due(config.get("due", "+1 day"), "config.due")
        except ValidationError as exc:
            errors.update(exc.fields)
        duration = config.get("duration_minutes", 30)
        if isinstance(duration, bool) or not isinstance(duration, int) \
                or not 0 <= duration <= 1440:
            errors["config.duration_minutes"] = "Whole minutes from 0 to 1440."
        clean["duration_minutes"] = duration
    elif action == "notify":
        to = config.get("to")
        to = [to] if isinstance(to, str) else to
        if not isinstance(to, list) or not to:
            errors["config.to"] = ("A list of recipients: owner, manager, user:ID, role:NAME, "
                                   "team:ID.")
        else:
            for i, spec in enumerate(to):
                if not isinstance(spec, str) or not _RECIPIENT.match(spec):
                    errors[f"config.to.{i}"] = ("One of 'owner', 'manager', 'user:ID', "
                                                "'role:NAME', 'team:ID'.")
                else:
                    _check_person_spec(spec, f"config.to.{i}", errors)
            clean["to"] = list(to)
        clean["message"] = _text(config, "message", errors, limit=1000)
        _check_template(clean["message"], "message", errors)
    elif action == "generate_document":
        name = _text(config, "template", errors, limit=100)
        if name is not None:
            from crmkit_sales.documents import current_template
            if current_template(name) is None:
                errors["config.template"] = f"No active document template named {name!r}."
        clean["template"] = name
    elif action == "emit_event":
        event_type = _text(config, "type", errors, limit=100)
        if event_type is not None and not _EVENT.match(event_type):
            errors["config.type"] = "Dotted lower-case words starting with 'sales.'."
        clean["type"] = event_type
    for key in sorted(set(config) - SETTINGS[action]):
        errors[f"config.{key}"] = f"Unknown setting for {action}."
    if errors:
        raise ValidationError(errors)
    return clean


# -- running them ---------------------------------------------------------------------------------

def automations_of(stage: Stage, include_inactive: bool = False) -> list[Automation]:
    query = Automation.select().where(Automation.stage == stage)
    if not include_inactive:
        query = query.where(Automation.active == True)  # noqa: E712
    return list(query.order_by(Automation.position, Automation.id))


def missing_fields(deal: Deal, fields: list[str]) -> list[str]:
    missing = []
    customer = custom = None
    for name in fields:
        prefix, _, rest = name.partition(".")
        if name == "lines":
            present = deal.id is not None and deal.lines.exists()
        elif name == "amount":
            present = deal.amount is not None and deal.amount > 0
        elif prefix == "customer":
            if customer is None:
                from crmkit.customers.models import Customer
                customer = Customer.get_or_none(Customer.id == deal.customer_id) or Customer()
            present = getattr(customer, rest, None) not in (None, "")
        elif prefix == "custom":
            if custom is None:
                from crmkit import custom_fields
                custom = custom_fields.load_values("sales.deal", [deal.id]).get(deal.id, {})
            present = custom.get(rest) not in (None, "", [])
        else:
            present = getattr(deal, name, None) not in (None, "")
        if not present:
            missing.append(name)
    return missing


def check_required(deal: Deal, stage: Stage, automations: list[Automation]) -> None:
    """422 naming every field a ``require_fields`` automation of ``stage`` misses."""
    wanted: list[str] = []
    for automation in automations:
        if automation.action == "require_fields":
            wanted.extend(f for f in automation.config["fields"] if f not in wanted)
    missing = missing_fields(deal, wanted) if wanted else []
    if missing:
        raise ValidationError(
            {field: f"Required to enter the stage {stage.name!r}." for field in missing},
            message=f"The stage {stage.name!r} needs: {', '.join(missing)}.")


def template_data(deal: Deal, stage: Stage, previous: Stage | None) -> dict:
    from crmkit.customers.models import Customer
    customer = Customer.get_or_none(Customer.id == deal.customer_id)
    owner_name = people.user_names([deal.owner_id]).get(deal.owner_id) if deal.owner_id else None

    def stage_data(s):
        return None if s is None else {"id": s.id, "name": s.name, "probability": s.probability,
                                       "kind": s.kind}

    return {
        "deal": {"id": deal.id, "title": deal.title, "amount": deal.amount,
                 "currency": deal.currency, "source": deal.source, "territory": deal.territory,
                 "expected_close": deal.expected_close},
        "customer": {"id": deal.customer_id, **{f: getattr(customer, f, None)
                                                 for f in CUSTOMER_FIELDS}},
        "stage": stage_data(stage),
        "previous_stage": stage_data(previous),
        "pipeline": {"id": stage.pipeline_id, "name": stage.pipeline.name},
        "owner": {"id": deal.owner_id, "name": owner_name},
    }


def _assignee(deal: Deal, config: dict, by_user: int | None) -> int | None:
    spec = config["assignee"]
    kind, _, ref = spec.partition(":")
    if kind == "owner":
        return deal.owner_id if deal.owner_id is not None else by_user
    if kind == "user":
        return int(ref)
    from crmkit_sales import assignment
    pool = people.users_with_role(ref) if kind == "role" else people.team_members(int(ref))
    if config.get("strategy") == "least_loaded":
        return assignment.least_loaded(pool, kind="tasks")
    return assignment.next_in_turn(spec, pool)


def _recipients(deal: Deal, specs: list[str]) -> tuple[list[int], list[str]]:
    users: list[int] = []
    roles: list[str] = []
    for spec in specs:
        kind, _, ref = spec.partition(":")
        if kind == "owner" and deal.owner_id is not None:
            users.append(deal.owner_id)
        elif kind == "manager" and deal.owner_id is not None:
            users.extend(people.managers_of(deal.owner_id))
        elif kind == "user":
            users.append(int(ref))
        elif kind == "role":
            roles.append(ref)
        elif kind == "team":
            users.extend(people.team_members(int(ref)))
    return users, roles


def run(deal: Deal, stage: Stage, previous: Stage | None, automations: list[Automation],
        by_user: int | None, now: dt.datetime) -> dict:
    """Carry out the automations of the stage ``deal`` just entered; returns what they made."""
    made: dict = {"tasks": [], "documents": [], "notifications": 0, "events": []}
    data = None
    for automation in automations:
        action, config = automation.action, automation.config
        if action == "require_fields":
            continue
        if data is None and action in ("create_task", "notify"):
            data = template_data(deal, stage, previous)
        if action == "create_task":
            task = Task.create(
                kind=config["kind"], title=templating.render_text(config["title"], data)[:300],
                description=(templating.render_text(config["description"], data, "description")
                             if config.get("description") else None),
                due_at=due_at(config["due"], now), duration_minutes=config["duration_minutes"],
                assignee_id=_assignee(deal, config, by_user), deal=deal,
                customer_id=deal.customer_id, automation_id=automation.id, created_by=by_user,
                created_at=now, updated_at=now)
            made["tasks"].append(task.id)
        elif action == "notify":
            users, roles = _recipients(deal, config["to"])
            alerts.send(templating.render_text(config["message"], data, "message"), users=users,
                        roles=roles, link=link(f"/deals/{deal.id}"), reason="stage_automation",
                        subject="sales.deal", subject_id=deal.id)
            made["notifications"] += len(users) + len(roles)
        elif action == "generate_document":
            from crmkit_sales.documents import generate_document
            made["documents"].append(generate_document(deal, config["template"], by_user).id)
        elif action == "emit_event":
            from crmkit.events import emit
            emit(config["type"], {"deal_id": deal.id, "stage_id": stage.id,
                                  "stage": stage.name}, subject="sales.deal", subject_id=deal.id)
            made["events"].append(config["type"])
    return made
