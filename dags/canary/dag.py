"""
### canary: is the stack alive and can it reach the outside? Every 5 minutes, in a few seconds

- `check_source` makes one cheap call to an outside source: the NWS point lookup the weather-checker starts
  with (`NWS_BASE_URL`; the fixture server in development).
- `check_stack` asks the api-server's health endpoint (metadata database; scheduler, dag-processor and
  triggerer heartbeats), pings Redis and reads the deploy webhook's status.
- `late_demo` does nothing unless the Variable `canary_late_demo` is `on` (about one run in five is made late)
  or `always` (canary/late_demo.py): the course's demonstration of a missed deadline.

A failed run posts one Slack message (DAG-level `on_failure_callback`, dagutils.notifications); a healthy run
posts nothing. A run not finished 3 minutes after it was due misses its deadline (an Airflow 3 DeadlineAlert,
dagutils.deadlines) and Slack hears of that too. It runs as soon as it is deployed in production, whatever
`AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION` says; in development it waits to be switched on, like every DAG.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task
from dagutils.deadlines import slack_deadline_alert
from dagutils.notifications import task_fail_slack_alert

DAG_ID = "canary"
DEADLINE = timedelta(minutes=3)  # after the run was due; the schedule leaves 2 more minutes before the next


@dag(
    dag_id=DAG_ID,
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=4, seconds=30),
    # production: running from its first deploy, even where new DAGs start paused; development: the default
    is_paused_upon_creation=False if os.environ.get("ENVIRONMENT") == "production" else None,
    deadline=slack_deadline_alert(DEADLINE, DAG_ID),
    on_failure_callback=task_fail_slack_alert,
    doc_md=__doc__,
    tags=["diagnostic", "canary"],
    default_args={
        "owner": "data-platform",
        "retries": 1,
        "retry_delay": timedelta(seconds=15),
        "execution_timeout": timedelta(seconds=60),
    },
)
def canary():
    @task
    def check_source() -> str:
        from weather_checker.verdict import load_settings

        from canary import checks

        return checks.source(load_settings())

    @task
    def check_stack() -> list[str]:
        from weather_checker.verdict import load_settings

        from canary import checks

        return [f"{c['name']}: {c['detail']}" for c in checks.stack(load_settings())]

    @task(retries=0, execution_timeout=DEADLINE + timedelta(minutes=1))
    def late_demo(**context) -> str:
        import time

        from airflow.sdk import Variable

        from canary import late_demo

        chosen = late_demo.mode(Variable.get(late_demo.VARIABLE, default="off"))
        due = context.get("logical_date") or context["dag_run"].run_after
        if not late_demo.is_late_run(chosen, due):
            return f"on time ({late_demo.VARIABLE} is {chosen})"
        until = late_demo.sleep_until(due, DEADLINE)
        print(f"{late_demo.VARIABLE} is {chosen}: this run is made late, sleeping until {until.isoformat()}")
        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()))
        return f"late on purpose ({late_demo.VARIABLE} is {chosen})"

    check_source()
    check_stack()
    late_demo()


canary()
