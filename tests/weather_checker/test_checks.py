"""Stack checks: each component's answer (or silence) becomes one pass/warn/fail line with a reason."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
from weather_checker import checks
from weather_checker.session import make_session

from stacktest.net import free_port
from tests.weather_checker.samples import HAPROXY_FIXTURES

NOW = datetime(2026, 10, 20, 18, 0, tzinfo=UTC)
HEALTH_URL = "http://airflow-apiserver:8080/api/v2/monitor/health"
WEBHOOK_URL = "http://webhook:8000/"
STATS_URL = "http://haproxy:8084/;csv"


def ago(seconds: int) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat()


def health(**overrides) -> dict:
    body = {
        "metadatabase": {"status": "healthy"},
        "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": ago(3)},
        "triggerer": {"status": "healthy", "latest_triggerer_heartbeat": ago(4)},
        "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": ago(5)},
    }
    body.update(overrides)
    return body


def session():
    return make_session("test", retries=0)


def by_name(found: list[dict]) -> dict[str, dict]:
    return {c["name"]: c for c in found}


def test_healthy_airflow_passes_with_heartbeat_ages(responses_mock, settings):
    responses_mock.get(HEALTH_URL, json=health())
    found = by_name(checks.airflow_health(session(), settings, NOW))
    assert list(found) == ["metadata database", "scheduler", "dag-processor", "triggerer"]
    assert all(c["status"] == "pass" for c in found.values())
    assert found["scheduler"]["detail"] == "healthy, last heartbeat 3 s ago"
    assert found["dag-processor"]["detail"] == "healthy, last heartbeat 5 s ago"


def test_unhealthy_missing_and_never_run_components_fail(responses_mock, settings):
    responses_mock.get(HEALTH_URL, json=health(
        scheduler={"status": "unhealthy", "latest_scheduler_heartbeat": ago(120)},
        triggerer={"status": None, "latest_triggerer_heartbeat": None},
        dag_processor=None))
    found = by_name(checks.airflow_health(session(), settings, NOW))
    assert found["metadata database"]["status"] == "pass"
    assert found["scheduler"] == {"name": "scheduler", "status": "fail",
                                  "detail": "unhealthy, last heartbeat 120 s ago"}
    assert found["triggerer"]["detail"] == "never ran, no heartbeat recorded"
    assert found["dag-processor"]["detail"].startswith("not reported by")


def test_unreachable_api_fails_all_four_naming_the_url(responses_mock, settings):
    found = checks.airflow_health(session(), settings, NOW)
    assert [c["status"] for c in found] == ["fail"] * 4
    assert all(HEALTH_URL in c["detail"] for c in found)


def test_workers_that_answer_pass_and_name_the_one_running_the_task():
    result = checks.celery_workers(lambda: {"celery@w1": {"ok": "pong"}, "celery@w2": {"ok": "pong"}}, "w2")
    assert result["status"] == "pass"
    assert result["detail"] == "2 alive: celery@w1, celery@w2; this task ran on celery@w2"


def test_running_outside_celery_is_said_plainly():
    result = checks.celery_workers(lambda: {"celery@w1": {"ok": "pong"}}, "laptop")
    assert result["status"] == "pass"
    assert "this task ran on laptop, not one of them" in result["detail"]


def test_no_workers_or_broker_trouble_fail():
    assert checks.celery_workers(lambda: None, "w1")["detail"] == "no Celery worker answered the ping"

    def broken():
        raise ConnectionRefusedError("Error 111 connecting to redis:6379")

    failed = checks.celery_workers(broken, "w1")
    assert failed["status"] == "fail"
    assert failed["detail"] == "ConnectionRefusedError: Error 111 connecting to redis:6379"


@pytest.fixture
def redis_server():
    """A real redis-server on a free port, stopped at teardown."""
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    yield port
    proc.terminate()
    proc.wait(timeout=5)


def test_redis_answers_pong(redis_server, settings):
    result = checks.redis_ping(replace(settings, redis_host="127.0.0.1", redis_port=redis_server))
    assert result["status"] == "pass"
    assert result["detail"].startswith(f"PONG from 127.0.0.1:{redis_server} in ")


def test_redis_not_listening_fails(settings):
    result = checks.redis_ping(replace(settings, redis_host="127.0.0.1", redis_port=free_port()))
    assert result["status"] == "fail" and "unreachable" in result["detail"]


def test_redis_asking_for_a_password_is_alive(settings):
    listener = socket.create_server(("127.0.0.1", 0))

    def answer():
        conn, _ = listener.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"-NOAUTH Authentication required.\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        result = checks.redis_ping(replace(settings, redis_host="127.0.0.1", redis_port=port))
    finally:
        thread.join(timeout=5)
        listener.close()
    # tasks do not get the broker's password: a Redis that refuses them is up, and closed as it should be
    assert result["status"] == "pass"
    assert "asks for a password" in result["detail"]


WEBHOOK_STATUS = {
    "service": "webhook", "stack_version": "0.1.0", "environment": "development", "deploys_configured": True,
    "branch": "production", "bundle": "gitops", "deployed_commit": "0123456789abcdef0123456789abcdef01234567",
    "restart": {"required": False}, "relay": None, "deploys": [], "generated_at": 1.0,
}


def test_webhook_status_gives_commit_and_relay_warning_before_any_event(responses_mock, settings):
    responses_mock.get(WEBHOOK_URL, json=WEBHOOK_STATUS)
    found, info = checks.webhook_status(session(), settings)
    assert found[0] == {"name": "webhook", "status": "pass",
                        "detail": "up, deployed commit 0123456789ab of production"}
    assert found[1]["status"] == "warn" and found[1]["detail"] == "no event relayed yet"
    assert info == {"commit": WEBHOOK_STATUS["deployed_commit"], "stack_version": "0.1.0"}
    assert responses_mock.calls[0].request.headers["Accept"] == "application/json"


def test_relay_event_is_reported_with_its_age_and_path(responses_mock, settings):
    relay = {"received_at": 1.0, "relay_timestamp": 1.0, "via_relay": True, "outcome": "accepted",
             "age_seconds": 754.2}
    responses_mock.get(WEBHOOK_URL, json={**WEBHOOK_STATUS, "relay": relay, "deployed_commit": None})
    found, _ = checks.webhook_status(session(), settings)
    assert found[0]["detail"] == "up, nothing deployed from production"
    assert found[1] == {"name": "relay", "status": "pass",
                        "detail": "last event 12 min ago, through smee, outcome accepted"}


@pytest.mark.parametrize("answer", [{"status": 502, "body": "bad gateway"}, {"body": "<html>status</html>"},
                                    {}])
def test_webhook_trouble_fails_both_webhook_and_relay(responses_mock, settings, answer):
    if answer:
        responses_mock.get(WEBHOOK_URL, **answer)
    found, info = checks.webhook_status(session(), settings)
    assert [c["status"] for c in found] == ["fail", "fail"] and info == {}
    assert found[0]["detail"].startswith(f"webhook status {WEBHOOK_URL} unavailable")


def test_haproxy_stats_are_read_with_the_stats_login(responses_mock, settings):
    responses_mock.get(STATS_URL, body=(HAPROXY_FIXTURES / "stats_all_up.csv").read_text())
    result = checks.haproxy(session(), replace(settings, stats_username="stats", stats_password="pw"))
    assert result["status"] == "pass"
    assert responses_mock.calls[0].request.headers["Authorization"] == "Basic c3RhdHM6cHc="


@pytest.mark.parametrize(("answer", "detail"), [
    ({"status": 401, "body": "auth"}, "stats page refused the read-only stats login, HAPROXY_STATS_PASSWORD (401)"),
    ({"status": 503, "body": "x"}, f"stats {STATS_URL} answered 503"),
    ({"body": "<html>Statistics Report</html>"}, "not an HAProxy stats CSV"),
    ({"body": requests.ConnectionError("refused")}, f"stats {STATS_URL} unreachable: ConnectionError"),
])
def test_haproxy_trouble_is_explained(responses_mock, settings, answer, detail):
    responses_mock.get(STATS_URL, **answer)
    result = checks.haproxy(session(), settings)
    assert result["status"] == "fail" and detail in result["detail"]


def test_run_all_never_raises_when_nothing_answers(responses_mock, settings):
    found, info = checks.run_all(session(), replace(settings, redis_host="127.0.0.1", redis_port=free_port()),
                                 "w1", ping=lambda: None)
    assert [c["name"] for c in found] == ["metadata database", "scheduler", "dag-processor", "triggerer",
                                          "celery workers", "redis", "webhook", "haproxy", "relay"]
    assert {c["status"] for c in found} == {"fail"}
    assert info == {}
