"""sales: pipelines, stages, automations, leads, web forms, deals, lines, stage history,
attachments, tasks, calendar feeds, products, price lists, document templates, documents, number
sequences, assignment rules, round-robin pointers and targets."""
from peewee import (BigIntegerField, BlobField, BooleanField, CharField, DateField, DateTimeField,
                    DecimalField, ForeignKeyField, IntegerField, Model, TextField)


def up(migrator, db):
    class Pipeline(Model):
        name = CharField(max_length=100, unique=True)
        currency = CharField(max_length=3)
        position = IntegerField()
        active = BooleanField()
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_pipeline"

    class Stage(Model):
        pipeline = ForeignKeyField(Pipeline, on_delete="CASCADE")
        name = CharField(max_length=100)
        position = IntegerField()
        probability = IntegerField()
        kind = CharField(max_length=8)
        rotting_days = IntegerField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_stage"
            indexes = [(('pipeline', 'name'), True), (('pipeline', 'position'), False)]

    class Automation(Model):
        stage = ForeignKeyField(Stage, on_delete="CASCADE")
        position = IntegerField()
        action = CharField(max_length=30)
        config = TextField()
        active = BooleanField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_automation"
            indexes = [(('stage', 'position'), False)]

    class WebForm(Model):
        name = CharField(max_length=100, unique=True)
        key_prefix = CharField(max_length=16, unique=True)
        key_hash = CharField(max_length=64)
        pipeline = ForeignKeyField(Pipeline, on_delete="RESTRICT")
        source = CharField(max_length=100)
        owner_id = IntegerField(null=True)
        task_title = CharField(max_length=300)
        task_due = CharField(max_length=50)
        rate_limit = CharField(max_length=50)
        active = BooleanField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_web_form"

    class Lead(Model):
        name = CharField(max_length=300)
        first_name = CharField(max_length=150, null=True)
        last_name = CharField(max_length=150, null=True)
        company = CharField(max_length=200, null=True)
        email = CharField(max_length=320, null=True, index=True)
        phone = CharField(max_length=32, null=True, index=True)
        source = CharField(max_length=100, null=True, index=True)
        utm_source = CharField(max_length=200, null=True)
        utm_medium = CharField(max_length=200, null=True)
        utm_campaign = CharField(max_length=200, null=True)
        utm_term = CharField(max_length=200, null=True)
        utm_content = CharField(max_length=200, null=True)
        territory = CharField(max_length=100, null=True)
        status = CharField(max_length=20)
        owner_id = IntegerField(null=True, index=True)
        team_id = IntegerField(null=True)
        notes = TextField(null=True)
        message = TextField(null=True)
        disqualify_reason = CharField(max_length=300, null=True)
        customer_id = IntegerField(null=True, index=True)
        deal_id = IntegerField(null=True)
        form = ForeignKeyField(WebForm, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        updated_at = DateTimeField()
        qualified_at = DateTimeField(null=True)
        converted_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "sales_lead"
            indexes = [(('created_at', 'id'), False), (('status', 'id'), False)]

    class Deal(Model):
        title = CharField(max_length=200)
        pipeline = ForeignKeyField(Pipeline, on_delete="RESTRICT")
        stage = ForeignKeyField(Stage, on_delete="RESTRICT")
        status = CharField(max_length=8)
        customer_id = IntegerField(index=True)
        owner_id = IntegerField(null=True, index=True)
        team_id = IntegerField(null=True)
        lead = ForeignKeyField(Lead, null=True, on_delete="SET NULL")
        source = CharField(max_length=100, null=True)
        territory = CharField(max_length=100, null=True)
        amount = DecimalField(max_digits=18, decimal_places=2)
        currency = CharField(max_length=3)
        pricing = TextField(null=True)
        expected_close = DateField(null=True)
        lost_reason = CharField(max_length=300, null=True)
        stage_entered_at = DateTimeField()
        won_at = DateTimeField(null=True)
        lost_at = DateTimeField(null=True)
        revenue_interaction_id = IntegerField(null=True)
        created_by = IntegerField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_deal"
            indexes = [(('pipeline', 'stage'), False), (('created_at', 'id'), False),
                       (('updated_at', 'id'), False), (('status', 'won_at'), False),
                       (('status', 'expected_close'), False)]

    class DealLine(Model):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        position = IntegerField()
        product_id = IntegerField(null=True)
        sku = CharField(max_length=64, null=True)
        name = CharField(max_length=300)
        quantity = DecimalField(max_digits=14, decimal_places=3)
        unit_price = DecimalField(max_digits=18, decimal_places=2)
        discount_percent = DecimalField(max_digits=7, decimal_places=4)
        tax_rate = DecimalField(max_digits=7, decimal_places=4)
        net = DecimalField(max_digits=18, decimal_places=2)
        tax = DecimalField(max_digits=18, decimal_places=2)
        total = DecimalField(max_digits=18, decimal_places=2)

        class Meta:
            database = db
            table_name = "sales_deal_line"
            indexes = [(('deal', 'position'), False)]

    class StageHistory(Model):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        pipeline_id = IntegerField()
        stage = ForeignKeyField(Stage, on_delete="RESTRICT")
        entered_at = DateTimeField()
        entered_by = IntegerField(null=True)
        left_at = DateTimeField(null=True)
        left_by = IntegerField(null=True)
        seconds = BigIntegerField(null=True)

        class Meta:
            database = db
            table_name = "sales_stage_history"
            indexes = [(('deal', 'entered_at'), False), (('stage', 'deal'), False)]

    class Attachment(Model):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        filename = CharField(max_length=255)
        content_type = CharField(max_length=100)
        size = IntegerField()
        sha256 = CharField(max_length=64)
        data = BlobField()
        uploaded_by = IntegerField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_attachment"

    class Task(Model):
        kind = CharField(max_length=10)
        title = CharField(max_length=300)
        description = TextField(null=True)
        location = CharField(max_length=300, null=True)
        due_at = DateTimeField()
        duration_minutes = IntegerField()
        assignee_id = IntegerField(null=True)
        deal = ForeignKeyField(Deal, null=True, on_delete="CASCADE")
        customer_id = IntegerField(null=True, index=True)
        status = CharField(max_length=10)
        outcome = TextField(null=True)
        automation_id = IntegerField(null=True)
        created_by = IntegerField(null=True)
        completed_by = IntegerField(null=True)
        completed_at = DateTimeField(null=True)
        interaction_id = IntegerField(null=True)
        alerted_at = DateTimeField(null=True)
        escalated_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_task"
            indexes = [(('assignee_id', 'due_at'), False), (('status', 'due_at'), False)]

    class CalendarFeed(Model):
        user_id = IntegerField(unique=True)
        key_prefix = CharField(max_length=16, unique=True)
        key_hash = CharField(max_length=64)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_calendar_feed"

    class Product(Model):
        sku = CharField(max_length=64, unique=True)
        name = CharField(max_length=300)
        description = TextField(null=True)
        unit_price = DecimalField(max_digits=18, decimal_places=2)
        currency = CharField(max_length=3)
        tax_rate = DecimalField(max_digits=7, decimal_places=4)
        active = BooleanField()
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_product"

    class PriceList(Model):
        name = CharField(max_length=100, unique=True)
        currency = CharField(max_length=3)
        valid_from = DateField(null=True)
        valid_to = DateField(null=True)
        active = BooleanField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_price_list"

    class PriceListItem(Model):
        price_list = ForeignKeyField(PriceList, on_delete="CASCADE")
        product = ForeignKeyField(Product, on_delete="CASCADE")
        unit_price = DecimalField(max_digits=18, decimal_places=2)

        class Meta:
            database = db
            table_name = "sales_price_list_item"
            indexes = [(('price_list', 'product'), True)]

    class DocumentTemplate(Model):
        name = CharField(max_length=100)
        version = IntegerField()
        kind = CharField(max_length=20)
        body = TextField()
        active = BooleanField()
        created_by = IntegerField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_document_template"
            indexes = [(('name', 'version'), True)]

    class Document(Model):
        deal = ForeignKeyField(Deal, on_delete="CASCADE")
        template = ForeignKeyField(DocumentTemplate, on_delete="RESTRICT")
        kind = CharField(max_length=20)
        number = CharField(max_length=40, unique=True)
        html = TextField(null=True)
        pdf = BlobField(null=True)
        figures = TextField()
        total = DecimalField(max_digits=18, decimal_places=2)
        currency = CharField(max_length=3)
        erased = BooleanField()
        created_by = IntegerField(null=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_document"

    class Sequence(Model):
        name = CharField(max_length=60, primary_key=True)
        value = BigIntegerField()

        class Meta:
            database = db
            table_name = "sales_sequence"

    class AssignmentRule(Model):
        name = CharField(max_length=100, unique=True)
        position = IntegerField()
        team_id = IntegerField()
        strategy = CharField(max_length=20)
        source = CharField(max_length=100, null=True)
        territory = CharField(max_length=100, null=True)
        active = BooleanField()
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_assignment_rule"

    class RoundRobin(Model):
        key = CharField(max_length=120, primary_key=True)
        last_user_id = IntegerField(null=True)
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_round_robin"

    class Target(Model):
        user_id = IntegerField()
        period = CharField(max_length=10)
        period_start = DateField()
        period_end = DateField()
        currency = CharField(max_length=3)
        amount = DecimalField(max_digits=18, decimal_places=2)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "sales_target"
            indexes = [(('user_id', 'period', 'currency'), True)]

    db.create_tables([Pipeline, Stage, Automation, WebForm, Lead, Deal, DealLine, StageHistory,
                      Attachment, Task, CalendarFeed, Product, PriceList, PriceListItem,
                      DocumentTemplate, Document, Sequence, AssignmentRule, RoundRobin, Target])


def down(migrator, db):
    for table in ("sales_target", "sales_round_robin", "sales_assignment_rule", "sales_sequence",
                  "sales_document", "sales_document_template", "sales_price_list_item",
                  "sales_price_list", "sales_product", "sales_calendar_feed", "sales_task",
                  "sales_attachment", "sales_stage_history", "sales_deal_line", "sales_deal",
                  "sales_lead", "sales_web_form", "sales_automation", "sales_stage",
                  "sales_pipeline"):
        migrator.migrate(migrator.drop_table(table))

