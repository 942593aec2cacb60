"""Slack alerts and 1Password secrets on the running native stack (DAGs in tests/integration/dags).

Needs from the stack: the fake Connect and fake Slack programs (development), the example vault with
FAKE_SLACK_URL expanded, OP_VAULT_ID=airflowdevelopmentvault001, and on every Airflow component
AIRFLOW__SECRETS__BACKEND=opconnect.backend.OnePasswordBackend with its BACKEND_KWARGS.
"""

from __future__ import annotations

import hashlib
import re
import time
from urllib.parse import quote

import pytest
import requests

pytestmark = pytest.mark.integration

DEMO_SECRET = "development demonstration value"  # devtools/onepassword-items.example.json
DEMO_GREETING = "hello from the development vault"


class Slack:
    """The stack's fake Slack, seen over HTTP."""

    def __init__(self, url: str):
        self.url = url

    def messages_about(self, dag_id: str, run_id: str) -> list[str]:
        messages = requests.get(self.url + "/messages", timeout=10).json()
        return [m["text"] for m in messages if f"*DAG:* {dag_id}\n" in m["text"] and run_id in m["text"]]

    def wait_for(self, dag_id: str, run_id: str, timeout: float = 90, settle: float = 5) -> list[str]:
        """Wait for the first message about this run, then a little longer so a duplicate would show."""
        deadline = time.monotonic() + timeout
        while not self.messages_about(dag_id, run_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no Slack message about {dag_id} {run_id} within {timeout} s")
            time.sleep(0.5)
        time.sleep(settle)
        return self.messages_about(dag_id, run_id)


@pytest.fixture
def slack(native_stack) -> Slack:
    return Slack(f"http://127.0.0.1:{native_stack.settings['FAKE_SLACK_PORT']}")


def task_log(stack, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
    path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/logs/{try_number}"
    response = stack.api("GET", path, headers={"Accept": "application/json"})
    response.raise_for_status()
    return str(response.json()["content"])


def test_a_failing_task_sends_one_message_whose_log_link_opens_through_haproxy(native_stack, slack):
    run_id = native_stack.trigger_dag("notify-task-failure")
    assert native_stack.wait_run("notify-task-failure", run_id) == "failed"
    [text] = slack.wait_for("notify-task-failure", run_id)
    assert text.startswith(":red_circle: *Task failed*")
    assert "*Task:* fail_on_purpose" in text
    assert f"*Run:* {run_id} (try 1)" in text
    assert "*Error:* ValueError: intentional failure for the notification test" in text
    # triggered without a logical date, so the message shows when the run was due, in TEAM_TIMEZONE
    assert re.search(r"\*(Logical date|Run after):\* \d{4}-\d\d-\d\d \d\d:\d\d:\d\d C[SD]T", text), text
    link = re.search(r"<([^|>]+)\|View log>", text).group(1)
    assert link.startswith(native_stack.url("airflow") + "/dags/notify-task-failure/runs/")
    page = requests.get(link, timeout=30)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "intentional failure" in task_log(native_stack, "notify-task-failure", run_id, "fail_on_purpose")


def test_a_failed_run_sends_one_message_from_the_dag_level_callback(native_stack, slack):
    run_id = native_stack.trigger_dag("notify-dag-failure")
    assert native_stack.wait_run("notify-dag-failure", run_id) == "failed"
    [text] = slack.wait_for("notify-dag-failure", run_id)
    assert text.startswith(":red_circle: *DAG run failed*")
    assert "*Reason:* task_failure" in text
    run_page = re.search(r"<([^|>]+)\|Open run>", text).group(1)
    assert run_page == f"{native_stack.url('airflow')}/dags/notify-dag-failure/runs/{quote(run_id)}"
    assert requests.get(run_page, timeout=30).status_code == 200


def test_tasks_read_a_secret_and_a_connection_from_1password_without_leaking_them(native_stack):
    conf = {"expected_sha256": hashlib.sha256(DEMO_SECRET.encode()).hexdigest(),
            "expected_greeting": DEMO_GREETING}
    run_id = native_stack.trigger_dag("secrets-read", conf=conf)
    state = native_stack.wait_run("secrets-read", run_id)
    instances = {ti["task_id"]: ti["state"] for ti in native_stack.task_instances("secrets-read", run_id)}
    assert state == "success", instances
    log = task_log(native_stack, "secrets-read", run_id, "read_secret_through_the_utility")
    assert "secret read: ***" in log
    assert DEMO_SECRET not in log
    xcoms = native_stack.api("GET", f"/dags/secrets-read/dagRuns/{quote(run_id, safe='')}/taskInstances/"
                                    "read_secret_through_the_utility/xcomEntries").json()
    assert DEMO_SECRET not in str(xcoms)
