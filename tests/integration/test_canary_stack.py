"""The canary on the running native stack: green against the real services, and its deadline alert fired by
the real scheduler and Celery worker for a run made late (the demo switch, a run due almost 3 minutes ago),
never for one that ended in time (Airflow drops its deadline). Slack is the stack's fake."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import requests

from tests.integration.test_notifications_stack import Slack

pytestmark = pytest.mark.integration

DAG_ID = "canary"
DEADLINE = timedelta(minutes=3)  # dags/canary/dag.py
LATE = "DAG run late: deadline missed"


@pytest.fixture
def canary(native_stack):
    """The canary switched on for the test and off again after (so the test stack runs no scheduled canary)."""
    native_stack.wait_dag(DAG_ID)
    native_stack.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False}).raise_for_status()
    try:
        yield native_stack
    finally:
        native_stack.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": True})
        native_stack.api("DELETE", "/variables/canary_late_demo")


@pytest.fixture
def slack(native_stack) -> Slack:
    return Slack(f"http://127.0.0.1:{native_stack.settings['FAKE_SLACK_PORT']}")


def trigger(stack, due: datetime) -> str:
    """A run due at `due` (its logical date, which the deadline counts from)."""
    response = stack.api("POST", f"/dags/{DAG_ID}/dagRuns", json={"logical_date": due.isoformat(), "conf": {}})
    assert response.status_code == 200, response.text[:500]
    return response.json()["dag_run_id"]


def deadlines(stack, run_id: str) -> list[dict]:
    """The run's deadlines as the UI shows them on the run's page."""
    url = f"{stack.url('airflow')}/ui/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/deadlines"
    response = requests.get(url, headers={"Authorization": f"Bearer {stack.api_token()}"}, timeout=30)
    response.raise_for_status()
    return response.json()["deadlines"]


def test_the_canary_runs_green_and_an_on_time_run_leaves_no_deadline_to_fire(canary, slack):
    run_id = trigger(canary, datetime.now(UTC))
    assert canary.wait_run(DAG_ID, run_id, timeout=170) == "success"
    states = {t["task_id"]: t["state"] for t in canary.task_instances(DAG_ID, run_id)}
    assert states == {"check_source": "success", "check_stack": "success", "late_demo": "success"}
    assert deadlines(canary, run_id) == []  # finished before its deadline: Airflow removed it
    assert slack.messages_about(DAG_ID, run_id) == []


def test_a_run_the_demo_makes_late_posts_one_deadline_alert(canary, slack):
    canary.api("POST", "/variables", json={"key": "canary_late_demo", "value": "always"}).raise_for_status()
    due = datetime.now(UTC).replace(microsecond=0) - DEADLINE + timedelta(seconds=20)
    run_id = trigger(canary, due)
    # the run has its deadline from the start (it had none after an earlier test's `dags test` of another DAG
    # rewrote the canary without it: dagutils.deadlines)
    [pending] = deadlines(canary, run_id)
    assert datetime.fromisoformat(pending["deadline_time"]) == due + DEADLINE
    [text] = slack.wait_for(DAG_ID, run_id, timeout=150)
    assert text.startswith(f":warning: *{LATE}*"), text
    assert "(3 min after it was due)" in text
    # late, not failed. Unpausing made a scheduled run for the latest 5-minute tick too; when that tick came
    # after the previous test's, that run is made late as well (the Variable says always) and holds the DAG's
    # one active run (max_active_runs=1) until 3 min 20 s after its tick: this run may start only then.
    assert canary.wait_run(DAG_ID, run_id, timeout=360) == "success"
    [deadline] = deadlines(canary, run_id)
    assert deadline["missed"] is True
    assert datetime.fromisoformat(deadline["deadline_time"]) == due + DEADLINE
    time.sleep(5)
    assert len(slack.messages_about(DAG_ID, run_id)) == 1
