"""Integration check: a task that fails sends exactly one Slack message through its task-level callback."""

import sys
from datetime import timedelta
from pathlib import Path

# This folder is its own DAG bundle, so the product's dags/ folder (dagutils) is not on sys.path here.
PRODUCT_DAGS = str(Path(__file__).resolve().parents[3] / "dags")
if PRODUCT_DAGS not in sys.path:
    sys.path.append(PRODUCT_DAGS)

from airflow.sdk import dag, task  # noqa: E402
from dagutils.notifications import task_fail_slack_alert  # noqa: E402


@dag(
    dag_id="notify-task-failure",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["integration"],
    default_args={
        "owner": "integration-tests",
        "retries": 0,
        "execution_timeout": timedelta(minutes=2),
        "on_failure_callback": task_fail_slack_alert,
    },
)
def notify_task_failure():
    @task
    def fail_on_purpose():
        raise ValueError("intentional failure for the notification test")

    fail_on_purpose()


notify_task_failure()
