"""``crmkit loyalty ...``: the command-line door, calling the same domain functions as the API.

Configuration commands take ``--data '<json>'`` (or ``--data @file.json``) checked by the API's
own load schemas, so a document that works over HTTP works here. Programmes are named by id or
code, members by id or member number. Each writing command is one transaction. Domain modules
are imported inside the commands: ``crmkit --help`` must stay quick with the plugin installed.
"""
from __future__ import annotations

import datetime as dt
import json

import click

from crmkit.cli.output import domain_command, echo_json, load_options
from crmkit.tables import render_table


def _document(data: str) -> dict:
    text = data
    if data.startswith("@"):
        with open(data[1:], encoding="utf-8") as handle:
            text = handle.read()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--data")
    return value


def _programme(ref: str):
    from crmkit_loyalty.programmes import get_programme
    return get_programme(ref)


def _member(ref: str):
    from crmkit_loyalty.members import get_member, member_by_number
    return get_member(int(ref)) if ref.isdigit() and len(ref) < 9 else member_by_number(ref)


def _time(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


DATA = click.option("--data", "data", required=True,
                    help="A JSON object (or @file.json) as the API takes it.")
AS_OF = click.option("--as-of", type=click.DateTime(), default=None,
                     help="Act as at this UTC time instead of now.")


def register(cli: click.Group) -> None:
    @cli.group("loyalty")
    def loyalty():
        """Loyalty programmes, members, points, tiers, rewards and vouchers."""

    # -- programmes -----------------------------------------------------------------------------

    @loyalty.group("programmes")
    def programmes_group():
        """Programmes: list, show, create, update."""

    @programmes_group.command("list")
    @domain_command()
    def programmes_list():
        from crmkit_loyalty.programmes import list_programmes
        click.echo(render_table(
            ["id", "code", "name", "currency", "active", "tiers by", "expiry"],
            [[p.id, p.code, p.name, p.currency, p.active,
              f"{p.tier_measure}/{p.tier_window}", f"{p.expiry_policy} {p.expiry_period}"]
             for p in list_programmes()]))

    @programmes_group.command("show")
    @click.argument("programme")
    @domain_command()
    def programmes_show(programme):
        from crmkit_loyalty import schemas
        echo_json(schemas.ProgrammeOut().dump(_programme(programme)))

    @programmes_group.command("create")
    @DATA
    @domain_command(write=True)
    def programmes_create(data):
        """Create a programme, e.g. --data '{"code": "club", "name": "Club", "currency": "EUR"}'."""
        from crmkit_loyalty import programmes, schemas
        programme = programmes.create_programme(load_options(schemas.ProgrammeIn(),
                                                             _document(data)))
        click.echo(f"programme {programme.id} ({programme.code}) created")

    @programmes_group.command("update")
    @click.argument("programme")
    @DATA
    @domain_command(write=True)
    def programmes_update(programme, data):
        from crmkit_loyalty import programmes, schemas
        programmes.update_programme(_programme(programme),
                                    load_options(schemas.ProgrammePatch(), _document(data)))
        click.echo("programme updated")

    # -- rules, tiers, rewards ------------------------------------------------------------------

    @loyalty.group("rules")
    def rules_group():
        """Earn rules of a programme."""

    @rules_group.command("list")
    @click.argument("programme")
    @domain_command()
    def rules_list(programme):
        from crmkit_loyalty.programmes import list_rules
        click.echo(render_table(
            ["id", "kind", "name", "rate", "match", "multiplier", "points", "caps", "active"],
            [[r.id, r.kind, r.name, f"{r.points_per_unit}/{r.currency}" if r.points_per_unit
              else "", r.match, r.multiplier, r.points,
              f"{r.cap_per_day or '-'}/day {r.cap_per_month or '-'}/month", r.active]
             for r in list_rules(_programme(programme))]))

    @rules_group.command("add")
    @click.argument("programme")
    @DATA
    @domain_command(write=True)
    def rules_add(programme, data):
        """Add a rule, e.g. --data '{"kind": "spend", "name": "Base", "points_per_unit": "1"}'."""
        from crmkit_loyalty import programmes, schemas
        rule = programmes.create_rule(_programme(programme),
                                      load_options(schemas.RuleIn(), _document(data)))
        click.echo(f"rule {rule.id} added")

    @rules_group.command("update")
    @click.argument("programme")
    @click.argument("rule_id", type=int)
    @DATA
    @domain_command(write=True)
    def rules_update(programme, rule_id, data):
        from crmkit_loyalty import programmes, schemas
        rule = programmes.get_rule(_programme(programme), rule_id)
        programmes.update_rule(rule, load_options(schemas.RulePatch(), _document(data)))
        click.echo(f"rule {rule.id} updated")

    @loyalty.group("tiers")
    def tiers_group():
        """Tiers of a programme, and their evaluation."""

    @tiers_group.command("list")
    @click.argument("programme")
    @domain_command()
    def tiers_list(programme):
        from peewee import fn

        from crmkit_loyalty.models import Member
        from crmkit_loyalty.programmes import list_tiers
        found = _programme(programme)
        holders = dict(Member.select(Member.tier, fn.COUNT(Member.id))
                       .where(Member.programme == found.id).group_by(Member.tier).tuples())
        click.echo(render_table(
            ["id", "rank", "name", "threshold", "multiplier", "discount %", "perks", "members"],
            [[t.id, t.rank, t.name, t.threshold, t.earn_multiplier, t.discount_percent,
              ", ".join(t.perks or []), holders.get(t.id, 0)] for t in list_tiers(found)]))

    @tiers_group.command("add")
    @click.argument("programme")
    @DATA
    @domain_command(write=True)
    def tiers_add(programme, data):
        """Add a tier, e.g. --data '{"name": "Gold", "rank": 2, "threshold": "2000"}'."""
        from crmkit_loyalty import programmes, schemas
        tier = programmes.create_tier(_programme(programme),
                                      load_options(schemas.TierIn(), _document(data)))
        click.echo(f"tier {tier.id} ({tier.name}) added")

    @tiers_group.command("evaluate")
    @click.argument("programme")
    @AS_OF
    @domain_command(write=True)
    def tiers_evaluate(programme, as_of):
        """Move every member to the tier they qualify for (set-based SQL)."""
        from crmkit_loyalty.tiers import evaluate_tiers
        result = evaluate_tiers(_programme(programme), _time(as_of))
        click.echo(f"{result.changed} member(s) changed tier: {result.upgraded} up, "
                   f"{result.downgraded} down")

    @loyalty.group("rewards")
    def rewards_group():
        """The rewards catalogue of a programme."""

    @rewards_group.command("list")
    @click.argument("programme")
    @domain_command()
    def rewards_list(programme):
        from crmkit_loyalty.rewards import list_rewards
        click.echo(render_table(
            ["id", "name", "kind", "points", "value", "min tier", "stock", "active"],
            [[r.id, r.name, r.kind, r.points_cost, f"{r.value or ''} {r.currency or ''}".strip(),
              r.min_tier.name if r.min_tier_id else "", "unlimited" if r.stock is None
              else r.stock, r.active] for r in list_rewards(_programme(programme))]))

    @rewards_group.command("add")
    @click.argument("programme")
    @DATA
    @domain_command(write=True)
    def rewards_add(programme, data):
        """Add a reward, e.g. --data '{"name": "5 off", "kind": "voucher_amount",
        "points_cost": 500, "value": "5", "currency": "EUR"}'."""
        from crmkit_loyalty import rewards, schemas
        reward = rewards.create_reward(_programme(programme),
                                       load_options(schemas.RewardIn(), _document(data)))
        click.echo(f"reward {reward.id} added")

    @rewards_group.command("update")
    @click.argument("programme")
    @click.argument("reward_id", type=int)
    @DATA
    @domain_command(write=True)
    def rewards_update(programme, reward_id, data):
        from crmkit_loyalty import rewards, schemas
        reward = rewards.get_reward(reward_id, _programme(programme))
        rewards.update_reward(reward, load_options(schemas.RewardPatch(), _document(data)))
        click.echo(f"reward {reward.id} updated")

    # -- members --------------------------------------------------------------------------------

    @loyalty.group("members")
    def members_group():
        """Members: enrol, statement, adjust, redeem, referral code."""

    @members_group.command("enrol")
    @click.argument("programme")
    @click.argument("customer_id", type=int)
    @domain_command(write=True)
    def members_enrol(programme, customer_id):
        from crmkit_loyalty.members import enrol_by_request
        member = enrol_by_request(_programme(programme), customer_id)
        click.echo(f"customer {customer_id} is member {member.member_number} (id {member.id})")

    @members_group.command("statement")
    @click.argument("member")
    @click.option("--json", "as_json", is_flag=True, help="The API's statement as JSON.")
    @domain_command()
    def members_statement(member, as_json):
        """Balance, pending, expiring soon, recent history, tier and progress."""
        from crmkit_loyalty.statement import statement
        data = statement(_member(member))
        if as_json:
            echo_json(data)
            return
        m, tier = data["member"], data["tier"]
        click.echo(f"member {m['member_number']} ({m['programme']}), customer {m['customer_id']}")
        click.echo(f"balance {data['balance']} {data['points_name']}: {data['available']} "
                   f"available, {data['pending']} pending, {data['lapsed']} lapsed, "
                   f"{data['owed']} owed")
        for item in data["pending_until"]:
            click.echo(f"  pending until {item['date']}: {item['points']}")
        for item in data["expiring_soon"]:
            click.echo(f"  expiring {item['date']}: {item['points']}")
        name = tier["tier"]["name"] if tier["tier"] else "no tier"
        click.echo(f"tier {name}; {tier['measure']} this window: {tier['value']}")
        if tier["next"]:
            click.echo(f"  next: {tier['next']['tier']['name']} at {tier['next']['threshold']} "
                       f"({tier['next']['remaining']} to go)")
        click.echo(render_table(["id", "when", "kind", "points", "cause"],
                                [[t["id"], t["occurred_at"].strftime("%Y-%m-%d %H:%M"),
                                  t["kind"], t["points"], t["cause"]]
                                 for t in data["history"]]))

    @members_group.command("adjust")
    @click.argument("member")
    @click.argument("points", type=int)
    @click.option("--reason", required=True, help="Why: kept in the ledger.")
    @domain_command(write=True)
    def members_adjust(member, points, reason):
        from crmkit_loyalty import schemas
        from crmkit_loyalty.members import adjust_points
        checked = load_options(schemas.AdjustIn(), {"points": points, "reason": reason})
        tx = adjust_points(_member(member).id, checked["points"], checked["reason"], "cli")
        click.echo(f"transaction {tx.id}: {tx.points:+d}")

    @members_group.command("redeem")
    @click.argument("member")
    @click.argument("reward_id", type=int)
    @domain_command(write=True)
    def members_redeem(member, reward_id):
        from crmkit_loyalty.rewards import redeem
        redemption = redeem(_member(member).id, reward_id, actor="cli")
        click.echo(f"voucher {redemption.voucher_code} ({redemption.points} points)")

    @members_group.command("referral-code")
    @click.argument("member")
    @domain_command(write=True)
    def members_referral_code(member):
        from crmkit_loyalty.members import referral_code
        click.echo(referral_code(_member(member)))

    @loyalty.command("refer")
    @click.argument("programme")
    @click.argument("code")
    @click.argument("customer_id", type=int)
    @domain_command(write=True)
    def refer_cmd(programme, code, customer_id):
        """Record that the member with CODE referred CUSTOMER_ID."""
        from crmkit_loyalty.referrals import refer
        referral = refer(_programme(programme), code, customer_id)
        click.echo(f"referral {referral.id} recorded")

    # -- vouchers -------------------------------------------------------------------------------

    @loyalty.group("vouchers")
    def vouchers_group():
        """Check and consume vouchers."""

    @vouchers_group.command("check")
    @click.argument("code")
    @domain_command()
    def vouchers_check(code):
        from crmkit_loyalty.rewards import check_voucher
        data = check_voucher(code)
        click.echo(f"{data['voucher_code']}: {data['reward']['name']}, {data['status']}"
                   + ("" if data["valid"] else " (not usable)"))

    @vouchers_group.command("consume")
    @click.argument("code")
    @click.option("--reference", default=None, help="The order or visit it was used for.")
    @domain_command(write=True)
    def vouchers_consume(code, reference):
        from crmkit_loyalty.rewards import consume_voucher
        redemption = consume_voucher(code, reference)
        click.echo(f"{redemption.voucher_code} consumed")

    # -- batch work -----------------------------------------------------------------------------

    @loyalty.command("backfill")
    @click.argument("programme")
    @click.option("--since", type=click.DateTime(), default=None)
    @click.option("--until", type=click.DateTime(), default=None)
    @click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 100_000),
                  help="Members per transaction.")
    @click.option("--no-evaluate", is_flag=True, help="Leave tiers to the next evaluation.")
    @domain_command()
    def backfill_cmd(programme, since, until, batch, no_evaluate):
        """Award points for historical purchases (and reverse historical refunds) that have not
        earned yet; safe to run again."""
        from crmkit_loyalty.backfill import backfill
        result = backfill(_programme(programme), since=_time(since), until=_time(until),
                          batch_members=batch, evaluate=not no_evaluate)
        click.echo(f"enrolled {result.enrolled}, purchases {result.purchases}, "
                   f"transactions {result.transactions}, points {result.points}, "
                   f"refunds {result.refunds}, tier changes {result.tiers_changed}")

    @loyalty.command("expire")
    @AS_OF
    @domain_command()
    def expire_cmd(as_of):
        """Write off points past their expiry date (what the nightly job does)."""
        from crmkit_loyalty.jobs import expire_points
        click.echo(f"points expired for {expire_points(_time(as_of))} member(s)")

    @loyalty.command("check")
    @click.argument("member", required=False)
    @domain_command()
    def check_cmd(member):
        """Check that balances, ledger, lots and allocations agree (all members by default)."""
        from crmkit_loyalty.ledger import check_member
        from crmkit_loyalty.models import Member
        ids = [_member(member).id] if member else [m.id for m in Member.select(Member.id)]
        problems = [(i, p) for i in ids for p in check_member(i)]
        for member_id, problem in problems:
            click.echo(f"member {member_id}: {problem}")
        if problems:
            raise click.ClickException(f"{len(problems)} problem(s)")
        click.echo(f"{len(ids)} member(s) checked: books agree")
