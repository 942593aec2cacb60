"""Stand-ins for the stack around the weather DAG in tests: API health, webhook status, HAProxy stats,
plus a real redis-server and a real Celery worker on the Airflow app, each stopped at exit."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from devtools.background import BackgroundServer, FakeHandler, Request
from stacktest.net import free_port

STATS_CSV = Path(__file__).resolve().parents[1] / "fixtures" / "haproxy" / "stats_all_up.csv"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class _StackHandler(FakeHandler):
    def respond(self, request: Request) -> None:
        now = datetime.now(UTC).isoformat()
        if request.path == "/api/v2/monitor/health":
            health = {"metadatabase": {"status": "healthy"},
                      "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": now},
                      "triggerer": {"status": "healthy", "latest_triggerer_heartbeat": now},
                      "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": now}}
            return self._json(200, health)
        if request.path == "/;csv":
            return self._send(200, STATS_CSV.read_bytes(), "text/plain")
        if request.path == "/":
            return self._json(200, {"service": "webhook", "stack_version": "0.1.0-test", "branch": "production",
                                    "deploys_configured": True, "deployed_commit": COMMIT, "relay": None})
        self._text(404, "not found")


class FakeStack(BackgroundServer):
    """Airflow's health endpoint, the webhook's status JSON and HAProxy's stats CSV on one port."""

    def __init__(self) -> None:
        super().__init__(_StackHandler)

    def env(self) -> dict[str, str]:
        host, port = "127.0.0.1", str(self.port)
        return {"AIRFLOW_API_HOST": host, "AIRFLOW_API_PORT": port, "WEBHOOK_HOST": host,
                "WEBHOOK_PORT": port, "HAPROXY_STATS_URL": f"{self.url}/;csv"}


def _wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"nothing listening on port {port}")
        time.sleep(0.02)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[int]:
    """A real redis-server on a free loopback port, nothing saved to disk."""
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, 10)
        yield port
    finally:
        _stop(proc)


@contextlib.contextmanager
def celery_worker(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """A real Celery worker on Airflow's Celery app (so ping sees it); it runs no Airflow tasks here."""
    app = "airflow.providers.celery.executors.celery_executor_utils.app"
    command = [sys.executable, "-m", "celery", "--app", app, "worker", "--pool", "solo", "--concurrency", "1",
               "--without-gossip", "--without-mingle", "--loglevel", "INFO", "-n", "testworker@%h"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield proc
    finally:
        _stop(proc)
