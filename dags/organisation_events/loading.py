"""
### event_loading: the product's event log, one day at a time, into the warehouse table `events`

`fetch_events` reads `PIPELINE_SOURCE_URL/events?date=` for the run's day; `load_events` upserts the events
(WarehouseUpsertOperator, so a re-run or a retry never duplicates one) and marks the asset `events` updated,
which starts `organisation_statistics`. Both tasks take a slot of the `warehouse` pool (dags/bootstrap.yaml),
retry with a growing delay and alert Slack when they finally fail.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task
from dagutils import metrics
from dagutils.notifications import task_fail_slack_alert
from dagutils.run_day import run_day
from dagutils.sources import get_json
from dagutils.upsert_operator import WarehouseUpsertOperator

from organisation_events.assets import EVENTS, WAREHOUSE_POOL

EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    event_id     text PRIMARY KEY,
    organisation text NOT NULL,
    kind         text NOT NULL,
    occurred_at  timestamptz NOT NULL
)"""
COLUMNS = ("event_id", "organisation", "kind", "occurred_at")


@dag(
    dag_id="event_loading",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    max_active_tasks=2,
    dagrun_timeout=timedelta(minutes=30),
    tags=["example", "warehouse", "events"],
    doc_md=__doc__,
    default_args={
        "owner": "data-engineering",
        "retries": 3,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=5),
        "pool": WAREHOUSE_POOL,
        "on_failure_callback": task_fail_slack_alert,
    },
)
def event_loading():
    @task
    def fetch_events(**context) -> list[dict]:
        events = get_json("/events", date=run_day(context).isoformat())
        metrics.count("rows_received", len(events))
        missing = [n for n, e in enumerate(events) if not all(e.get(c) for c in COLUMNS)]
        if missing:
            raise ValueError(f"events {missing[:5]} lack one of {', '.join(COLUMNS)}")
        return [{c: e[c] for c in COLUMNS} for e in events]

    WarehouseUpsertOperator(task_id="load_events", table="events", key=("event_id",), columns=COLUMNS,
                            rows=fetch_events(), setup_sql=EVENTS_TABLE, outlets=[EVENTS])


event_loading()
