"""WarehouseHook and WarehouseUpsertOperator against a real PostgreSQL (a throw-away cluster per module)."""

from __future__ import annotations

import os

import pytest
from dagutils.upsert_operator import WarehouseUpsertOperator
from dagutils.warehouse import UpsertError, WarehouseHook, upsert_statement
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devtools.throwaway_postgres import ThrowawayPostgres

TABLE = "CREATE TABLE IF NOT EXISTS items (id text PRIMARY KEY, name text, price numeric(8, 2))"


@pytest.fixture(scope="module")
def pg():
    with ThrowawayPostgres() as server:
        old = os.environ.get("AIRFLOW_CONN_WAREHOUSE")
        os.environ["AIRFLOW_CONN_WAREHOUSE"] = server.connection_json
        yield server
        if old is None:
            os.environ.pop("AIRFLOW_CONN_WAREHOUSE")
        else:
            os.environ["AIRFLOW_CONN_WAREHOUSE"] = old


def table(hook: WarehouseHook) -> dict[str, tuple]:
    return {row[0]: (row[1], str(row[2])) for row in hook.get_records("SELECT id, name, price FROM items")}


def fresh(hook: WarehouseHook) -> None:
    hook.run("DROP TABLE IF EXISTS items")


def test_a_second_run_of_the_same_load_writes_nothing_and_a_changed_row_is_updated(pg):
    hook = WarehouseHook()
    fresh(hook)
    rows = [{"id": "a", "name": "Apple", "price": "1.20"}, {"id": "b", "name": None, "price": "3.00"}]
    assert hook.upsert("items", rows, ("id",), setup_sql=TABLE).as_dict() == \
        {"inserted": 2, "updated": 0, "unchanged": 0}
    before = table(hook)
    assert hook.upsert("items", rows, ("id",), setup_sql=TABLE).as_dict() == \
        {"inserted": 0, "updated": 0, "unchanged": 2}
    assert table(hook) == before == {"a": ("Apple", "1.20"), "b": (None, "3.00")}
    changed = [{"id": "b", "name": "Banana", "price": "3.00"}, {"id": "c", "name": "Cherry", "price": "0.5"}]
    assert hook.upsert("items", changed, ("id",)).as_dict() == {"inserted": 1, "updated": 1, "unchanged": 0}
    assert table(hook) == {"a": ("Apple", "1.20"), "b": ("Banana", "3.00"), "c": ("Cherry", "0.50")}


rows_strategy = st.lists(
    st.fixed_dictionaries({"id": st.text("abcde", min_size=1, max_size=2),
                           "name": st.none() | st.text(st.characters(blacklist_categories=("Cs",),
                                                                     blacklist_characters="\x00"), max_size=8),
                           "price": st.decimals(0, 999999, places=2).map(str)}),
    max_size=12, unique_by=lambda row: row["id"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(rows_strategy, min_size=1, max_size=4))
def test_upserting_batches_leaves_the_last_value_of_every_key_and_repeating_one_changes_nothing(pg, batches):
    hook = WarehouseHook()
    fresh(hook)
    expected: dict[str, tuple] = {}
    for batch in batches:
        result = hook.upsert("items", batch, ("id",), setup_sql=TABLE)
        assert result.inserted + result.updated + result.unchanged == len(batch)
        expected.update({row["id"]: (row["name"], f"{float(row['price']):.2f}") for row in batch})
    assert table(hook) == expected
    again = hook.upsert("items", batches[-1], ("id",))
    assert (again.inserted, again.updated) == (0, 0)
    assert table(hook) == expected


def test_duplicate_keys_missing_columns_and_odd_names_are_refused_before_any_sql(pg):
    hook = WarehouseHook()
    with pytest.raises(UpsertError, match="rows 1 and 3 share the key"):
        hook.upsert("items", [{"id": "a"}, {"id": "b"}, {"id": "a"}], ("id",))
    with pytest.raises(UpsertError, match="row 2 lacks column"):
        hook.upsert("items", [{"id": "a", "name": "x"}, {"id": "b"}], ("id",), ("id", "name"))
    with pytest.raises(UpsertError, match="no value for its key"):
        hook.upsert("items", [{"id": None}], ("id",))
    with pytest.raises(UpsertError, match="not a plain lower-case SQL name"):
        upsert_statement("items; DROP TABLE x", ["id"], ["id"], 1)
    with pytest.raises(UpsertError, match="key column"):
        upsert_statement("items", ["name"], ["id"], 1)


def test_the_operator_upserts_its_rows_and_returns_the_counts(pg):
    fresh(WarehouseHook())
    operator = WarehouseUpsertOperator(task_id="load", table="items", key=["id"], setup_sql=TABLE,
                                       rows=[{"id": "x", "name": "X", "price": "1"}])
    assert operator.execute({}) == {"inserted": 1, "updated": 0, "unchanged": 0}
    assert operator.execute({}) == {"inserted": 0, "updated": 0, "unchanged": 1}


def test_reachability_is_a_yes_or_a_reason_never_an_exception(pg, monkeypatch):
    ok, detail = WarehouseHook().is_reachable()
    assert ok and detail.startswith("PostgreSQL 15")
    with ThrowawayPostgres() as other:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", other.connection_json)
        other.stop()
        ok, detail = WarehouseHook().is_reachable()
    assert not ok and "OperationalError" in detail
    monkeypatch.delenv("AIRFLOW_CONN_WAREHOUSE")
    ok, detail = WarehouseHook().is_reachable()
    assert not ok and "warehouse" in detail
