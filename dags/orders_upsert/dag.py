"""
### orders_upsert: the shop's daily orders, cleaned, checked and upserted into the warehouse

1. `check_warehouse` branches on whether the warehouse database answers: if not, `warehouse_unreachable`
   posts a warning to Slack (DAG and task ids taken from the run's context) and everything else is skipped.
2. `extract_orders` reads the day's export from the shop (`PIPELINE_SOURCE_URL/shop/orders?date=`).
3. `clean_orders` strips whitespace, turns null-like values into nulls, drops rows that cannot be loaded
   (each with its reason in the log) and keeps the latest copy of duplicated orders (`orders_upsert/cleaning.py`).
4. `sanity_check` refuses to load when too little survived: fewer than the variable `orders_min_rows` clean
   orders, or more than `orders_max_dropped_ratio` of the input dropped (both from dags/bootstrap.yaml).
   The counts of rows received, dropped and merged go to Prometheus (dagutils.metrics).
5. `load_orders` upserts into `orders` (WarehouseUpsertOperator): a re-run updates changed orders and never
   duplicates one.

A failed task alerts Slack with its DAG and task ids (dagutils.notifications).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Variable, dag, task
from airflow.sdk.exceptions import AirflowFailException
from dagutils import metrics
from dagutils.notifications import send_slack_message, task_fail_slack_alert
from dagutils.run_day import run_day
from dagutils.sources import get_json
from dagutils.upsert_operator import WarehouseUpsertOperator

from orders_upsert.cleaning import COLUMNS, clean_orders

ORDERS_TABLE = """
CREATE TABLE IF NOT EXISTS orders (
    order_id   text PRIMARY KEY,
    customer   text,
    amount     numeric(12, 2) NOT NULL CHECK (amount >= 0),
    status     text NOT NULL,
    ordered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    loaded_at  timestamptz NOT NULL DEFAULT now()
)"""


@dag(
    dag_id="orders_upsert",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=30),
    tags=["example", "warehouse"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "execution_timeout": timedelta(minutes=5),
        "on_failure_callback": task_fail_slack_alert,
    },
)
def orders_upsert():
    @task.branch(retries=0)
    def check_warehouse() -> str:
        from dagutils.warehouse import WarehouseHook  # in the task: parsing never loads the database driver

        reachable, detail = WarehouseHook().is_reachable()
        print(f"warehouse: {detail}")
        return "extract_orders" if reachable else "warehouse_unreachable"

    @task
    def warehouse_unreachable(**context) -> None:
        """Say so once, loudly enough, and let the branch skip the load."""
        from dagutils.warehouse import WarehouseHook

        ti = context["ti"]
        _, detail = WarehouseHook().is_reachable()
        send_slack_message("Warehouse unreachable: orders not loaded",
                           [("DAG", ti.dag_id), ("Task", ti.task_id), ("Run", context["run_id"]), ("Why", detail)],
                           "warning")

    @task
    def extract_orders(**context) -> list[dict]:
        return get_json("/shop/orders", date=run_day(context).isoformat())

    @task
    def clean(raw: list[dict]) -> dict:
        cleaned = clean_orders(raw)
        for position, why in cleaned.dropped:
            print(f"dropped input row {position}: {why}")
        print(f"{len(raw)} rows in, {len(cleaned.orders)} orders out, {len(cleaned.dropped)} dropped, "
              f"{cleaned.duplicates} duplicates merged")
        metrics.count("rows_received", len(raw))
        metrics.count("dirty_rows_dropped", len(cleaned.dropped))
        metrics.count("duplicate_rows_merged", cleaned.duplicates)
        return {"orders": cleaned.orders, "received": len(raw), "dropped": len(cleaned.dropped)}

    @task
    def sanity_check(cleaned: dict) -> list[dict]:
        minimum = int(Variable.get("orders_min_rows", default="1"))
        max_dropped = float(Variable.get("orders_max_dropped_ratio", default="0.5"))
        orders, received, dropped = cleaned["orders"], cleaned["received"], cleaned["dropped"]
        if len(orders) < minimum:
            raise AirflowFailException(f"only {len(orders)} clean orders (orders_min_rows is {minimum}); "
                                       f"not loading")
        if received and dropped / received > max_dropped:
            raise AirflowFailException(f"{dropped} of {received} rows dropped, more than orders_max_dropped_ratio "
                                       f"{max_dropped}; not loading")
        return orders

    raw = extract_orders()
    check_warehouse() >> [raw, warehouse_unreachable()]
    WarehouseUpsertOperator(task_id="load_orders", table="orders", key=("order_id",), columns=COLUMNS,
                            rows=sanity_check(clean(raw)), setup_sql=ORDERS_TABLE)


orders_upsert()
