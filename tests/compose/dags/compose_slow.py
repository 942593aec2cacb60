"""Compose test: one task long enough for a worker restart to land in the middle of it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(dag_id="compose-slow", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(seconds=5),
                   "execution_timeout": timedelta(minutes=2)},
     dagrun_timeout=timedelta(minutes=10))
def compose_slow():
    @task
    def work() -> str:
        time.sleep(25)
        return "done"

    work()


compose_slow()
