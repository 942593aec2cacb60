"""Alerting in the session's native stack (the `monitoring` profile): the stack's Prometheus runs the shipped
rules and knows its Alertmanager, every series a rule reads exists under the name the rule uses, and a healthy
stack fires nothing but what is true of it."""

from __future__ import annotations

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
    "QueueGrowing": 'redis_key_size{key="default"}',
    "StateDiskAlmostFull": 'node_filesystem_avail_bytes{state_folder="yes"}',
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
    # the development stack's canary is paused (new DAGs start paused): that alert is true here; nothing else is
    alerts = prometheus(native_stack, "query", query="ALERTS")["result"]
    assert {a["metric"]["alertname"] for a in alerts} <= {"CanaryNotSucceeding"}
