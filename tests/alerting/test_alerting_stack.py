"""Alerting in the session's native stack (the `monitoring` profile): the stack's Prometheus runs the shipped
rules and knows its Alertmanager, every series a rule reads exists under the name the rule uses, and a healthy
stack fires nothing but what is true of it."""

from __future__ import annotations

import time

import pytest
import requests
import yaml

from tests.alerting.rig import RULES
from tests.monitoring.test_metrics_stack import prometheus, wait_for

pytestmark = pytest.mark.integration

# What each rule reads, as a query that has a series once the stack has run a DAG.
SERIES = {
    "CanaryNotSucceeding": 'airflow_ti_finish_by_task_total{dag_id="stack-smoke", state="success"}',
    "SchedulerHeartbeatMissing": "airflow_scheduler_heartbeat_total",
    "DagProcessorHeartbeatMissing": "airflow_dag_processor_heartbeat_total",
    "QueueGrowing": 'collectd_redis_queue_length{type="default"}',
    "StateDiskAlmostFull": 'collectd_df_df_complex{state_folder="yes", type="free"}',
}


def test_the_stacks_prometheus_runs_the_shipped_rules_and_knows_its_alertmanager(native_stack):
    shipped = {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}
    loaded = {rule["name"]: rule["health"] for group in prometheus(native_stack, "rules")["groups"]
              for rule in group["rules"] if rule["type"] == "alerting"}
    assert loaded == dict.fromkeys(shipped, "ok")
    alertmanager = f"http://127.0.0.1:{native_stack.settings['ALERTMANAGER_PORT']}/alertmanager"
    active = wait_for(lambda: prometheus(native_stack, "alertmanagers")["activeAlertmanagers"])
    assert [a["url"] for a in active] == [f"{alertmanager}/api/v2/alerts"]
    assert requests.get(f"{alertmanager}/-/ready", timeout=10).status_code == 200


def test_every_series_a_rule_reads_exists_and_only_true_alerts_are_pending(native_stack):
    run_id = native_stack.trigger_dag("stack-smoke")
    assert native_stack.wait_run("stack-smoke", run_id) == "success"
    for alert, query in SERIES.items():
        assert wait_for(lambda q=query: prometheus(native_stack, "query", query=q)["result"]), \
            f"{alert} reads {query}, which the stack's Prometheus does not have"
    # The development stack's canary is paused (new DAGs start paused): that alert is true here; nothing else is.
    # A heartbeat rule is pending (never firing: `for: 2m`) while its series has less than a minute of samples,
    # which is the case when this test is the first to start the session's stack; it must clear by itself.
    def alerts(state: str = "") -> set[str]:
        query = f'ALERTS{{alertstate="{state}"}}' if state else "ALERTS"
        return {a["metric"]["alertname"] for a in prometheus(native_stack, "query", query=query)["result"]}

    assert alerts("firing") <= {"CanaryNotSucceeding"}
    assert wait_for(lambda: alerts() <= {"CanaryNotSucceeding"}, timeout=180), alerts()


def test_an_alert_reaches_slack_once_through_alertmanager_and_the_dashboard(native_stack):
    slack = f"http://127.0.0.1:{native_stack.settings['FAKE_SLACK_PORT']}/messages"
    alertmanager = f"http://127.0.0.1:{native_stack.settings['ALERTMANAGER_PORT']}/alertmanager"
    alert = {"labels": {"alertname": "AlertPathCheck", "severity": "warning"},
             "annotations": {"summary": "Alertmanager to the dashboard to Slack works."}}
    assert requests.post(f"{alertmanager}/api/v2/alerts", json=[alert], timeout=10).status_code == 200

    def about_it() -> list[dict]:
        return [m for m in requests.get(slack, timeout=10).json() if "AlertPathCheck" in (m.get("text") or "")]

    [message] = wait_for(about_it, timeout=120) and (time.sleep(5) or about_it())  # group_wait is 30 s
    assert message["text"].startswith(":warning: *Alert: AlertPathCheck*")
    assert "Alertmanager to the dashboard to Slack works." in message["text"]
