"""Many clients redeeming at once against one balance and one limited reward, over real HTTP
requests on real database connections (one per thread), on SQLite and PostgreSQL alike: exact
final balance, never negative, stock never oversold, one redemption per Idempotency-Key."""
import threading
from collections import Counter

import pytest
from crmkit_loyalty.testing import check_books

THREADS = 16


def run_at_once(app, count, request):
    """Start ``count`` threads behind a barrier, each with its own client (and connection);
    return their (status, body) answers."""
    barrier = threading.Barrier(count)
    answers = [None] * count

    def worker(i):
        client = app.test_client()
        barrier.wait()
        response = request(client, i)
        answers[i] = (response.status_code, response.json)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(answer is not None for answer in answers), "a thread did not finish"
    return answers


@pytest.fixture
def setup(api, app):
    programme = api.programme(rate="1")
    base = f"/loyalty/programmes/{programme['id']}/rewards"
    limited = api.post(base, {"name": "Open day", "kind": "event_ticket", "points_cost": 100,
                              "stock": 5})
    unlimited = api.post(base, {"name": "5 off", "kind": "voucher_amount", "points_cost": 100,
                                "value": "5", "currency": "EUR"})
    ada = api.customer()
    api.purchase(ada["id"], "1000")
    member = api.member_of(programme["id"], ada["id"])
    api.get("/loyalty/programmes")  # the test admin's token exists before the threads start
    return member, limited, unlimited


def redeem(member_id, reward_id, key=None):
    headers = {"Idempotency-Key": key} if key else {}

    def request(client, i):
        return client.post(f"/api/v1/loyalty/members/{member_id}/redemptions",
                           json={"reward_id": reward_id}, headers=headers)

    return request


def test_limited_stock_is_never_oversold(api, app, setup):
    member, limited, _ = setup
    answers = run_at_once(app, THREADS, redeem(member["id"], limited["id"]))
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 5, 409: THREADS - 5}, answers
    assert all("out of stock" in body["message"] for status, body in answers if status == 409)
    codes = {body["voucher_code"] for status, body in answers if status == 201}
    assert len(codes) == 5
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 500
    reward = api.get(f"/loyalty/programmes/{member['programme_id']}/rewards/{limited['id']}")
    assert reward["stock"] == 0
    check_books(app)


def test_one_balance_is_never_overspent(api, app, setup):
    member, _, unlimited = setup
    answers = run_at_once(app, THREADS, redeem(member["id"], unlimited["id"]))
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 10, 409: THREADS - 10}, answers
    refusals = [body for status, body in answers if status == 409]
    assert all(body["message"].startswith("Not enough points") for body in refusals)
    assert all(body["balance"] == 0 for body in refusals)  # the winners had spent it all
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 0
    assert len(api.get(f"/loyalty/members/{member['id']}/redemptions")) == 10
    check_books(app)


def test_both_races_at_once(api, app, setup):
    """Half the clients want the limited reward, half the unlimited one, from one balance of
    1000: at most 5 tickets, and tickets plus vouchers add up to exactly what was spent."""
    member, limited, unlimited = setup

    def request(client, i):
        reward = limited if i % 2 else unlimited
        return redeem(member["id"], reward["id"])(client, i)

    answers = run_at_once(app, THREADS, request)
    won = [body for status, body in answers if status == 201]
    assert all(status in (201, 409) for status, _ in answers), answers
    tickets = sum(1 for body in won if body["reward_id"] == limited["id"])
    # 8 want vouchers, 8 want tickets (5 in stock): demand exceeds the 10 the balance pays for.
    assert len(won) == 10 and 2 <= tickets <= 5
    balance = api.get(f"/loyalty/members/{member['id']}")["points_balance"]
    assert balance == 1000 - 100 * len(won) >= 0
    stock = api.get(f"/loyalty/programmes/{member['programme_id']}/rewards/{limited['id']}")
    assert stock["stock"] == 5 - tickets
    check_books(app)


def test_one_idempotency_key_redeems_once_however_many_retries_race(api, app, setup):
    member, _, unlimited = setup
    answers = run_at_once(app, THREADS, redeem(member["id"], unlimited["id"], key="retry-me"))
    assert {status for status, _ in answers} == {201}, answers
    assert len({body["voucher_code"] for _, body in answers}) == 1
    assert api.get(f"/loyalty/members/{member['id']}")["points_balance"] == 900
    check_books(app)


def test_redemptions_race_with_earning_expiry_and_tier_evaluation(api, app, setup):
    """Purchases earning (and upgrading), redemptions spending, the expiry job and tier
    evaluations all at once: nothing deadlocks, the books agree."""
    member, _, unlimited = setup
    customer_id = member["customer_id"]
    tiers = f"/loyalty/programmes/{member['programme_id']}/tiers"
    api.post(tiers, {"name": "Blue", "rank": 0, "threshold": "0"})
    api.post(tiers, {"name": "Gold", "rank": 1, "threshold": "1200"})

    def request(client, i):
        if i % 4 == 0:
            return client.post(f"/api/v1/customers/{customer_id}/interactions",
                               json={"type": "purchase", "amount": "100", "currency": "EUR"})
        return redeem(member["id"], unlimited["id"])(client, i)

    from crmkit import db
    from crmkit_loyalty.jobs import expire_points
    from crmkit_loyalty.models import Programme
    from crmkit_loyalty.tiers import evaluate_tiers

    def expiry():
        with app.app_context(), db.connection():
            for _ in range(5):
                expire_points()
                with db.write_transaction():
                    evaluate_tiers(Programme.get_by_id(member["programme_id"]))

    sweeper = threading.Thread(target=expiry)
    sweeper.start()
    answers = run_at_once(app, THREADS, request)
    sweeper.join(timeout=120)
    spent = sum(1 for status, body in answers if status == 201 and "voucher_code" in body)
    earned = THREADS // 4
    assert all(status in (201, 409) for status, _ in answers), answers
    after = api.get(f"/loyalty/members/{member['id']}")
    assert after["points_balance"] == 1000 + 100 * earned - 100 * spent >= 0
    assert after["tier"]["name"] == "Gold"  # 1000 + 400 qualifying points this year
    check_books(app)


def test_a_merge_races_with_redemptions_and_purchases_of_both_customers(api, app, setup):
    """Folding one member's customer into another's while both redeem and buy: no deadlock, no
    503, every answer a success or a clean refusal, and the merged books still agree."""
    member, _, unlimited = setup
    programme_id = member["programme_id"]
    bea = api.customer("Bea Smith")
    api.purchase(bea["id"], "1000")
    other = api.member_of(programme_id, bea["id"])
    customers = [member["customer_id"], bea["id"]]

    def request(client, i):
        if i == 0:
            return client.post(f"/api/v1/customers/{customers[0]}/merge",
                               json={"duplicate_id": customers[1]})
        if i % 3 == 0:
            return client.post(f"/api/v1/customers/{customers[i % 2]}/interactions",
                               json={"type": "purchase", "amount": "10", "currency": "EUR"})
        return redeem((member, other)[i % 2]["id"], unlimited["id"])(client, i)

    answers = run_at_once(app, THREADS, request)
    assert answers[0][0] == 200, answers[0]
    assert all(status in (200, 201, 404, 409) for status, _ in answers), answers
    # A purchase for the merged-away customer that lost the race answers 404 naming the survivor.
    refused = [body for status, body in answers if status == 404]
    assert all(body.get("merged_into") == customers[0] for body in refused), refused
    check_books(app)
