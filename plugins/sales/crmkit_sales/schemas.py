"""Load and dump shapes of the sales API.

Load schemas name only what a caller may write (ids, totals, history and timestamps are the
server's); an unknown field is a 422. Amounts are read as given (strings, integers or JSON numbers)
and checked by the domain code; they are dumped as strings so no client reads money as a float.
"""
from __future__ import annotations

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from crmkit_sales.models import DOCUMENT_KINDS, LEAD_STATUSES, STAGE_KINDS, TASK_KINDS

Money = lambda **kw: f.Decimal(as_string=True, **kw)  # noqa: E731


def _text(n: int, **kw):
    return f.String(validate=v.Length(max=n), allow_none=True, **kw)


class Partial(ma.Schema):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class SalesPageArgs(ma.Schema):
    cursor = f.String()
    limit = f.Integer()


def page_of(item_schema):
    return type(f"{item_schema.__name__}Page", (ma.Schema,), {
        "items": f.List(f.Nested(item_schema)), "next_cursor": f.String(allow_none=True),
        "limit": f.Integer()})


# -- pipelines ------------------------------------------------------------------------------------

class SalesAutomationIn(ma.Schema):
    action = f.String(required=True, metadata={"description": "require_fields, create_task, "
                                                              "notify, generate_document, "
                                                              "emit_event"})
    config = f.Dict(load_default=dict)
    active = f.Boolean(load_default=True)
    position = f.Integer()


class SalesAutomationOut(ma.Schema):
    id = f.Integer()
    stage_id = f.Integer()
    position = f.Integer()
    action = f.String()
    config = f.Dict()
    active = f.Boolean()


class SalesStageIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    kind = f.String(validate=v.OneOf(STAGE_KINDS))
    probability = f.Integer(strict=True, validate=v.Range(0, 100))
    rotting_days = f.Integer(allow_none=True, strict=True)
    position = f.Integer()
    automations = f.List(f.Dict(), metadata={"description": "Replaces the stage's automations"})


class SalesStagePatch(SalesStageIn, Partial):
    pass


class SalesStageOut(ma.Schema):
    id = f.Integer()
    pipeline_id = f.Integer()
    name = f.String()
    position = f.Integer()
    probability = f.Integer()
    kind = f.String()
    rotting_days = f.Integer(allow_none=True)
    automations = f.List(f.Nested(SalesAutomationOut))


class SalesPipelineIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    currency = f.String(validate=v.Length(equal=3))
    position = f.Integer()
    active = f.Boolean()
    stages = f.List(f.Dict())


class SalesPipelinePatch(Partial):
    name = f.String(validate=v.Length(min=1, max=100))
    currency = f.String(validate=v.Length(equal=3))
    position = f.Integer()
    active = f.Boolean()


class SalesPipelineOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    currency = f.String()
    position = f.Integer()
    active = f.Boolean()
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()
    stages = f.List(f.Nested(SalesStageOut))


class SalesReorderIn(ma.Schema):
    stage_ids = f.List(f.Integer(), required=True)


class SalesPipelineFileIn(ma.Schema):
    pipelines = f.List(f.Dict(), required=True)


# -- deals ----------------------------------------------------------------------------------------

class SalesLineIn(ma.Schema):
    product_id = f.Integer(allow_none=True)
    sku = _text(64)
    name = _text(300)
    quantity = f.Raw()
    unit_price = f.Raw()
    discount_percent = f.Raw()
    tax_rate = f.Raw()


class SalesLineOut(ma.Schema):
    id = f.Integer()
    position = f.Integer()
    product_id = f.Integer(allow_none=True)
    sku = f.String(allow_none=True)
    name = f.String()
    quantity = f.Decimal(as_string=True)
    unit_price = Money()
    discount_percent = f.Decimal(as_string=True)
    tax_rate = f.Decimal(as_string=True)
    net = Money()
    tax = Money()
    total = Money()


class SalesDealIn(ma.Schema):
    title = _text(200)
    customer_id = f.Integer(required=True, strict=True)
    pipeline_id = f.Integer(strict=True)
    stage_id = f.Integer(strict=True)
    owner_id = f.Integer(allow_none=True, strict=True)
    auto_assign = f.Boolean(metadata={"description": "Without owner_id: let the assignment "
                                                     "rules choose instead of the caller"})
    source = _text(100)
    territory = _text(100)
    amount = f.Raw(metadata={"description": "Decimal as a string; ignored when lines are given"})
    currency = f.String(validate=v.Length(equal=3))
    expected_close = f.Date(allow_none=True)
    lost_reason = _text(300)
    lines = f.List(f.Nested(SalesLineIn))
    custom = f.Dict(keys=f.String())


class SalesDealPatch(Partial):
    title = f.String(validate=v.Length(min=1, max=200))
    customer_id = f.Integer(strict=True)
    owner_id = f.Integer(allow_none=True, strict=True)
    source = _text(100)
    territory = _text(100)
    amount = f.Raw()
    currency = f.String(validate=v.Length(equal=3))
    expected_close = f.Date(allow_none=True)
    lost_reason = _text(300)
    lines = f.List(f.Nested(SalesLineIn))
    custom = f.Dict(keys=f.String())


class SalesStageRef(ma.Schema):
    id = f.Integer()
    name = f.String()
    kind = f.String()
    probability = f.Integer()


class SalesDealOut(ma.Schema):
    id = f.Integer()
    title = f.String()
    pipeline_id = f.Integer()
    stage_id = f.Integer()
    stage = f.Nested(SalesStageRef)
    status = f.String()
    customer_id = f.Integer()
    owner_id = f.Integer(allow_none=True)
    team_id = f.Integer(allow_none=True)
    lead_id = f.Integer(allow_none=True)
    source = f.String(allow_none=True)
    territory = f.String(allow_none=True)
    amount = Money()
    currency = f.String()
    expected_close = f.Date(allow_none=True)
    lost_reason = f.String(allow_none=True)
    stage_entered_at = f.AwareDateTime()
    won_at = f.AwareDateTime(allow_none=True)
    lost_at = f.AwareDateTime(allow_none=True)
    revenue_interaction_id = f.Integer(allow_none=True)
    rotting = f.Boolean()
    created_by = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()
    custom = f.Dict()
    lines = f.List(f.Nested(SalesLineOut))
    pricing = f.Raw(allow_none=True, metadata={"description": "Totals with benefits applied"})


SalesDealPage = page_of(SalesDealOut)


class SalesDealListArgs(SalesPageArgs):
    pipeline_id = f.Integer()
    stage_id = f.Integer()
    status = f.String(metadata={"description": "open, won, lost; comma-separated"})
    owner_id = f.Integer()
    team_id = f.Integer()
    customer_id = f.Integer()
    source = f.String()
    q = f.String(metadata={"description": "Text in the title"})
    expected_close_from = f.Date()
    expected_close_to = f.Date()
    rotting = f.Boolean()
    sort = f.String(metadata={"description": "created_at or updated_at, - for descending"})

    class Meta:
        unknown = ma.INCLUDE  # custom.<name>[__op] filters


class SalesMoveIn(ma.Schema):
    stage_id = f.Integer(required=True, strict=True)
    lost_reason = _text(300)


class SalesMoveOut(ma.Schema):
    deal = f.Nested(SalesDealOut)
    moved = f.Boolean()
    tasks = f.List(f.Integer())
    documents = f.List(f.Integer())
    notifications = f.Integer()
    events = f.List(f.String())


class SalesHistoryOut(ma.Schema):
    stage_id = f.Integer()
    stage = f.String()
    kind = f.String()
    pipeline_id = f.Integer()
    entered_at = f.AwareDateTime()
    entered_by = f.Integer(allow_none=True)
    left_at = f.AwareDateTime(allow_none=True)
    left_by = f.Integer(allow_none=True)
    seconds = f.Integer(allow_none=True)


# -- tasks ----------------------------------------------------------------------------------------

class SalesTaskIn(ma.Schema):
    kind = f.String(validate=v.OneOf(TASK_KINDS), load_default="todo")
    title = f.String(required=True, validate=v.Length(min=1, max=300))
    description = _text(10000)
    location = _text(300)
    due_at = f.AwareDateTime(required=True)
    duration_minutes = f.Integer(validate=v.Range(0, 10080))
    assignee_id = f.Integer(allow_none=True, strict=True)
    deal_id = f.Integer(allow_none=True, strict=True)
    customer_id = f.Integer(allow_none=True, strict=True)


class SalesTaskPatch(Partial):
    kind = f.String(validate=v.OneOf(TASK_KINDS))
    title = f.String(validate=v.Length(min=1, max=300))
    description = _text(10000)
    location = _text(300)
    due_at = f.AwareDateTime()
    duration_minutes = f.Integer(validate=v.Range(0, 10080))
    assignee_id = f.Integer(allow_none=True, strict=True)
    deal_id = f.Integer(allow_none=True, strict=True)
    customer_id = f.Integer(allow_none=True, strict=True)


class SalesCompleteIn(ma.Schema):
    outcome = _text(10000)


class SalesTaskOut(ma.Schema):
    id = f.Integer()
    kind = f.String()
    title = f.String()
    description = f.String(allow_none=True)
    location = f.String(allow_none=True)
    due_at = f.AwareDateTime()
    duration_minutes = f.Integer()
    assignee_id = f.Integer(allow_none=True)
    deal_id = f.Integer(allow_none=True)
    customer_id = f.Integer(allow_none=True)
    status = f.String()
    outcome = f.String(allow_none=True)
    overdue = f.Boolean()
    automation_id = f.Integer(allow_none=True)
    created_by = f.Integer(allow_none=True)
    completed_by = f.Integer(allow_none=True)
    completed_at = f.AwareDateTime(allow_none=True)
    interaction_id = f.Integer(allow_none=True)
    alerted_at = f.AwareDateTime(allow_none=True)
    escalated_at = f.AwareDateTime(allow_none=True)
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()


SalesTaskPage = page_of(SalesTaskOut)


class SalesTaskListArgs(SalesPageArgs):
    assignee_id = f.Integer()
    deal_id = f.Integer()
    customer_id = f.Integer()
    status = f.String()
    kind = f.String()
    overdue = f.Boolean()
    due_from = f.AwareDateTime()
    due_to = f.AwareDateTime()


class SalesCalendarArgs(ma.Schema):
    user_id = f.Integer(metadata={"description": "Default: the caller"})
    start = f.AwareDateTime(required=True)
    end = f.AwareDateTime(required=True)
    include_done = f.Boolean(load_default=True)


class SalesAgendaArgs(ma.Schema):
    user_id = f.Integer()
    date = f.Date()


class SalesAgendaOut(ma.Schema):
    user_id = f.Integer()
    date = f.Date()
    timezone = f.String()
    tasks = f.List(f.Nested(SalesTaskOut))
    overdue = f.List(f.Nested(SalesTaskOut))


class SalesFeedOut(ma.Schema):
    active = f.Boolean()
    prefix = f.String(allow_none=True)
    created_at = f.AwareDateTime(allow_none=True)
    url = f.String(metadata={"description": "Only when the feed was just created; shown once"})


# -- leads and forms ------------------------------------------------------------------------------

class SalesLeadIn(ma.Schema):
    first_name = _text(150)
    last_name = _text(150)
    name = _text(300)
    company = _text(200)
    email = _text(320)
    phone = _text(40)
    source = _text(100)
    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    territory = _text(100)
    notes = _text(20000)
    message = _text(20000)
    owner_id = f.Integer(allow_none=True, strict=True)
    auto_assign = f.Boolean()


class SalesLeadPatch(SalesLeadIn, Partial):
    status = f.String(validate=v.OneOf(("new", "contacted")))


class SalesLeadOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    first_name = f.String(allow_none=True)
    last_name = f.String(allow_none=True)
    company = f.String(allow_none=True)
    email = f.String(allow_none=True)
    phone = f.String(allow_none=True)
    source = f.String(allow_none=True)
    utm_source = f.String(allow_none=True)
    utm_medium = f.String(allow_none=True)
    utm_campaign = f.String(allow_none=True)
    utm_term = f.String(allow_none=True)
    utm_content = f.String(allow_none=True)
    territory = f.String(allow_none=True)
    status = f.String()
    owner_id = f.Integer(allow_none=True)
    team_id = f.Integer(allow_none=True)
    notes = f.String(allow_none=True)
    message = f.String(allow_none=True)
    disqualify_reason = f.String(allow_none=True)
    customer_id = f.Integer(allow_none=True)
    deal_id = f.Integer(allow_none=True)
    form_id = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()
    qualified_at = f.AwareDateTime(allow_none=True)
    converted_at = f.AwareDateTime(allow_none=True)


SalesLeadPage = page_of(SalesLeadOut)


class SalesLeadListArgs(SalesPageArgs):
    status = f.String(metadata={"description": ", ".join(LEAD_STATUSES)})
    source = f.String()
    owner_id = f.Integer()
    utm_campaign = f.String()
    territory = f.String()
    q = f.String()


class SalesConvertIn(ma.Schema):
    title = _text(200)
    pipeline_id = f.Integer(strict=True)
    stage_id = f.Integer(strict=True)
    owner_id = f.Integer(allow_none=True, strict=True)
    amount = f.Raw()
    currency = f.String(validate=v.Length(equal=3))
    expected_close = f.Date(allow_none=True)
    lines = f.List(f.Nested(SalesLineIn))
    custom = f.Dict(keys=f.String())


class SalesConvertOut(ma.Schema):
    lead = f.Nested(SalesLeadOut)
    customer_id = f.Integer()
    customer_created = f.Boolean()
    deal = f.Nested(SalesDealOut)


class SalesDisqualifyIn(ma.Schema):
    reason = f.String(required=True, validate=v.Length(min=1, max=300))


class SalesFormIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    pipeline_id = f.Integer(required=True, strict=True)
    source = f.String(validate=v.Length(min=1, max=100))
    owner_id = f.Integer(allow_none=True, strict=True)
    task_title = f.String(validate=v.Length(min=1, max=300))
    task_due = f.String(validate=v.Length(min=1, max=50))
    rate_limit = f.String(validate=v.Length(min=1, max=50))
    active = f.Boolean()


class SalesFormPatch(SalesFormIn, Partial):
    pass


class SalesFormOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    key_prefix = f.String()
    pipeline_id = f.Integer()
    source = f.String()
    owner_id = f.Integer(allow_none=True)
    task_title = f.String()
    task_due = f.String()
    rate_limit = f.String()
    active = f.Boolean()
    created_at = f.AwareDateTime()
    key = f.String(metadata={"description": "The form's key; shown once, when created or "
                                            "rotated"})


class SalesSubmissionIn(ma.Schema):
    """What a public web form sends. ``website`` is the honeypot: leave it empty."""

    form_key = f.String(metadata={"description": "Or send it as the X-Form-Key header"})
    first_name = _text(150)
    last_name = _text(150)
    name = _text(300)
    company = _text(200)
    email = _text(320)
    phone = _text(40)
    message = _text(5000)
    subject = _text(200)
    territory = _text(100)
    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    website = _text(500)


class SalesSubmissionOut(ma.Schema):
    status = f.String()


# -- catalog --------------------------------------------------------------------------------------

class SalesProductIn(ma.Schema):
    sku = f.String(required=True, validate=v.Length(min=1, max=64))
    name = f.String(required=True, validate=v.Length(min=1, max=300))
    description = _text(10000)
    unit_price = f.Raw(required=True)
    currency = f.String(required=True, validate=v.Length(equal=3))
    tax_rate = f.Raw()
    active = f.Boolean()


class SalesProductPatch(SalesProductIn, Partial):
    pass


class SalesProductOut(ma.Schema):
    id = f.Integer()
    sku = f.String()
    name = f.String()
    description = f.String(allow_none=True)
    unit_price = Money()
    currency = f.String()
    tax_rate = f.Decimal(as_string=True)
    active = f.Boolean()
    created_at = f.AwareDateTime()
    updated_at = f.AwareDateTime()


class SalesProductListArgs(ma.Schema):
    active = f.Boolean()
    q = f.String()


class SalesPriceItemIn(ma.Schema):
    product_id = f.Integer(strict=True)
    sku = f.String()
    unit_price = f.Raw(required=True)


class SalesPriceListIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    currency = f.String(required=True, validate=v.Length(equal=3))
    valid_from = f.Date(allow_none=True)
    valid_to = f.Date(allow_none=True)
    active = f.Boolean()
    items = f.List(f.Nested(SalesPriceItemIn))


class SalesPriceListPatch(SalesPriceListIn, Partial):
    pass


class SalesPriceItemOut(ma.Schema):
    product_id = f.Integer()
    sku = f.String()
    name = f.String()
    unit_price = Money()


class SalesPriceListOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    currency = f.String()
    valid_from = f.Date(allow_none=True)
    valid_to = f.Date(allow_none=True)
    active = f.Boolean()
    created_at = f.AwareDateTime()
    items = f.List(f.Nested(SalesPriceItemOut))


# -- documents ------------------------------------------------------------------------------------

class SalesTemplateIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    kind = f.String(required=True, validate=v.OneOf(DOCUMENT_KINDS))
    body = f.String(validate=v.Length(min=1, max=200_000),
                    metadata={"description": "Jinja2 HTML; default: the shipped template of "
                                             "the kind"})


class SalesTemplateVersionIn(ma.Schema):
    body = f.String(validate=v.Length(min=1, max=200_000))
    kind = f.String(validate=v.OneOf(DOCUMENT_KINDS))


class SalesTemplateActiveIn(ma.Schema):
    active = f.Boolean(required=True)


class SalesTemplateOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    version = f.Integer()
    kind = f.String()
    active = f.Boolean()
    body = f.String()
    created_by = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()


class SalesTemplateListArgs(ma.Schema):
    all_versions = f.Boolean(load_default=False)


class SalesGenerateIn(ma.Schema):
    template = f.String(required=True, metadata={"description": "A template's name"})


class SalesDocumentOut(ma.Schema):
    id = f.Integer()
    deal_id = f.Integer()
    template_id = f.Integer()
    template_name = f.String()
    template_version = f.Integer()
    kind = f.String()
    number = f.String()
    total = Money()
    currency = f.String()
    figures = f.Raw()
    erased = f.Boolean()
    created_by = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()


class SalesAttachmentOut(ma.Schema):
    id = f.Integer()
    deal_id = f.Integer()
    filename = f.String()
    content_type = f.String()
    size = f.Integer()
    sha256 = f.String()
    uploaded_by = f.Integer(allow_none=True)
    created_at = f.AwareDateTime()


class SalesUploadIn(ma.Schema):
    file = f.Raw(metadata={"type": "string", "format": "binary"})


# -- assignment, targets, reports -----------------------------------------------------------------

class SalesRuleIn(ma.Schema):
    name = f.String(required=True, validate=v.Length(min=1, max=100))
    team_id = f.Integer(required=True, strict=True)
    strategy = f.String(validate=v.OneOf(("round_robin", "least_loaded")))
    source = _text(100)
    territory = _text(100)
    position = f.Integer()
    active = f.Boolean()


class SalesRulePatch(SalesRuleIn, Partial):
    pass


class SalesRuleOut(ma.Schema):
    id = f.Integer()
    name = f.String()
    position = f.Integer()
    team_id = f.Integer()
    strategy = f.String()
    source = f.String(allow_none=True)
    territory = f.String(allow_none=True)
    active = f.Boolean()
    created_at = f.AwareDateTime()


class SalesTargetIn(ma.Schema):
    user_id = f.Integer(required=True, strict=True)
    period = f.String(required=True, metadata={"description": "2025-03, 2025-Q1 or 2025"})
    currency = f.String(required=True, validate=v.Length(equal=3))
    amount = f.Raw(required=True)


class SalesReportArgs(ma.Schema):
    start = f.Date(metadata={"description": "From this day (UTC), inclusive"})
    end = f.Date(metadata={"description": "Before this day (UTC)"})
    pipeline_id = f.Integer()
    owner_id = f.Integer()
    grain = f.String(validate=v.OneOf(("month", "quarter", "year")))
    by = f.String(validate=v.OneOf(("owner", "source")))
    period = f.String()
    user_id = f.Integer()
    format = f.String(validate=v.OneOf(("json", "csv")), load_default="json")


class SalesReportOut(ma.Schema):
    report = f.String()
    columns = f.List(f.String())
    rows = f.List(f.Dict())

    class Meta:
        unknown = ma.INCLUDE
