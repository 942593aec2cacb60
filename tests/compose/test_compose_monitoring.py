"""The `monitoring` profile under compose, in the layer's stack (conftest.py turns it on): what a user checks
through HAProxy's monitoring port only. Nothing of the profile is published; Prometheus scrapes on the compose
network. The images other than ours are local stand-ins (tests/compose/images/README.md)."""

from __future__ import annotations

import re
import time

import pytest
import requests

pytestmark = pytest.mark.compose

PROFILE = ("prometheus", "statsd-exporter", "dashboard", "alertmanager")
# no TLS_CERT_PATH here: no blackbox-exporter (profile `tls`) and no target in the tls job (test_compose_schema.py)
JOBS = {"prometheus", "webhook", "haproxy", "flower", "statsd"}
PANELS = ["DAG runs per day by state", "Time since each DAG&#39;s last success", "Slowest tasks", "Canary",
          "Deploys and their results", "Queue depth and worker slots", "Stack memory", "Business metrics"]


def monitoring(stack, path: str, **kwargs) -> requests.Response:
    return requests.get(stack.url("monitoring") + path, auth=stack.flower_auth, timeout=60, **kwargs)


def query(stack, promql: str) -> list[dict]:
    return monitoring(stack, "/prometheus/api/v1/query", params={"query": promql}).json()["data"]["result"]


def until(check, timeout: float, pause: float = 5):
    """check() until it returns something true, at most `timeout` seconds; its last value either way."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(pause)
    return value


def test_every_monitoring_service_is_healthy(compose_stack):
    states = compose_stack.states()
    assert {name: states.get(name) for name in PROFILE} == dict.fromkeys(PROFILE, ("running", "healthy"))
    assert states["dashboard-account"][0] == "exited"
    assert "blackbox-exporter" not in states  # nothing to probe without a certificate


def test_prometheus_scrapes_every_target_on_the_compose_network(compose_stack):
    def targets():
        active = monitoring(compose_stack, "/prometheus/api/v1/targets").json()["data"]["activeTargets"]
        return active if all(t["health"] == "up" for t in active) else None

    active = until(targets, 90) or monitoring(compose_stack, "/prometheus/api/v1/targets").json()["data"]
    assert isinstance(active, list), f"targets not all up: {active}"
    assert {t["labels"]["job"] for t in active} == JOBS
    # service names of the compose network, none of them a published port
    assert all(re.match(r"http://[a-z-]+:\d+/", t["scrapeUrl"]) for t in active), [t["scrapeUrl"] for t in active]


def test_airflows_statsd_metrics_arrive_after_a_dag_run(compose_stack):
    run_id = compose_stack.trigger_dag("stack-smoke")
    assert compose_stack.wait_run("stack-smoke", run_id, timeout=300) == "success"
    promql = 'airflow_ti_finish_by_task_total{dag_id="stack-smoke",state="success"}'
    found = until(lambda: query(compose_stack, promql), 120)
    assert found and float(found[0]["value"][1]) >= 1, f"{promql}: {found}"
    assert query(compose_stack, "airflow_scheduler_heartbeat_total"), "the scheduler's heartbeat counter"


def test_postgres_redis_memory_and_the_state_disk_arrive_through_collectd(compose_stack):
    from tests.monitoring.test_metrics_stack import BASICS

    def absent() -> list[str]:
        return [name for name, promql in BASICS.items() if not query(compose_stack, promql)]

    until(lambda: not absent(), 90)
    assert absent() == []


def test_the_monitoring_port_asks_for_the_login_then_serves_the_dashboard(compose_stack):
    url = compose_stack.url("monitoring")
    for path in ("/", "/prometheus/", "/alertmanager/"):
        assert requests.get(url + path, timeout=30).status_code == 401, path
        wrong = requests.get(url + path, auth=(compose_stack.flower_auth[0], "not-it"), timeout=30)
        assert wrong.status_code == 401, path
    page = monitoring(compose_stack, "/")
    assert page.status_code == 200
    titles = re.findall(r"<h2>([^<]*)", page.text)
    assert [p for p in PANELS if not any(t.startswith(p) for t in titles)] == [], titles
    assert "unreachable" not in page.text, "a panel could not reach its source"
    assert "<svg" in page.text, "no chart drawn (stack memory comes from Prometheus once it scraped)"
    assert monitoring(compose_stack, "/prometheus/graph").status_code == 200
    assert monitoring(compose_stack, "/alertmanager/api/v2/status").json()["cluster"]["status"] == "disabled"
