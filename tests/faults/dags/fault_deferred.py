"""Fault tests: a sensor that waits deferred (in the triggerer, not on a worker) until 45 s after the run was
triggered, longer than a killed triggerer's triggers take to be picked up again (30 s without its heartbeat);
then a task that runs after it."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import dag, task

# retries only as a safety net: a trigger lost with its triggerer must be picked up again, not retried
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=5), "execution_timeout": timedelta(minutes=5)}


@dag(dag_id="fault-deferred", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     default_args={"owner": "data-platform", **RETRIES}, max_active_runs=5)
def fault_deferred():
    wait = TimeDeltaSensor(task_id="wait", delta=timedelta(seconds=45), deferrable=True)

    @task
    def after() -> str:
        return "done"

    wait >> after()


fault_deferred()
