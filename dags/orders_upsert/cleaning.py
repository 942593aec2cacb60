"""Clean the shop's order export: whitespace, nulls, bad values and duplicates, with a reason for each drop.

Pure Python, no Airflow: the rules are tested with hypothesis (tests/dags/orders_upsert/test_cleaning.py).

Rules, per raw order (a dict as the shop's API returns it):
- every string is stripped, inner runs of whitespace become one space; "" and "null"/"none" (any case) are None;
- order_id (required) is upper-cased; an order without one is dropped;
- amount (required) must be a number >= 0, kept as a string with two decimals ("12.50");
- ordered_at (required) and updated_at must be ISO 8601 timestamps, kept as UTC ISO strings; a missing
  updated_at is the ordered_at;
- customer may be None; status is lower-cased, None becomes "pending", anything not in STATUSES is dropped;
- duplicates (same order_id): the copy with the latest updated_at wins; on a tie, the later one in the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

COLUMNS = ("order_id", "customer", "amount", "status", "ordered_at", "updated_at")
STATUSES = ("pending", "paid", "shipped", "cancelled")
NULLS = {"", "null", "none", "n/a"}
MAX_AMOUNT = Decimal("1000000")


@dataclass
class Cleaned:
    orders: list[dict[str, str | None]] = field(default_factory=list)
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (position in the input, why)
    duplicates: int = 0


def text(value: Any) -> str | None:
    """Stripped text with single spaces, or None for null-like values."""
    if value is None:
        return None
    cleaned = " ".join(str(value).split())
    return None if cleaned.lower() in NULLS else cleaned


def amount(value: Any) -> str:
    raw = text(value)
    if raw is None:
        raise ValueError("no amount")
    try:
        number = Decimal(raw.replace(",", "")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"amount {raw!r} is not a number") from None
    if not number.is_finite() or number < 0 or number >= MAX_AMOUNT:
        raise ValueError(f"amount {raw!r} is out of range")
    return str(number)


def timestamp(value: Any, name: str) -> str:
    raw = text(value)
    if raw is None:
        raise ValueError(f"no {name}")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} {raw!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def clean_order(raw: Mapping[str, Any]) -> dict[str, str | None]:
    """One order in the warehouse's shape; ValueError says why it cannot be loaded."""
    order_id = text(raw.get("order_id"))
    if order_id is None:
        raise ValueError("no order_id")
    status = (text(raw.get("status")) or "pending").lower()
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    ordered_at = timestamp(raw.get("ordered_at"), "ordered_at")
    updated = raw.get("updated_at")
    return {
        "order_id": order_id.upper(),
        "customer": text(raw.get("customer")),
        "amount": amount(raw.get("amount")),
        "status": status,
        "ordered_at": ordered_at,
        "updated_at": ordered_at if text(updated) is None else timestamp(updated, "updated_at"),
    }


def clean_orders(raw_orders: Iterable[Mapping[str, Any]]) -> Cleaned:
    """Clean every order, drop what cannot be loaded, keep one copy per order_id (sorted by order_id)."""
    result = Cleaned()
    latest: dict[str, dict[str, str | None]] = {}
    for position, raw in enumerate(raw_orders):
        if not isinstance(raw, Mapping):
            result.dropped.append((position, "not an object"))
            continue
        try:
            order = clean_order(raw)
        except ValueError as error:
            result.dropped.append((position, str(error)))
            continue
        kept = latest.get(order["order_id"])
        if kept is not None:
            result.duplicates += 1
            if datetime.fromisoformat(kept["updated_at"]) > datetime.fromisoformat(order["updated_at"]):
                continue
        latest[order["order_id"]] = order
    result.orders = [latest[key] for key in sorted(latest)]
    return result
