"""Property-based: random sequences of earn, redeem, expire, refund, adjust, cancel and time
passing. After every step the balance equals the ledger (and the lots), never goes below zero,
redemptions spend exactly what they cost, and no redemption ever took expired or pending points.
"""
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from crmkit import db
from crmkit.customers.models import Customer, Interaction
from crmkit.errors import Conflict
from crmkit_loyalty import earn, jobs, ledger, members, programmes, rewards
from crmkit_loyalty.models import Allocation, Lot, Member, Programme, Redemption, Transaction

START = dt.datetime(2031, 1, 1, tzinfo=dt.timezone.utc)


class LedgerMachine(RuleBasedStateMachine):
    """One member of a fresh programme per example (the database is shared between examples)."""

    counter = 0

    @initialize()
    def start(self):
        LedgerMachine.counter += 1
        self.now = START
        with db.write_transaction():
            # Earlier examples' programmes would earn on this example's purchases too.
            Programme.update(active=False).execute()
            self.programme = programmes.create_programme({
                "code": f"p{LedgerMachine.counter}", "name": "P", "currency": "EUR",
                "pending_days": 3, "expiry_policy": "days", "expiry_period": 10})
            programmes.create_rule(self.programme, {"kind": "spend", "name": "Base",
                                                    "points_per_unit": Decimal("1")})
            self.rewards = [
                rewards.create_reward(self.programme, {"name": "Small", "kind": "upgrade",
                                                       "points_cost": 7}),
                rewards.create_reward(self.programme, {"name": "Rare", "kind": "event_ticket",
                                                       "points_cost": 13, "stock": 3}),
            ]
            self.customer = Customer.create(name=f"Member {LedgerMachine.counter}")
            self.member, _ = members.enrol(self.programme, self.customer.id, now=self.now)
        self.purchases: list[Interaction] = []
        self.redeemed = 0  # points spent on redemptions still standing, by our own count
        self.open_redemptions: list[int] = []

    def _record(self, kind, amount, payload=None):
        return Interaction.create(customer=self.customer, type=kind, amount=amount,
                                  currency="EUR", occurred_at=self.now,
                                  payload=None if payload is None else
                                  __import__("json").dumps(payload))

    @rule(amount=st.integers(min_value=1, max_value=40))
    def purchase(self, amount):
        with db.write_transaction():
            interaction = self._record("purchase", Decimal(amount))
            earn.on_interaction(interaction, now=self.now)
            earn.on_interaction(interaction, now=self.now)  # delivered twice: earns once
        self.purchases.append(interaction)

    @precondition(lambda self: self.purchases)
    @rule(data=st.data(), share=st.integers(min_value=1, max_value=100))
    def refund(self, data, share):
        purchase = data.draw(st.sampled_from(self.purchases))
        amount = (purchase.amount * share / 100).quantize(Decimal("0.01"))
        with db.write_transaction():
            refund = self._record("refund", max(amount, Decimal("0.01")),
                                  {"purchase_id": purchase.id})
            earn.on_interaction(refund, now=self.now)

    @rule(which=st.integers(min_value=0, max_value=1))
    def redeem(self, which):
        reward = self.rewards[which]
        try:
            with db.write_transaction():
                redemption = rewards.redeem(self.member.id, reward.id, now=self.now)
        except Conflict:
            return  # not enough points or out of stock: nothing may have changed
        self.redeemed += reward.points_cost
        self.open_redemptions.append(redemption.id)

    @precondition(lambda self: self.open_redemptions)
    @rule(data=st.data())
    def cancel(self, data):
        redemption_id = data.draw(st.sampled_from(self.open_redemptions))
        with db.write_transaction():
            redemption = rewards.cancel_redemption(redemption_id, now=self.now)
        self.open_redemptions.remove(redemption_id)
        self.redeemed -= redemption.points

    @rule(points=st.integers(min_value=-30, max_value=30).filter(bool))
    def adjust(self, points):
        try:
            with db.write_transaction():
                members.adjust_points(self.member.id, points, "property test", now=self.now)
        except Conflict:
            assert points < 0

    @rule(days=st.integers(min_value=1, max_value=8))
    def time_passes(self, days):
        self.now += dt.timedelta(days=days)

    @rule()
    def expire(self):
        jobs.expire_points(now=self.now)

    @invariant()
    def books_agree(self):
        member_id = self.member.id
        assert ledger.check_member(member_id) == []
        member = Member.get_by_id(member_id)
        assert member.points_balance >= 0 and member.points_owed >= 0
        spent = -sum(t.points for t in Transaction.select().where(
            (Transaction.member == member_id) & (Transaction.kind == "redeem")))
        restored = sum(t.points for t in Transaction.select().where(
            (Transaction.member == member_id) & (Transaction.cause == "redemption_cancelled")))
        assert spent - restored == self.redeemed
        assert Redemption.select().where((Redemption.member == member_id)
                                         & (Redemption.status == "issued")).count() == \
            len(self.open_redemptions)

    @invariant()
    def redemptions_only_spent_live_points(self):
        taken = (Allocation.select(Allocation.points, Lot.available_at, Lot.expires_at,
                                   Transaction.created_at)
                 .join(Lot).switch(Allocation).join(Transaction)
                 .where((Transaction.member == self.member.id) & (Transaction.kind == "redeem")))
        for row in taken.objects():
            assert row.available_at <= row.created_at, "spent pending points"
            assert row.expires_at is None or row.created_at < row.expires_at, \
                "spent expired points"


@pytest.mark.parametrize("seed", [0])
def test_ledger_invariants_hold_for_any_sequence(app, seed):
    from crmkit.testing import configured_test_database
    on_postgres = (configured_test_database() or "").startswith("postgres")
    with app.app_context(), db.connection():
        run_state_machine_as_test(LedgerMachine, settings=settings(
            max_examples=int(__import__("os").environ.get("LOYALTY_EXAMPLES", 25 if on_postgres else 60)), stateful_step_count=30, deadline=None,
            derandomize=True, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]))
