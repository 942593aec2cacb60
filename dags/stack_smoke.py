"""
### stack-smoke

One small task that proves the stack schedules and runs work on a Celery worker: it returns the worker's
host name. Trigger it after any change to the stack; `weather-checker` is the full diagnostic.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from airflow.sdk import dag, task

DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 1,
    "retry_delay": timedelta(seconds=10),
    "execution_timeout": timedelta(minutes=1),
}


@dag(
    dag_id="stack-smoke",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(minutes=5),
    tags=["diagnostic"],
    doc_md=__doc__,
)
def stack_smoke():
    @task
    def report_worker() -> str:
        """Return the host name of the worker that ran this task."""
        return socket.gethostname()

    report_worker()


stack_smoke()
