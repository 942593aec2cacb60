"""dagutils.deadlines: the alert's definition, and its callback posting to the fake Slack with the context the
scheduler builds for a missed deadline (Deadline.handle_miss: the run as the REST API shows it, the deadline)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from airflow.sdk import DeadlineReference, SyncCallback
from dagutils import deadlines

import slackmessage

RUN_ID = "scheduled__2026-03-01T12:05:00+00:00"


@pytest.fixture
def slack(fake_slack, monkeypatch):
    monkeypatch.setattr(slackmessage, "RETRY_BACKOFF", 0.001)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://airflow.example:8080")
    monkeypatch.setenv("TEAM_TIMEZONE", "America/Chicago")
    conn = {"conn_type": "slackwebhook", "password": f"{fake_slack.url}/services/T0/B0/secret-part"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    return fake_slack


def missed_context() -> dict:
    run = {"dag_run_id": RUN_ID, "dag_id": "canary", "logical_date": "2026-03-01T12:05:00Z",
           "queued_at": "2026-03-01T12:05:01Z", "state": "running", "run_type": "scheduled"}
    return {"dag_run": run, "deadline": {"id": "0190", "deadline_time": "2026-03-01T12:08:00+00:00"}}


def test_the_alert_counts_from_when_the_run_was_due_and_calls_back_on_a_worker(monkeypatch):
    monkeypatch.setattr("sys.argv", ["airflow", "dag-processor"])
    alert = deadlines.slack_deadline_alert(timedelta(minutes=3), "canary")
    assert alert.reference == DeadlineReference.DAGRUN_LOGICAL_DATE
    assert alert.interval == timedelta(minutes=3)
    assert isinstance(alert.callback, SyncCallback)
    assert alert.callback.path == "dagutils.deadlines.deadline_missed"


def test_no_alert_under_dags_test_of_this_dag(monkeypatch):
    monkeypatch.setattr("sys.argv", ["airflow", "dags", "test", "canary"])
    assert deadlines.slack_deadline_alert(timedelta(minutes=3), "canary") is None


def test_testing_another_dag_keeps_the_alert(monkeypatch):
    """`airflow dags test orders_upsert` parses the canary's file too and writes it to the database: there it
    keeps its deadline (the CLI names the DAG under test in Airflow's parsing context, whatever its options)."""
    monkeypatch.setattr("sys.argv", ["airflow", "dags", "test", "-B", "dags-folder", "orders_upsert"])
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "orders_upsert")  # what the CLI sets while parsing
    assert deadlines.slack_deadline_alert(timedelta(minutes=3), "canary") is not None
    monkeypatch.delenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID")
    monkeypatch.setattr("sys.argv", ["airflow", "dags", "test", "orders_upsert"])
    assert deadlines.slack_deadline_alert(timedelta(minutes=3), "canary") is not None


def test_a_missed_deadline_posts_one_warning_naming_the_run_and_the_times(slack):
    deadlines.deadline_missed(context=missed_context(), allowed="3 min")
    [message] = slack.snapshot()
    text = message["text"]
    assert text.startswith(":warning: *DAG run late: deadline missed*"), text
    assert "*DAG:* canary" in text and f"*Run:* {RUN_ID}" in text
    assert "*Due:* 2026-03-01 06:05:00 CST" in text
    assert "*Deadline:* 2026-03-01 06:08:00 CST (3 min after it was due)" in text
    assert "<http://airflow.example:8080/dags/canary/runs/scheduled__2026-03-01T12%3A05%3A00%2B00%3A00|Open run>" \
        in text


def test_a_strange_context_still_posts_the_alert(slack):
    deadlines.deadline_missed(context={"dag_run": {"dag_id": "canary", "logical_date": "soon"}})
    [message] = slack.snapshot()
    assert "*DAG:* canary" in message["text"] and "*Due:* soon" in message["text"]
