"""Sales tables, all prefixed ``sales_``.

Customers and users live in the kernel; sales rows point at them with plain integer columns
(``customer_id``, ``owner_id``), as the kernel's own access rules expect (``crmkit.auth.scoping``):
a plugin's migrations then never depend on the kernel's foreign keys. Money is Decimal with two
places, rounded by the domain code (half up, explicitly) before it reaches a column.
"""
from __future__ import annotations

import decimal

import peewee

from crmkit.auth.fields import JSONField
from crmkit.db import BaseModel, UTCDateTimeField, utcnow

OPEN, WON, LOST = "open", "won", "lost"
STAGE_KINDS = (OPEN, WON, LOST)
TASK_KINDS = ("call", "meeting", "visit", "todo")
TASK_STATUSES = ("open", "done", "cancelled")
LEAD_STATUSES = ("new", "contacted", "qualified", "disqualified", "converted")
DOCUMENT_KINDS = ("quote", "invoice", "payment", "contract", "other")


class FixedDecimalField(peewee.DecimalField):
    """A Decimal read back with its places: SQLite stores decimals as binary floats and would
    hand back ``7389.6`` for ``7389.60``; the digits are exact, only the trailing zeros go."""

    def python_value(self, value):
        value = super().python_value(value)
        return None if value is None else value.quantize(self._exp,
                                                         rounding=decimal.ROUND_HALF_UP)


def money(**kwargs) -> peewee.DecimalField:
    return FixedDecimalField(max_digits=18, decimal_places=2, **kwargs)


def percent(**kwargs) -> peewee.DecimalField:
    return FixedDecimalField(max_digits=7, decimal_places=4, **kwargs)


# -- pipelines ------------------------------------------------------------------------------------

class Pipeline(BaseModel):
    name = peewee.CharField(max_length=100, unique=True)
    currency = peewee.CharField(max_length=3, default="EUR")  # for deals created without one
    position = peewee.IntegerField(default=0)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_pipeline"


class Stage(BaseModel):
    pipeline = peewee.ForeignKeyField(Pipeline, backref="stages", on_delete="CASCADE")
    name = peewee.CharField(max_length=100)
    position = peewee.IntegerField()
    probability = peewee.IntegerField(default=0)  # percent, 0-100
    kind = peewee.CharField(max_length=8, default=OPEN)
    rotting_days = peewee.IntegerField(null=True)  # an open deal idle this long is "rotting"
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_stage"
        indexes = ((("pipeline", "name"), True), (("pipeline", "position"), False))


class Automation(BaseModel):
    """One thing that happens when a deal enters ``stage``; ``config`` is the action's data."""

    stage = peewee.ForeignKeyField(Stage, backref="automations", on_delete="CASCADE")
    position = peewee.IntegerField(default=0)
    action = peewee.CharField(max_length=30)
    config = JSONField(default=dict)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_automation"
        indexes = ((("stage", "position"), False),)


# -- leads and web forms --------------------------------------------------------------------------

class WebForm(BaseModel):
    """A public enquiry form: its own key, good for nothing but submitting to this form."""

    name = peewee.CharField(max_length=100, unique=True)
    key_prefix = peewee.CharField(max_length=16, unique=True)
    key_hash = peewee.CharField(max_length=64)
    pipeline = peewee.ForeignKeyField(Pipeline, on_delete="RESTRICT")
    source = peewee.CharField(max_length=100, default="web")
    owner_id = peewee.IntegerField(null=True)  # else the assignment rules decide
    task_title = peewee.CharField(max_length=300, default="Call back {{ lead.name }}")
    task_due = peewee.CharField(max_length=50, default="+15 minutes")
    rate_limit = peewee.CharField(max_length=50, default="20 per minute")
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_web_form"


class Lead(BaseModel):
    name = peewee.CharField(max_length=300)
    first_name = peewee.CharField(max_length=150, null=True)
    last_name = peewee.CharField(max_length=150, null=True)
    company = peewee.CharField(max_length=200, null=True)
    email = peewee.CharField(max_length=320, null=True, index=True)
    phone = peewee.CharField(max_length=32, null=True, index=True)  # E.164
    source = peewee.CharField(max_length=100, null=True, index=True)
    utm_source = peewee.CharField(max_length=200, null=True)
    utm_medium = peewee.CharField(max_length=200, null=True)
    utm_campaign = peewee.CharField(max_length=200, null=True)
    utm_term = peewee.CharField(max_length=200, null=True)
    utm_content = peewee.CharField(max_length=200, null=True)
    territory = peewee.CharField(max_length=100, null=True)
    status = peewee.CharField(max_length=20, default="new")
    owner_id = peewee.IntegerField(null=True, index=True)
    team_id = peewee.IntegerField(null=True)
    notes = peewee.TextField(null=True)
    message = peewee.TextField(null=True)  # what the enquiry said
    disqualify_reason = peewee.CharField(max_length=300, null=True)
    customer_id = peewee.IntegerField(null=True, index=True)
    deal_id = peewee.IntegerField(null=True)
    form = peewee.ForeignKeyField(WebForm, null=True, on_delete="SET NULL")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    qualified_at = UTCDateTimeField(null=True)
    converted_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "sales_lead"
        indexes = ((("created_at", "id"), False), (("status", "id"), False))


# -- deals ----------------------------------------------------------------------------------------

class Deal(BaseModel):
    title = peewee.CharField(max_length=200)
    pipeline = peewee.ForeignKeyField(Pipeline, on_delete="RESTRICT")
    stage = peewee.ForeignKeyField(Stage, on_delete="RESTRICT")
    status = peewee.CharField(max_length=8, default=OPEN)  # the kind of its stage
    customer_id = peewee.IntegerField(index=True)
    owner_id = peewee.IntegerField(null=True, index=True)
    team_id = peewee.IntegerField(null=True)
    lead = peewee.ForeignKeyField(Lead, null=True, on_delete="SET NULL")
    source = peewee.CharField(max_length=100, null=True)
    territory = peewee.CharField(max_length=100, null=True)
    amount = money(default=0)
    currency = peewee.CharField(max_length=3)
    # Totals of the lines with benefits applied, when the deal has lines (see quotes.py).
    pricing = JSONField(null=True)
    expected_close = peewee.DateField(null=True)
    lost_reason = peewee.CharField(max_length=300, null=True)
    stage_entered_at = UTCDateTimeField(default=utcnow)
    won_at = UTCDateTimeField(null=True)
    lost_at = UTCDateTimeField(null=True)
    revenue_interaction_id = peewee.IntegerField(null=True)
    created_by = peewee.IntegerField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    access_owner_field = "owner_id"
    access_team_field = "team_id"

    class Meta:
        table_name = "sales_deal"
        indexes = (
            (("pipeline", "stage"), False),
            (("created_at", "id"), False),
            (("updated_at", "id"), False),
            (("status", "won_at"), False),
            (("status", "expected_close"), False),
        )


class DealLine(BaseModel):
    deal = peewee.ForeignKeyField(Deal, backref="lines", on_delete="CASCADE")
    position = peewee.IntegerField(default=0)
    product_id = peewee.IntegerField(null=True)
    sku = peewee.CharField(max_length=64, null=True)
    name = peewee.CharField(max_length=300)
    quantity = FixedDecimalField(max_digits=14, decimal_places=3)
    unit_price = money()
    discount_percent = percent(default=0)
    tax_rate = percent(default=0)
    net = money()
    tax = money()
    total = money()

    class Meta:
        table_name = "sales_deal_line"
        indexes = ((("deal", "position"), False),)


class StageHistory(BaseModel):
    """A deal's stay in one stage; ``left_at`` is None while it is still there."""

    deal = peewee.ForeignKeyField(Deal, backref="history", on_delete="CASCADE")
    pipeline_id = peewee.IntegerField()
    stage = peewee.ForeignKeyField(Stage, on_delete="RESTRICT")
    entered_at = UTCDateTimeField(default=utcnow)
    entered_by = peewee.IntegerField(null=True)
    left_at = UTCDateTimeField(null=True)
    left_by = peewee.IntegerField(null=True)
    seconds = peewee.BigIntegerField(null=True)  # time spent, once left: averages stay in SQL

    class Meta:
        table_name = "sales_stage_history"
        indexes = ((("deal", "entered_at"), False), (("stage", "deal"), False))


class Attachment(BaseModel):
    deal = peewee.ForeignKeyField(Deal, backref="attachments", on_delete="CASCADE")
    filename = peewee.CharField(max_length=255)
    content_type = peewee.CharField(max_length=100)
    size = peewee.IntegerField()
    sha256 = peewee.CharField(max_length=64)
    data = peewee.BlobField()
    uploaded_by = peewee.IntegerField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_attachment"


# -- tasks and calendar ---------------------------------------------------------------------------

class Task(BaseModel):
    kind = peewee.CharField(max_length=10, default="todo")
    title = peewee.CharField(max_length=300)
    description = peewee.TextField(null=True)
    location = peewee.CharField(max_length=300, null=True)
    due_at = UTCDateTimeField()
    duration_minutes = peewee.IntegerField(default=30)
    assignee_id = peewee.IntegerField(null=True)
    deal = peewee.ForeignKeyField(Deal, null=True, backref="tasks", on_delete="CASCADE")
    customer_id = peewee.IntegerField(null=True, index=True)
    status = peewee.CharField(max_length=10, default="open")
    outcome = peewee.TextField(null=True)
    automation_id = peewee.IntegerField(null=True)  # the stage automation that created it
    created_by = peewee.IntegerField(null=True)
    completed_by = peewee.IntegerField(null=True)
    completed_at = UTCDateTimeField(null=True)
    interaction_id = peewee.IntegerField(null=True)
    alerted_at = UTCDateTimeField(null=True)    # overdue alert sent to the assignee
    escalated_at = UTCDateTimeField(null=True)  # overdue alert sent to their manager
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    access_owner_field = "assignee_id"
    access_team_field = None

    class Meta:
        table_name = "sales_task"
        indexes = ((("assignee_id", "due_at"), False), (("status", "due_at"), False))


class CalendarFeed(BaseModel):
    """A user's secret calendar URL; only a hash of the secret is kept."""

    user_id = peewee.IntegerField(unique=True)
    key_prefix = peewee.CharField(max_length=16, unique=True)
    key_hash = peewee.CharField(max_length=64)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_calendar_feed"


# -- products, prices, documents ------------------------------------------------------------------

class Product(BaseModel):
    sku = peewee.CharField(max_length=64, unique=True)
    name = peewee.CharField(max_length=300)
    description = peewee.TextField(null=True)
    unit_price = money()
    currency = peewee.CharField(max_length=3)
    tax_rate = percent(default=0)
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_product"


class PriceList(BaseModel):
    name = peewee.CharField(max_length=100, unique=True)
    currency = peewee.CharField(max_length=3)
    valid_from = peewee.DateField(null=True)
    valid_to = peewee.DateField(null=True)  # inclusive
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_price_list"


class PriceListItem(BaseModel):
    price_list = peewee.ForeignKeyField(PriceList, backref="items", on_delete="CASCADE")
    product = peewee.ForeignKeyField(Product, on_delete="CASCADE")
    unit_price = money()

    class Meta:
        table_name = "sales_price_list_item"
        indexes = ((("price_list", "product"), True),)


class DocumentTemplate(BaseModel):
    """One version of a template; changing a template adds a version, documents keep theirs."""

    name = peewee.CharField(max_length=100)
    version = peewee.IntegerField(default=1)
    kind = peewee.CharField(max_length=20, default="quote")
    body = peewee.TextField()
    active = peewee.BooleanField(default=True)
    created_by = peewee.IntegerField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_document_template"
        indexes = ((("name", "version"), True),)


class Document(BaseModel):
    deal = peewee.ForeignKeyField(Deal, backref="documents", on_delete="CASCADE")
    template = peewee.ForeignKeyField(DocumentTemplate, on_delete="RESTRICT")
    kind = peewee.CharField(max_length=20)
    number = peewee.CharField(max_length=40, unique=True)
    html = peewee.TextField(null=True)
    pdf = peewee.BlobField(null=True)
    figures = JSONField(default=dict)  # the totals as rendered, for reading without the PDF
    total = money()
    currency = peewee.CharField(max_length=3)
    erased = peewee.BooleanField(default=False)
    created_by = peewee.IntegerField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_document"


class Sequence(BaseModel):
    """Gap-free counters (document numbers), incremented in the transaction using the number."""

    name = peewee.CharField(max_length=60, primary_key=True)
    value = peewee.BigIntegerField(default=0)

    class Meta:
        table_name = "sales_sequence"


# -- assignment, targets --------------------------------------------------------------------------

class AssignmentRule(BaseModel):
    name = peewee.CharField(max_length=100, unique=True)
    position = peewee.IntegerField(default=0)
    team_id = peewee.IntegerField()
    strategy = peewee.CharField(max_length=20, default="round_robin")
    source = peewee.CharField(max_length=100, null=True)     # None: any source
    territory = peewee.CharField(max_length=100, null=True)  # None: any territory
    active = peewee.BooleanField(default=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_assignment_rule"


class RoundRobin(BaseModel):
    """Who got the last one, per pool (``team:3``, ``role:installer``)."""

    key = peewee.CharField(max_length=120, primary_key=True)
    last_user_id = peewee.IntegerField(null=True)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_round_robin"


class Target(BaseModel):
    user_id = peewee.IntegerField()
    period = peewee.CharField(max_length=10)  # 2025-03 or 2025-Q1
    period_start = peewee.DateField()
    period_end = peewee.DateField()  # exclusive
    currency = peewee.CharField(max_length=3)
    amount = money()
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "sales_target"
        indexes = ((("user_id", "period", "currency"), True),)


MODELS = [Pipeline, Stage, Automation, WebForm, Lead, Deal, DealLine, StageHistory, Attachment,
          Task, CalendarFeed, Product, PriceList, PriceListItem, DocumentTemplate, Document,
          Sequence, AssignmentRule, RoundRobin, Target]
