"""Integration check: a failed run sends exactly one Slack message through its DAG-level callback."""

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
    dag_id="notify-dag-failure",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["integration"],
    # DAG-level callbacks run in the dag-processor, not on the worker
    on_failure_callback=task_fail_slack_alert,
    default_args={"owner": "integration-tests", "retries": 0, "execution_timeout": timedelta(minutes=2)},
)
def notify_dag_failure():
    @task
    def fail_on_purpose():
        raise RuntimeError("intentional failure for the DAG-level notification test")

    fail_on_purpose()


notify_dag_failure()
