"""Compose test: a task for the `remote` queue, which only a worker on another host consumes."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta

from airflow.sdk import dag, task


@dag(dag_id="compose-remote", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=5),
                   "execution_timeout": timedelta(minutes=2)},
     dagrun_timeout=timedelta(minutes=10))
def compose_remote():
    @task(queue="remote")
    def where() -> str:
        return socket.gethostname()

    where()


compose_remote()


@dag(dag_id="compose-remote-slow", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     default_args={"owner": "data-platform", "retries": 2, "retry_delay": timedelta(seconds=5),
                   "execution_timeout": timedelta(minutes=2)},
     dagrun_timeout=timedelta(minutes=10))
def compose_remote_slow():
    """A task on the remote worker long enough for that worker's container to be lost in its middle."""
    @task(queue="remote")
    def work() -> str:
        import time

        time.sleep(25)
        return socket.gethostname()

    work()


compose_remote_slow()
