"""The native stack, started from nothing, used only through HAProxy as a user would."""

from __future__ import annotations

import pytest
import requests

from stacktest.api import check_login_is_required

pytestmark = pytest.mark.integration


def test_up_reports_every_service_healthy_and_prints_the_urls(native_stack):
    assert "services healthy" in native_stack.up_output
    assert native_stack.url("airflow") in native_stack.up_output
    status = native_stack.run("status")
    assert status.returncode == 0, status.stdout
    for service in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker", "flower", "webhook", "diagnostics", "haproxy", "postgres", "redis"):
        assert f"{service}" in status.stdout


def test_login_is_required_and_a_token_works(native_stack):
    check_login_is_required(native_stack)


def test_a_dag_runs_on_the_celery_worker(native_stack):
    run_id = native_stack.trigger_dag("stack-smoke")
    assert native_stack.wait_run("stack-smoke", run_id) == "success"
    [instance] = native_stack.task_instances("stack-smoke", run_id)
    assert instance["state"] == "success"
    assert instance["hostname"], "the task instance should record the worker that ran it"
    flower = requests.get(native_stack.url("flower") + "/api/workers?refresh=1", auth=native_stack.flower_auth,
                          timeout=30)
    assert flower.status_code == 200
    assert any(name.startswith("celery@") for name in flower.json()), flower.text


@pytest.mark.parametrize("headers", [{}, {"Host": "flower.example.org"}, {"Host": "localhost"}])
def test_flower_always_asks_for_credentials(native_stack, headers):
    response = requests.get(native_stack.url("flower") + "/", headers=headers, timeout=10)
    assert response.status_code == 401
    forged = requests.get(native_stack.url("flower") + "/api/workers", headers=headers,
                          auth=(native_stack.flower_auth[0], "not-the-password"), timeout=10)
    assert forged.status_code == 401


def test_the_execution_api_is_not_reachable_from_outside(native_stack):
    response = requests.get(native_stack.url("airflow") + "/execution/health", timeout=10)
    assert response.status_code == 403


def test_the_diagnostics_page_is_served(native_stack):
    response = requests.get(native_stack.url("diagnostics") + "/", timeout=10)
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]


def test_webhook_health_is_served_through_haproxy(native_stack):
    response = requests.get(native_stack.url("webhook") + "/healthz", timeout=10)
    assert response.status_code == 200


def test_up_twice_changes_nothing(native_stack):
    before = native_stack.run("status").stdout
    again = native_stack.run("up", timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already done" in again.stdout
    assert "generated" not in again.stdout
    after = native_stack.run("status").stdout
    assert [line.split()[:2] for line in before.splitlines()] == [line.split()[:2] for line in after.splitlines()]


def test_the_native_dags_test_runs_the_diagnostic_end_to_end_offline(native_stack):
    # the native twin of `docker compose run --rm airflow-cli dags test weather-checker`
    result = native_stack.run("airflow", "dags", "test", "weather-checker", timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "state=success" in result.stdout + result.stderr


def test_redis_refuses_a_local_user_without_the_password(native_stack):
    # the finding: as `nobody`, `redis-cli monitor` captured live task tokens
    import socket

    port = int(native_stack.settings["REDIS_PORT"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"MONITOR\r\n")
        assert sock.recv(128).startswith(b"-NOAUTH")


def test_state_and_logs_are_closed_to_other_users(native_stack):
    import stat

    state = native_stack.state_dir
    assert stat.S_IMODE((state / "redis").stat().st_mode) == 0o700
    for path in [*state.glob("redis/*"), *(state / "logs").glob("*.log"), state / "secrets.env"]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, f"{path} is readable by other users"
