"""What the example pipelines read from outside, served by the fixture server (devtools/fixture_server.py).

GET /events?date=YYYY-MM-DD             the product's event log for one day (event_loading)
GET /shop/orders?date=YYYY-MM-DD        the shop's order export for one day, dirty on purpose (orders_upsert)
GET /partner/deliveries/YYYY-MM-DD      200 when the partner has published that day's delivery, else 404
                                        (scenario "partner": "ready" or "pending"; partner_delivery's sensor)
Everything is a function of the date, so a re-run reads the same data.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta

PARTNER_SCENARIOS = ("ready", "pending")
ORGANISATIONS = ("acme", "globex", "initech", "umbrella")
EVENT_KINDS = ("signup", "login", "purchase", "support_ticket")
_DELIVERY = re.compile(r"^/partner/deliveries/(\d{4}-\d{2}-\d{2})$")


def _day(value: str | None) -> date:
    if not value:
        raise ValueError("the date query parameter is required (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None


def events(day: date) -> list[dict]:
    """40-60 events spread over the day, for four organisations."""
    rng = random.Random(day.toordinal())
    start = datetime(day.year, day.month, day.day)
    return [{"event_id": f"EV-{day:%Y%m%d}-{n:04d}", "organisation": rng.choice(ORGANISATIONS),
             "kind": rng.choice(EVENT_KINDS),
             "occurred_at": (start + timedelta(seconds=rng.randrange(86400))).isoformat() + "Z"}
            for n in range(rng.randrange(40, 61))]


def orders(day: date) -> list[dict]:
    """Ten orders with the faults a real export has: padding, nulls, a duplicate, bad rows."""
    d = f"{day:%Y%m%d}"
    at = f"{day.isoformat()}T09:30:00Z"
    later = f"{day.isoformat()}T11:45:00Z"
    return [
        {"order_id": f"  o-{d}-001 ", "customer": "  Ada   Lovelace ", "amount": "12.5", "status": "PAID",
         "ordered_at": at, "updated_at": at},
        {"order_id": f"O-{d}-002", "customer": None, "amount": "99.99", "status": " shipped ", "ordered_at": at,
         "updated_at": None},
        {"order_id": f"O-{d}-003", "customer": "Grace Hopper", "amount": "5", "status": "null", "ordered_at": at,
         "updated_at": at},
        # the same order again, updated later: this copy wins
        {"order_id": f"O-{d}-001", "customer": "Ada Lovelace", "amount": "14.00", "status": "shipped",
         "ordered_at": at, "updated_at": later},
        {"order_id": f"O-{d}-004", "customer": "NULL", "amount": " 1,250.00 ", "status": "pending",
         "ordered_at": at, "updated_at": at},
        {"order_id": f"O-{d}-005", "customer": "Alan Turing", "amount": "30.10", "status": "cancelled",
         "ordered_at": at, "updated_at": at},
        {"order_id": "   ", "customer": "Nobody", "amount": "1.00", "status": "paid", "ordered_at": at},
        {"order_id": f"O-{d}-006", "customer": "Edsger Dijkstra", "amount": "-3.00", "status": "paid",
         "ordered_at": at},
        {"order_id": f"O-{d}-007", "customer": "Barbara Liskov", "amount": "", "status": "paid", "ordered_at": at},
        {"order_id": f"O-{d}-008", "customer": "Ken Thompson", "amount": "42", "status": "paid",
         "ordered_at": "yesterday"},
    ]


def answer(path: str, query: dict[str, list[str]], scenario: dict) -> tuple[int, object] | None:
    """(status, JSON body) for a pipeline path, or None when the path is not one of ours."""
    try:
        if path == "/events":
            return 200, events(_day((query.get("date") or [None])[0]))
        if path == "/shop/orders":
            return 200, orders(_day((query.get("date") or [None])[0]))
        match = _DELIVERY.match(path)
        if match:
            day = _day(match.group(1))
            if scenario.get("partner", "ready") != "ready":
                return 404, {"status": "pending", "detail": f"no delivery for {day} yet"}
            return 200, {"status": "published", "date": day.isoformat(), "orders": len(orders(day)),
                         "published_at": f"{day.isoformat()}T06:00:00Z"}
    except ValueError as error:
        return 400, {"error": str(error)}
    return None
