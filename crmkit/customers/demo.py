"""Demo customers, companies and timelines (Faker), for `crmkit demo`."""
from __future__ import annotations

import datetime as dt
import decimal
import random

from crmkit.customers.service import create_customer
from crmkit.customers.timeline import record_interaction
from crmkit.db import utcnow

CHANNELS = ("web", "referral", "trade_show", "cold_call", "partner", "ads")
PRODUCTS = (("Boiler service", "180.00"), ("Heat pump install", "6400.00"),
            ("Annual maintenance plan", "240.00"), ("Radiator", "310.00"),
            ("Smart thermostat", "199.00"))


def load_demo_customers(size: int, seed: int = 7) -> None:
    from faker import Faker
    fake = Faker(["en_GB"])
    Faker.seed(seed)
    rng = random.Random(seed)
    companies = []
    for _ in range(max(1, size // 10)):
        companies.append(create_customer({
            "kind": "company", "name": fake.unique.company(), "city": fake.city(),
            "country": "GB", "status": rng.choice(["prospect", "active"]),
            "source_channel": rng.choice(CHANNELS), "tags": ["b2b"]}, source="demo"))
    now = utcnow()
    for i in range(size):
        first, last = fake.first_name(), fake.last_name()
        customer = create_customer({
            "first_name": first, "last_name": last,
            "email": f"{first}.{last}.{i}@example.com".lower(),
            "phone": f"+44 20 7946 {i % 10000:04d}",
            "street": fake.street_address(), "city": fake.city(),
            "postal_code": fake.postcode(), "country": "GB",
            "status": rng.choice(["potential", "prospect", "prospect", "active"]),
            "source_channel": rng.choice(CHANNELS),
            "utm_campaign": rng.choice([None, "spring-offer", "newsletter"]),
            "company_id": rng.choice(companies).id if rng.random() < 0.3 else None,
            "tags": rng.sample(["vip", "newsletter", "installer-lead", "returning"],
                               rng.randint(0, 2)),
        }, source="demo")
        for _ in range(rng.randint(1, 6)):
            when = now - dt.timedelta(days=rng.randint(0, 720), minutes=rng.randint(0, 1440))
            kind = rng.choice(["call", "email", "meeting", "visit", "note", "purchase",
                               "web_form", "purchase"])
            data = {"type": kind, "occurred_at": when, "channel": rng.choice(["phone", "email",
                                                                              "web", "store"]),
                    "summary": fake.sentence(nb_words=8)}
            if kind == "purchase":
                name, price = rng.choice(PRODUCTS)
                qty = rng.randint(1, 3)
                data.update(amount=decimal.Decimal(price) * qty, currency="GBP",
                            lines=[{"name": name, "quantity": qty, "unit_price": price}])
            record_interaction(customer.id, data, source="demo")
