"""
### weather-checker: one run, one page, proof that the whole stack works

Run it after every upgrade (it also runs every 5 minutes in production) and open the diagnostics page
(port 8083 through HAProxy). The page shows:

- the NOAA/NWS forecast for the configured point (`WEATHER_LATITUDE`, `WEATHER_LONGITUDE`; Austin by default),
  fetched through `/points/{lat},{lon}` and the forecast URL it names;
- a traffic-camera snapshot (`CAMERA_ID`, `CAMERA_URL_PATTERN`) annotated with Pillow: camera-and-signal
  icon upper left, `CAMERA_LABEL` upper centre, the time in `TEAM_TIMEZONE` lower left;
- the 1Password demonstration secret for this `ENVIRONMENT` (item "Diagnostic ETL (Weather)");
- a pass/fail line for the metadata database, scheduler, dag-processor, triggerer, Celery workers, Redis,
  the webhook, HAProxy and the smee relay;
- how long ago it ran, the last runs, and the stack version.

`publish_page` runs even when a step failed, so the page always says what broke; `verdict` then fails the
run if any check failed. A failing task alerts Slack once; the verdict does not repeat that alert.
Output goes to `DIAGNOSTICS_DIR` (shared by the workers and the diagnostics server).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import TriggerRule, dag, task
from dagutils.notifications import task_fail_slack_alert

from weather_checker import verdict

FORECAST, CAMERA, STACK, PAGE = "fetch_forecast", "snapshot_camera", "check_stack", "publish_page"


def _hostname() -> str:
    import socket

    return socket.gethostname()


@dag(
    dag_id="weather-checker",
    # Development runs on demand only; production proves the stack every 5 minutes.
    schedule="*/5 * * * *" if os.environ.get("ENVIRONMENT") == "production" else None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=4),
    doc_md=__doc__,
    tags=["diagnostic", "weather"],
    default_args={
        "owner": "data-platform",
        "retries": 2,
        "retry_delay": timedelta(seconds=5),
        "execution_timeout": timedelta(seconds=90),
        "on_failure_callback": task_fail_slack_alert,
    },
)
def weather_checker():
    @task(task_id=FORECAST)
    def fetch_forecast() -> None:
        """NWS forecast; 5xx and timeouts retry, a bad point or malformed answer fails at once."""
        from weather_checker import steps

        verdict.report(steps.forecast_step(verdict.load_settings(), _hostname()))

    @task(task_id=CAMERA)
    def snapshot_camera() -> None:
        """Camera snapshot, validated and annotated, written as images/<run>.jpg."""
        from airflow.sdk import get_current_context

        from weather_checker import publish, steps

        key = publish.run_key(get_current_context()["run_id"])
        verdict.report(steps.camera_step(verdict.load_settings(), key, _hostname()))

    @task(task_id=STACK, retries=0)
    def check_stack() -> None:
        """Every component's health; failures are data for the page, not task failures."""
        from airflow.sdk import get_current_context

        from weather_checker import steps

        result = steps.stack_step(verdict.load_settings(), _hostname())
        get_current_context()["ti"].xcom_push(key=verdict.RESULT_KEY, value=result)

    @task(task_id=PAGE, trigger_rule=TriggerRule.ALL_DONE, retries=1)
    def publish_page() -> dict:
        """Read the demonstration secret here (never via XCom), render and publish the page and history."""
        from importlib.metadata import version

        from airflow.sdk import get_current_context
        from dagutils.onepassword import get_secret

        from weather_checker import steps

        settings = verdict.load_settings()
        context = get_current_context()
        forecast = verdict.pull(FORECAST) or {"check": steps.missing("forecast", FORECAST)}
        camera = verdict.pull(CAMERA) or {"check": steps.missing("camera", CAMERA)}
        stack = verdict.pull(STACK) or {"checks": [steps.missing("stack checks", STACK)]}
        secret_check, secret = steps.secret_step(settings, get_secret)
        record = steps.build_record(
            settings, dag_id=context["dag"].dag_id, run_id=context["run_id"], host=_hostname(),
            airflow_version=version("apache-airflow"), forecast=forecast, camera_result=camera, stack=stack,
            secret_check=secret_check)
        steps.publish_step(settings, record, secret)
        return verdict.outcome(record, [forecast, camera, stack])

    @task(task_id="verdict", trigger_rule=TriggerRule.ALL_DONE, retries=0,
          on_failure_callback=verdict.alert_unless_reported)
    def judge() -> str:
        """Fail the run when any check failed, so the run state matches the page."""
        from airflow.sdk import get_current_context

        return verdict.decide(get_current_context()["ti"].xcom_pull(task_ids=PAGE))

    page = publish_page()
    [fetch_forecast(), snapshot_camera(), check_stack()] >> page >> judge()


weather_checker()
