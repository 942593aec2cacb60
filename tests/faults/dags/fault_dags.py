"""Fault tests: a task long enough for a fault to land in its middle, and a short one to run many of."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import dag, task

# Both are safe to retry: they only sleep. A retry is how the stack recovers a task whose worker died.
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=5), "execution_timeout": timedelta(minutes=3)}


@dag(dag_id="fault-slow", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     default_args={"owner": "data-platform", **RETRIES}, max_active_runs=20)
def fault_slow():
    @task
    def work() -> str:
        time.sleep(25)
        return "done"

    work()


@dag(dag_id="fault-short", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     default_args={"owner": "data-platform", **RETRIES}, max_active_runs=20)
def fault_short():
    @task
    def work() -> str:
        time.sleep(5)
        return "done"

    work()


fault_slow()
fault_short()
