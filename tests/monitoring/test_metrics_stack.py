"""The `monitoring` profile in the session's native stack: Prometheus scrapes every target, Airflow's StatsD
metrics arrive after a DAG run, and the UI is behind the operators' login on the monitoring port."""

from __future__ import annotations

import time

import pytest
import requests

pytestmark = pytest.mark.integration

# Prometheus' scrape jobs (docker-compose.yaml, configs: prometheus-yml); the session's stack has no TLS_CERT_PATH,
# so no `tls` job (blackbox-exporter runs only with a certificate: test_native_config.py)
JOBS = {"prometheus", "statsd", "webhook", "haproxy", "flower"}


def prometheus(stack, path: str, **params) -> dict:
    """Prometheus' API straight on its loopback port (the internal side; HAProxy's side is tested below)."""
    url = f"http://127.0.0.1:{stack.settings['PROMETHEUS_PORT']}/prometheus/api/v1/{path}"
    reply = requests.get(url, params=params, timeout=10)
    reply.raise_for_status()
    return reply.json()["data"]


def wait_for(check, timeout: float = 90, what: str = ""):
    """Poll `check` until it returns something true (scrapes come every 15 s; collectd flushes every 10 s)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(2)


def test_prometheus_scrapes_every_target_and_each_is_up(native_stack):
    def health():
        targets = prometheus(native_stack, "targets", state="active")["activeTargets"]
        return {t["labels"]["job"]: (t["health"], t["lastError"]) for t in targets}

    last = wait_for(lambda: (h := health()) and all(state == "up" for state, _ in h.values()) and h) or health()
    assert set(last) == JOBS
    assert {job: state for job, state in last.items() if state[0] != "up"} == {}


def test_airflow_metrics_arrive_after_a_dag_run(native_stack):
    run_id = native_stack.trigger_dag("stack-smoke")
    assert native_stack.wait_run("stack-smoke", run_id) == "success"

    def series(query: str) -> list[dict]:
        return prometheus(native_stack, "query", query=query)["result"]

    heartbeats = wait_for(lambda: series("airflow_scheduler_heartbeat_total > 0"))
    assert heartbeats, "no scheduler heartbeat counted in Prometheus"
    # a counter, not the run timer: collectd reports a timer per 10 s flush (NaN in a flush without a run), so a
    # 15 s scrape can miss the one flush that had it; the task-finish counter keeps its total
    finished = wait_for(lambda: series('airflow_ti_finish_by_task_total{dag_id="stack-smoke", state="success"} > 0'))
    assert {r["metric"]["task_id"] for r in finished} == {"report_worker"}


# What collectd (statsd-exporter) reads besides StatsD, with its own plugins (compose.services.yaml collectd-conf)
BASICS = {"PostgreSQL connections": "collectd_postgresql_pg_numbackends",
          "PostgreSQL transactions": 'collectd_postgresql_pg_xact_total{type="commit"}',
          "PostgreSQL locks": 'collectd_postgresql_gauge{type="locks"}',
          "Redis clients": 'collectd_redis_current_connections{type="clients"}',
          "Redis memory": "collectd_redis_memory",
          "the Celery queue": 'collectd_redis_queue_length{type="default"}',
          "the machine's memory": 'collectd_memory{memory="used"}',
          "the state folder's disk": 'collectd_df_df_complex{state_folder="yes"}'}


def test_postgres_redis_memory_and_the_state_disk_arrive_through_collectd(native_stack):
    def absent() -> list[str]:
        return [name for name, query in BASICS.items() if not prometheus(native_stack, "query", query=query)["result"]]

    wait_for(lambda: not absent())
    assert absent() == []
    connections = prometheus(native_stack, "query", query=BASICS["PostgreSQL connections"])["result"]
    assert float(connections[0]["value"][1]) >= 1  # collectd's own connection at least


def test_prometheus_ui_is_behind_the_operators_login(native_stack):
    url = native_stack.url("monitoring") + "/prometheus/graph"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=(native_stack.flower_auth[0], "wrong"), timeout=10).status_code == 401
    page = requests.get(url, auth=native_stack.flower_auth, timeout=10)
    assert page.status_code == 200
    assert "Prometheus" in page.text
    query = requests.get(native_stack.url("monitoring") + "/prometheus/api/v1/query", params={"query": "up"},
                         auth=native_stack.flower_auth, timeout=10)
    assert query.status_code == 200
    assert query.json()["data"]["result"]
