"""
### partner_delivery: wait for the partner's daily delivery, then record it

`wait_for_delivery` (dagutils.http_sensor.HttpReadySensor) asks the partner's API
(`PIPELINE_SOURCE_URL/partner/deliveries/<day>`) whether today's delivery is published. While it is not, the
waiting happens in the triggerer: no worker slot is held for the hours a partner can be late. Once it is,
`record_delivery` writes it to the warehouse table `deliveries` (WarehouseUpsertOperator, idempotent).
Gives up after 12 hours; a failure alerts Slack.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task
from dagutils.http_sensor import HttpReadySensor
from dagutils.notifications import task_fail_slack_alert
from dagutils.upsert_operator import WarehouseUpsertOperator

DELIVERIES = """
CREATE TABLE IF NOT EXISTS deliveries (
    day          date PRIMARY KEY,
    orders       integer NOT NULL,
    published_at timestamptz NOT NULL
)"""


@dag(
    dag_id="partner_delivery",
    schedule="0 6 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=3,
    dagrun_timeout=timedelta(hours=13),
    tags=["example", "sensor"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "execution_timeout": timedelta(hours=12, minutes=30),
        "on_failure_callback": task_fail_slack_alert,
    },
)
def partner_delivery():
    wait = HttpReadySensor(task_id="wait_for_delivery", path="/partner/deliveries/{day}", poke_interval=30,
                           timeout=12 * 3600)

    @task
    def delivery_row(delivery: dict) -> list[dict]:
        return [{"day": delivery["date"], "orders": delivery["orders"], "published_at": delivery["published_at"]}]

    WarehouseUpsertOperator(task_id="record_delivery", table="deliveries", key=("day",),
                            rows=delivery_row(wait.output), setup_sql=DELIVERIES)


partner_delivery()
