"""loyalty: programmes, earn rules, tiers, members, the points ledger (transactions, lots,
allocations), tier history, rewards, redemptions and referrals. Frozen copies of the models as
they were when this script was written."""
import datetime

from peewee import (BigAutoField, BigIntegerField, BooleanField, CharField, DateTimeField,
                    DecimalField, ForeignKeyField, IntegerField, Model, TextField)


def up(migrator, db):
    now = datetime.datetime.utcnow

    class Programme(Model):
        code = CharField(max_length=50, unique=True)
        name = CharField(max_length=200)
        points_name = CharField(max_length=50, default="points")
        currency = CharField(max_length=3)
        starts_at = DateTimeField(null=True)
        ends_at = DateTimeField(null=True)
        active = BooleanField(default=True)
        auto_enrol = BooleanField(default=True)
        member_prefix = CharField(max_length=10, default="")
        rounding = CharField(max_length=10, default="down")
        pending_days = IntegerField(default=0)
        expiry_policy = CharField(max_length=10, default="never")
        expiry_period = IntegerField(default=0)
        tier_measure = CharField(max_length=10, default="points")
        tier_window = CharField(max_length=15, default="calendar_year")
        tier_window_days = IntegerField(default=365)
        tier_downgrade = CharField(max_length=20, default="end_of_next_period")
        tier_schedule = CharField(max_length=10, default="daily")
        upgrade_on_earn = BooleanField(default=True)
        visit_types = TextField(default='["visit","purchase"]')
        referrer_points = IntegerField(default=0)
        referred_points = IntegerField(default=0)
        tiers_evaluated_at = DateTimeField(null=True)
        created_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_programme"

    class EarnRule(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        kind = CharField(max_length=20)
        name = CharField(max_length=200)
        currency = CharField(max_length=3, null=True)
        points_per_unit = DecimalField(max_digits=12, decimal_places=4, null=True)
        match = CharField(max_length=200, null=True)
        multiplier = DecimalField(max_digits=8, decimal_places=4, null=True)
        points = IntegerField(null=True)
        cap_per_day = IntegerField(null=True)
        cap_per_month = IntegerField(null=True)
        starts_at = DateTimeField(null=True)
        ends_at = DateTimeField(null=True)
        active = BooleanField(default=True)
        created_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_earn_rule"

    class Tier(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        name = CharField(max_length=100)
        rank = IntegerField()
        threshold = DecimalField(max_digits=18, decimal_places=4)
        earn_multiplier = DecimalField(max_digits=6, decimal_places=3, default=1)
        discount_percent = DecimalField(max_digits=5, decimal_places=2, default=0)
        perks = TextField(default="[]")
        created_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_tier"
            indexes = ((("programme", "rank"), True), (("programme", "name"), True))

    class Member(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        customer_id = IntegerField(index=True)
        member_number = CharField(max_length=30, unique=True, null=True)
        referral_code = CharField(max_length=20, unique=True, null=True)
        status = CharField(max_length=10, default="active")
        merged_into = ForeignKeyField("self", null=True, on_delete="SET NULL")
        tier = ForeignKeyField(Tier, null=True, on_delete="SET NULL")
        tier_since = DateTimeField(null=True)
        tier_kept_until = DateTimeField(null=True)
        points_balance = BigIntegerField(default=0)
        points_owed = BigIntegerField(default=0)
        first_purchase_at = DateTimeField(null=True)
        enrolled_at = DateTimeField(default=now)
        enrolled_via = CharField(max_length=20, default="api")
        updated_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_member"
            indexes = ((("programme", "customer_id"), True),)

    class Transaction(Model):
        id = BigAutoField()
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        member = ForeignKeyField(Member, on_delete="CASCADE")
        kind = CharField(max_length=10)
        points = BigIntegerField()
        qualifying_points = BigIntegerField(default=0)
        shortfall = BigIntegerField(default=0)
        cause = CharField(max_length=20)
        interaction_id = BigIntegerField(null=True, index=True)
        rule_id = IntegerField(null=True)
        redemption_id = IntegerField(null=True)
        referral_id = IntegerField(null=True)
        reverses = ForeignKeyField("self", null=True, on_delete="SET NULL")
        available_at = DateTimeField(null=True)
        expires_at = DateTimeField(null=True)
        dedupe_key = CharField(max_length=100, unique=True, null=True)
        note = TextField(null=True)
        actor = CharField(max_length=200, null=True)
        occurred_at = DateTimeField()
        created_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_transaction"
            indexes = (
                (("member", "id"), False),
                (("member", "occurred_at"), False),
                (("programme", "occurred_at"), False),
            )

    class Lot(Model):
        transaction = ForeignKeyField(Transaction, primary_key=True, on_delete="CASCADE")
        member = ForeignKeyField(Member, on_delete="CASCADE")
        remaining = BigIntegerField()
        available_at = DateTimeField()
        expires_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "loyalty_lot"
            indexes = ((("member", "expires_at"), False), (("expires_at", "remaining"), False))

    class Allocation(Model):
        id = BigAutoField()
        transaction = ForeignKeyField(Transaction, on_delete="CASCADE")
        lot = ForeignKeyField(Lot, on_delete="CASCADE", index=True)
        points = BigIntegerField()

        class Meta:
            database = db
            table_name = "loyalty_allocation"
            indexes = ((("transaction",), False),)

    class TierChange(Model):
        id = BigAutoField()
        member = ForeignKeyField(Member, on_delete="CASCADE")
        from_tier = ForeignKeyField(Tier, null=True, on_delete="SET NULL")
        to_tier = ForeignKeyField(Tier, null=True, on_delete="SET NULL")
        reason = CharField(max_length=20)
        measure = DecimalField(max_digits=20, decimal_places=4, null=True)
        changed_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_tier_change"
            indexes = ((("member", "changed_at"), False),)

    class Reward(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        name = CharField(max_length=200)
        description = TextField(null=True)
        kind = CharField(max_length=20)
        points_cost = BigIntegerField()
        value = DecimalField(max_digits=18, decimal_places=4, null=True)
        currency = CharField(max_length=3, null=True)
        sku = CharField(max_length=100, null=True)
        min_tier = ForeignKeyField(Tier, null=True, on_delete="SET NULL")
        stock = IntegerField(null=True)
        voucher_valid_days = IntegerField(null=True)
        active = BooleanField(default=True)
        created_at = DateTimeField(default=now)
        updated_at = DateTimeField(default=now)

        class Meta:
            database = db
            table_name = "loyalty_reward"

    class Redemption(Model):
        member = ForeignKeyField(Member, on_delete="CASCADE")
        reward = ForeignKeyField(Reward, on_delete="CASCADE")
        points = BigIntegerField()
        voucher_code = CharField(max_length=40, unique=True)
        status = CharField(max_length=10, default="issued")
        transaction = ForeignKeyField(Transaction, null=True, on_delete="SET NULL")
        issued_at = DateTimeField(default=now)
        expires_at = DateTimeField(null=True)
        consumed_at = DateTimeField(null=True)
        consumed_reference = CharField(max_length=200, null=True)
        cancelled_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "loyalty_redemption"
            indexes = ((("member", "issued_at"), False),)

    class Referral(Model):
        programme = ForeignKeyField(Programme, on_delete="CASCADE")
        referrer = ForeignKeyField(Member, on_delete="CASCADE")
        referred_customer_id = IntegerField()
        referred_member = ForeignKeyField(Member, null=True, on_delete="SET NULL")
        status = CharField(max_length=10, default="pending")
        created_at = DateTimeField(default=now)
        rewarded_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "loyalty_referral"
            indexes = ((("programme", "referred_customer_id"), True),)

    db.create_tables([Programme, EarnRule, Tier, Member, Transaction, Lot, Allocation, TierChange,
                      Reward, Redemption, Referral])


def down(migrator, db):
    for table in ("loyalty_referral", "loyalty_redemption", "loyalty_reward",
                  "loyalty_tier_change", "loyalty_allocation", "loyalty_lot",
                  "loyalty_transaction", "loyalty_member", "loyalty_tier", "loyalty_earn_rule",
                  "loyalty_programme"):
        db.execute_sql(f'DROP TABLE IF EXISTS "{table}"')
