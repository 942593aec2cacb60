"""`python -m dashboard` as the stack runs it: settings checked first, then the app under waitress."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from stacksettings import PROJECT_DIR
from stacktest.net import free_port
from tests.dashboard import fake_airflow


def test_python_m_dashboard_serves_and_stops_on_sigterm(tmp_path, prometheus, webhook, airflow):
    port = free_port()
    env = {**os.environ, "DASHBOARD_PORT": str(port), "BIND_HOST": "127.0.0.1", "PROMETHEUS_URL": prometheus.url,
           "WEBHOOK_URL": webhook.url, "AIRFLOW_API_URL": airflow.url, "TEAM_TIMEZONE": "UTC",
           "DASHBOARD_AIRFLOW_USERNAME": fake_airflow.USERNAME, "DASHBOARD_AIRFLOW_PASSWORD": fake_airflow.PASSWORD,
           "WORKER_CONCURRENCY": "4", "PYTHONPATH": str(PROJECT_DIR)}
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file, subprocess.Popen([sys.executable, "-m", "dashboard"], env=env,
                                                           cwd=tmp_path, stdout=log_file,
                                                           stderr=subprocess.STDOUT) as proc:
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except requests.ConnectionError:
                    assert proc.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "no answer in 30 s"
                    time.sleep(0.1)
            assert health.json() == {"status": "ok"}
            page = requests.get(f"http://127.0.0.1:{port}/", timeout=30)
            assert page.status_code == 200 and "DAG runs per day by state" in page.text
            assert 'class="error"' not in page.text
            assert requests.get(f"http://127.0.0.1:{port}/static/dashboard.css", timeout=5).status_code == 200
            # the server passes X-Forwarded-For on: a request through HAProxy cannot post alerts to Slack
            hook = f"http://127.0.0.1:{port}/hooks/alertmanager"
            assert requests.post(hook, json={}, headers={"X-Forwarded-For": "10.0.0.1"}, timeout=5).status_code == 404
            assert requests.post(hook, json={}, timeout=5).status_code == 400
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    log = log_path.read_text()
    assert f"serving on http://127.0.0.1:{port}" in log and "stopped" in log, log


def test_a_bad_setting_exits_with_a_sentence(tmp_path):
    env = {**os.environ, "PROMETHEUS_URL": "prometheus:9090", "WEBHOOK_URL": "http://webhook:8000",
           "AIRFLOW_API_URL": "http://airflow-apiserver:8080", "DASHBOARD_AIRFLOW_USERNAME": "dashboard",
           "DASHBOARD_AIRFLOW_PASSWORD": "x", "TEAM_TIMEZONE": "UTC", "PYTHONPATH": str(PROJECT_DIR)}
    result = subprocess.run([sys.executable, "-m", "dashboard"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "dashboard: PROMETHEUS_URL must be an http:// or https:// URL, got 'prometheus:9090'" in result.stderr
