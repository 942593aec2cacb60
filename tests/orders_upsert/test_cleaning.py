"""The orders cleaning rules, by example and by property (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from orders_upsert.cleaning import COLUMNS, STATUSES, clean_order, clean_orders

from devtools.pipeline_fixtures import orders as fixture_orders


def test_the_fixture_days_export_cleans_to_five_orders_with_reasons_for_the_rest():
    day = datetime(2026, 3, 1).date()
    cleaned = clean_orders(fixture_orders(day))
    assert [o["order_id"] for o in cleaned.orders] == [f"O-20260301-00{n}" for n in (1, 2, 3, 4, 5)]
    first = cleaned.orders[0]
    assert first == {"order_id": "O-20260301-001", "customer": "Ada Lovelace", "amount": "14.00",
                     "status": "shipped", "ordered_at": "2026-03-01T09:30:00+00:00",
                     "updated_at": "2026-03-01T11:45:00+00:00"}  # the later duplicate won
    by_id = {o["order_id"]: o for o in cleaned.orders}
    assert by_id["O-20260301-002"]["customer"] is None and by_id["O-20260301-002"]["status"] == "shipped"
    assert by_id["O-20260301-003"]["status"] == "pending"  # "null" status
    assert by_id["O-20260301-004"] == {**by_id["O-20260301-004"], "customer": None, "amount": "1250.00"}
    assert [why for _, why in cleaned.dropped] == [
        "no order_id", "amount '-3.00' is out of range", "no amount",
        "ordered_at 'yesterday' is not an ISO 8601 timestamp"]
    assert cleaned.duplicates == 1


def test_a_tie_on_updated_at_keeps_the_later_copy():
    at = "2026-01-01T00:00:00Z"
    cleaned = clean_orders([{"order_id": "a", "amount": "1", "ordered_at": at, "customer": "first"},
                            {"order_id": " A ", "amount": "1", "ordered_at": at, "customer": "second"}])
    assert [o["customer"] for o in cleaned.orders] == ["second"]


# Dirty input: padding, odd case, null spellings, numbers as text or numbers, duplicates of a few ids.
padding = st.sampled_from(["", " ", "  ", "\t", " \n"])
null_like = st.sampled_from([None, "", "   ", "null", "NULL", "None", "n/a"])


@st.composite
def dirty_order(draw):
    def padded(value: str) -> str:
        return draw(padding) + value + draw(padding)

    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
    return {
        "order_id": draw(null_like | st.sampled_from(["o-1", "O-1", "o-2", "x-3", "Y-4"]).map(padded)),
        "customer": draw(null_like | st.text(min_size=1, max_size=12).map(padded)),
        "amount": draw(null_like | st.decimals(-10, 10**6, places=2, allow_nan=False).map(str).map(padded)
                       | st.integers(-5, 10**5)),
        "status": draw(null_like | st.sampled_from([*STATUSES, "refunded"]).map(lambda s: padded(s.upper()))),
        "ordered_at": draw(null_like | st.just(moment.isoformat()).map(padded) | st.just("not a date")),
        "updated_at": draw(null_like | st.just((moment + timedelta(hours=1)).isoformat())),
    }


@given(st.lists(dirty_order(), max_size=30))
def test_clean_orders_are_unique_trimmed_complete_and_every_input_is_accounted_for(raw):
    cleaned = clean_orders(raw)
    ids = [o["order_id"] for o in cleaned.orders]
    assert ids == sorted(set(ids))
    for order in cleaned.orders:
        assert tuple(order) == COLUMNS
        for value in order.values():
            assert value is None or (value == " ".join(value.split()) and value.lower() not in ("", "null", "none"))
        assert all(order[c] is not None for c in ("order_id", "amount", "status", "ordered_at", "updated_at"))
        assert order["status"] in STATUSES and float(order["amount"]) >= 0
    assert len(cleaned.orders) + cleaned.duplicates + len(cleaned.dropped) == len(raw)


@given(st.lists(dirty_order(), max_size=30))
def test_cleaning_is_idempotent(raw):
    once = clean_orders(raw).orders
    twice = clean_orders(once)
    assert twice.orders == once and twice.dropped == [] and twice.duplicates == 0


@given(dirty_order())
def test_one_order_is_either_clean_or_refused_with_a_reason(raw):
    try:
        order = clean_order(raw)
    except ValueError as error:
        assert str(error)
    else:
        assert order["order_id"] == order["order_id"].upper()
