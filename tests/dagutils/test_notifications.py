"""dagutils.notifications against the fake Slack, with callback contexts built the way Airflow builds them."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from datetime import UTC, datetime

import pytest
from airflow.sdk import DAG
from airflow.sdk._shared.secrets_masker import reset_secrets_masker
from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
from airflow.sdk.bases.operator import BaseOperator
from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
from airflow.sdk.log import mask_secret
from dagutils.notifications import (
    Link,
    format_message,
    send_slack_message,
    task_fail_slack_alert,
    task_fail_slack_alert_critical,
    task_success_slack_alert,
)

import slackmessage

BASE_URL = "http://127.0.0.1:18080"
RUN_ID = "scheduled__2025-01-15T18:30:00+00:00"
LOGICAL = datetime(2025, 1, 15, 18, 30, tzinfo=UTC)
NOT_DEFINED = "Slack connection 'slack' is not defined"


@pytest.fixture(autouse=True)
def quick_and_clean(monkeypatch):
    """No waiting between Slack retries, no warnings remembered, nothing masked from earlier tests."""
    monkeypatch.setattr(slackmessage, "RETRY_BACKOFF", 0.001)
    monkeypatch.setattr(slackmessage, "_warned_missing", set())
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", BASE_URL)
    monkeypatch.delenv("TEAM_TIMEZONE", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK", raising=False)
    reset_secrets_masker()
    yield
    reset_secrets_masker()


@pytest.fixture
def slack_webhook(fake_slack, monkeypatch):
    conn = {"conn_type": "slackwebhook", "password": f"{fake_slack.url}/services/T0/B0/secret-part"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    return fake_slack


def task_context(exception=None, logical_date=LOGICAL, try_number=2, reason=None):
    """The context Airflow hands to callbacks: a real RuntimeTaskInstance's template context."""
    with DAG("weather_checker", schedule=None):
        task = BaseOperator(task_id="fetch_forecast")
    dag_run = DagRun.model_construct(
        dag_id="weather_checker", run_id=RUN_ID, logical_date=logical_date, data_interval_start=logical_date,
        data_interval_end=logical_date, run_after=LOGICAL, start_date=LOGICAL, end_date=None,
        run_type="scheduled", state="running", conf={}, consumed_asset_events=[], partition_key=None)
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(), task_id="fetch_forecast", dag_id="weather_checker", run_id=RUN_ID,
        try_number=try_number, dag_version_id=uuid.uuid4(), map_index=-1, task=task,
        _ti_context_from_server=TIRunContext.model_construct(dag_run=dag_run, max_tries=3))
    context = ti.get_template_context()
    if exception is not None:
        context["exception"] = exception
    if reason is not None:
        context["reason"] = reason
    return context


def only_message(fake_slack) -> str:
    messages = fake_slack.snapshot()
    assert len(messages) == 1, messages
    return messages[0]["text"]


def test_format_message_escapes_text_and_renders_links():
    text = format_message("Deploy <main> & co", [("Commit", "a1b2 <x>"), ("Skipped", None), "free text",
                                                 ("Log", Link("http://h/p?a=1&b=2", "View log"))], "success")
    assert text.splitlines() == [
        ":white_check_mark: *Deploy &lt;main&gt; &amp; co*",
        "*Commit:* a1b2 &lt;x&gt;",
        "free text",
        "*Log:* <http://h/p?a=1&b=2|View log>",
    ]


def test_format_message_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="unknown Slack message level 'urgent'; use one of info, success"):
        format_message("x", [], "urgent")


def test_task_failure_sends_one_message_with_everything_needed_to_act(slack_webhook):
    error = ValueError("NWS answered 503\nTraceback line that must not be sent")
    task_fail_slack_alert(task_context(exception=error))
    assert only_message(slack_webhook).splitlines() == [
        ":red_circle: *Task failed*",
        "*DAG:* weather_checker",
        "*Task:* fetch_forecast",
        f"*Run:* {RUN_ID} (try 2)",
        "*Logical date:* 2025-01-15 12:30:00 CST",
        "*Error:* ValueError: NWS answered 503",
        f"*Log:* <{BASE_URL}/dags/weather_checker/runs/scheduled__2025-01-15T18%3A30%3A00%2B00%3A00"
        "/tasks/fetch_forecast?try_number=2|View log>",
    ]


def test_logical_date_follows_team_timezone(slack_webhook, monkeypatch):
    monkeypatch.setenv("TEAM_TIMEZONE", "Europe/Paris")
    task_fail_slack_alert(task_context())
    assert "*Logical date:* 2025-01-15 19:30:00 CET" in only_message(slack_webhook)


def test_an_unknown_timezone_falls_back_to_utc_with_a_warning(slack_webhook, monkeypatch, caplog):
    monkeypatch.setenv("TEAM_TIMEZONE", "Mars/Olympus")
    task_fail_slack_alert(task_context())
    assert "*Logical date:* 2025-01-15 18:30:00 UTC" in only_message(slack_webhook)
    assert "TEAM_TIMEZONE='Mars/Olympus' is not a known time zone" in caplog.text


def test_a_run_without_logical_date_shows_when_it_was_due(slack_webhook):
    task_fail_slack_alert(task_context(logical_date=None))
    assert "*Run after:* 2025-01-15 12:30:00 CST" in only_message(slack_webhook)


def test_critical_failure_mentions_the_channel(slack_webhook):
    task_fail_slack_alert_critical(task_context(exception=RuntimeError("disk full")))
    assert only_message(slack_webhook).startswith("<!channel> :red_circle: *Critical failure: task failed*")


def test_success_message_has_no_error_line(slack_webhook):
    task_success_slack_alert(task_context())
    text = only_message(slack_webhook)
    assert text.startswith(":white_check_mark: *Task succeeded*")
    assert "*Error:*" not in text


def test_dag_level_failure_names_the_reason_and_links_the_run(slack_webhook):
    task_fail_slack_alert(task_context(reason="task_failure"))
    lines = only_message(slack_webhook).splitlines()
    assert lines[0] == ":red_circle: *DAG run failed*"
    assert "*Last task:* fetch_forecast" in lines
    assert f"*Run:* {RUN_ID}" in lines
    assert "*Reason:* task_failure" in lines
    assert lines[-1] == (f"*Run page:* <{BASE_URL}/dags/weather_checker/runs/"
                         "scheduled__2025-01-15T18%3A30%3A00%2B00%3A00|Open run>")


def test_minimal_dag_level_context_still_alerts(slack_webhook):
    with DAG("weather_checker", schedule=None) as dag:
        pass
    task_fail_slack_alert({"dag": dag, "run_id": RUN_ID, "reason": "timed_out"})
    text = only_message(slack_webhook)
    assert "*Reason:* timed_out" in text
    assert "|Open run>" in text


def test_without_a_slack_connection_it_warns_once_and_carries_on(fake_slack, caplog):
    with caplog.at_level(logging.WARNING):
        task_fail_slack_alert(task_context(exception=ValueError("boom")))
        task_fail_slack_alert(task_context(exception=ValueError("boom again")))
    assert caplog.text.count(NOT_DEFINED) == 1
    assert fake_slack.posts == 0


def test_a_transient_slack_failure_is_retried_into_one_message(slack_webhook):
    slack_webhook.fail_next(500, times=2)
    task_fail_slack_alert(task_context(exception=ValueError("boom")))
    assert slack_webhook.posts == 3
    assert "ValueError: boom" in only_message(slack_webhook)


def test_slack_down_is_logged_and_never_raised(slack_webhook, caplog):
    slack_webhook.fail_next(503, times=5)
    task_fail_slack_alert(task_context(exception=ValueError("the task's own failure")))
    assert slack_webhook.posts == 3
    assert "Slack message 'Task failed' not sent after 3 attempt(s)" in caplog.text
    assert "secret-part" not in caplog.text  # the webhook URL is a credential


def test_a_permanent_slack_error_is_not_retried(slack_webhook, caplog):
    slack_webhook.fail_next(404, "no_service", times=3)
    assert send_slack_message("Deploy finished", [("Commit", "abc123")], "success") is False
    assert slack_webhook.posts == 1
    assert "no_service" in caplog.text


def test_the_api_connection_type_posts_to_its_channel(fake_slack, monkeypatch):
    conn = {"conn_type": "slack", "password": "xoxb-test",
            "extra": {"base_url": f"{fake_slack.url}/api/", "channel": "#data-alerts"}}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    task_fail_slack_alert(task_context(exception=ValueError("boom")))
    [message] = fake_slack.snapshot()
    assert (message["kind"], message["channel"]) == ("api", "#data-alerts")
    assert message["text"].startswith(":red_circle: *Task failed*")


def test_masked_secrets_in_an_error_are_redacted_before_slack(slack_webhook):
    mask_secret("hunter2-database-password")
    task_fail_slack_alert(task_context(exception=ValueError("login failed for hunter2-database-password")))
    text = only_message(slack_webhook)
    assert "hunter2" not in text
    assert "*Error:* ValueError: login failed for ***" in text


def test_template_syntax_in_an_error_is_sent_verbatim(slack_webhook):
    task_fail_slack_alert(task_context(exception=KeyError("{{ var.value.token }}")))
    assert "{{ var.value.token }}" in only_message(slack_webhook)


def test_send_slack_message_works_outside_a_task(slack_webhook):
    assert send_slack_message("Deployed", [("Commit", "0123abc"), ("Branch", "main")], "info") is True
    assert only_message(slack_webhook) == ":information_source: *Deployed*\n*Commit:* 0123abc\n*Branch:* main"


def test_unreachable_slack_is_retried_without_logging_the_webhook_url(monkeypatch, caplog, capfd):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # bound but not listening: connection refused
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/services/T0/B0/secret-part"
        monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps({"conn_type": "slackwebhook", "password": url}))
        with caplog.at_level(logging.DEBUG):
            assert send_slack_message("Deploy failed", [], "failure") is False
    assert "not sent after 3 attempt(s): URLError" in caplog.text
    # slack_sdk's own retry logs the full URL through Airflow's structlog output, which is why it is off
    printed = capfd.readouterr()
    assert "secret-part" not in caplog.text + printed.out + printed.err
