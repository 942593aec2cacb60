"""The real haproxy/haproxy.cfg run on free loopback ports with the environment the native runner gives it."""

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stacktest.net import free_ports
from tests.haproxy.backends import POSTGRES_AUTH_OK, REDIS_NOAUTH, Backend, TcpFake
from tests.haproxy.client import send

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "haproxy" / "haproxy.cfg"
USERNAME = "ops"
PASSWORD = "correct horse battery staple"
STATS_PASSWORD = "read-only stats password"
HOSTNAMES = {
    "AIRFLOW_HOSTNAME": "airflow.example.test",
    "WEBHOOK_HOSTNAME": "webhook.example.test",
    "FLOWER_HOSTNAME": "flower.example.test",
    "DIAGNOSTICS_HOSTNAME": "diagnostics.example.test",
}
PUBLIC_PORTS = ("airflow", "webhook", "flower", "diagnostics", "stats", "https")
# the `monitoring` profile's public port and HAProxy's internal metrics listener
MONITORING_PORTS = ("monitoring", "metrics")
MONITORING_BACKENDS = ("dashboard", "prometheus", "alertmanager")
WORKER_PORTS = ("worker_api", "worker_postgres", "worker_redis")
BACKENDS = ("airflow", "webhook", "flower", "diagnostics")


def haproxy_binary():
    """Path of the haproxy executable (the Debian package), or a clear failure."""
    path = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if path is None:
        pytest.fail("haproxy is not installed: apt-get install haproxy (Debian 12 ships 2.6)")
    return path


def native_env(ports, backends, extra=None):
    """The environment the native runner gives HAProxy: every variable explicit, all on 127.0.0.1."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "HAPROXY_BIND": "127.0.0.1",
        "PUBLIC_AIRFLOW_PORT": str(ports["airflow"]),
        "PUBLIC_WEBHOOK_PORT": str(ports["webhook"]),
        "PUBLIC_FLOWER_PORT": str(ports["flower"]),
        "PUBLIC_DIAGNOSTICS_PORT": str(ports["diagnostics"]),
        "PUBLIC_STATS_PORT": str(ports["stats"]),
        "PUBLIC_HTTPS_PORT": str(ports["https"]),
        "AIRFLOW_API_HOST": "127.0.0.1",
        "AIRFLOW_API_PORT": str(backends["airflow"]),
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(backends["webhook"]),
        "FLOWER_HOST": "127.0.0.1",
        "FLOWER_PORT": str(backends["flower"]),
        "DIAGNOSTICS_HOST": "127.0.0.1",
        "DIAGNOSTICS_PORT": str(backends["diagnostics"]),
        "FLOWER_USERNAME": USERNAME,
        "FLOWER_PASSWORD": PASSWORD,
        "HAPROXY_STATS_PASSWORD": STATS_PASSWORD,
        "PUBLIC_MONITORING_PORT": str(ports.get("monitoring", 18088)),
        "HAPROXY_METRICS_BIND": "127.0.0.1",
        "HAPROXY_METRICS_PORT": str(ports.get("metrics", 18405)),
        # the profile is off: nothing listens on port 9 (discard) here; tests that want them pass their own
        **{f"{name.upper()}_HOST": "127.0.0.1" for name in MONITORING_BACKENDS},
        **{f"{name.upper()}_PORT": "9" for name in MONITORING_BACKENDS},
    }
    env.update(extra or {})
    return env


@dataclass
class Stack:
    """A running HAProxy, its public ports, its backends and the environment it was given."""

    ports: dict
    backends: dict
    env: dict
    log: Path
    process: subprocess.Popen = field(repr=False)
    tls_context: object = field(default=None, repr=False)

    def request(self, port_name, path="/", **options):
        """Send one request to a public port exactly as written (tests/haproxy/client.py)."""
        return send(self.ports[port_name], path, **options)

    @property
    def auth(self):
        """The operator credentials this HAProxy was given."""
        return (self.env["FLOWER_USERNAME"], self.env["FLOWER_PASSWORD"])

    def server_states(self):
        """Backend server status from the stats page's CSV export, e.g. {'flower': 'UP'}."""
        reply = self.request("stats", "/;csv", auth=self.auth)
        states = {}
        for line in reply.text.splitlines():
            cells = line.split(",")
            if len(cells) > 17 and not line.startswith("#") and cells[1] not in ("FRONTEND", "BACKEND"):
                states[cells[0]] = cells[17]
        return states

    def wait_until(self, predicate, timeout=10.0, what="condition"):
        """Poll predicate() until it is true; fail with the HAProxy log if it never is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic()
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}; haproxy log:\n{self.log.read_text()[-3000:]}")

    def stop(self):
        stop_process(self.process)
        for backend in self.backends.values():
            backend.stop()


def start_stack(tmp_dir, extra_env=None, workers=False, wait_healthy=True):
    """Start the backends and HAProxy; return a Stack once every backend server is UP.

    workers=True also opens the remote-worker listeners for 127.0.0.7, in front of fake Redis and
    PostgreSQL servers.
    """
    backends = {name: Backend(name) for name in BACKENDS}
    backend_ports = {name: backend.port for name, backend in backends.items()}
    expected = {"airflow_api", "webhook", "flower", "diagnostics"}
    public_ports = PUBLIC_PORTS + MONITORING_PORTS + (WORKER_PORTS if workers else ())
    if workers:
        backends["postgres"] = TcpFake(POSTGRES_AUTH_OK)
        backends["redis"] = TcpFake(REDIS_NOAUTH)
        expected |= {"execution_api", "postgres", "redis"}
    for attempt in range(3):
        ports = dict(zip(public_ports, free_ports(len(public_ports)), strict=True))
        env = native_env(ports, backend_ports, extra_env)
        if workers:
            env.update({"WORKER_ALLOWED_SOURCES": "127.0.0.7 192.0.2.0/24",
                        "PUBLIC_WORKER_API_PORT": str(ports["worker_api"]),
                        "PUBLIC_WORKER_POSTGRES_PORT": str(ports["worker_postgres"]),
                        "PUBLIC_WORKER_REDIS_PORT": str(ports["worker_redis"]),
                        "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(backends["postgres"].port),
                        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(backends["redis"].port)})
        Path(tmp_dir).mkdir(parents=True, exist_ok=True)
        log = Path(tmp_dir) / f"haproxy-{attempt}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([haproxy_binary(), "-W", "-db", "-f", str(CONFIG)], cwd=REPO, env=env,
                                       stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        stack = Stack(ports, backends, env, log, process)
        if _wait_listening(stack):
            break
        stop_process(process)
    else:
        for backend in backends.values():
            backend.stop()
        pytest.fail(f"haproxy did not start; log:\n{log.read_text()[-3000:]}")
    if wait_healthy:
        # (the `monitoring` profile's servers stay DOWN unless a test gives them backends)
        stack.wait_until(lambda: {k: v for k, v in stack.server_states().items() if k not in MONITORING_BACKENDS}
                         == dict.fromkeys(expected, "UP"), what="every backend server to be UP")
    return stack


def _wait_listening(stack, timeout=10.0):
    """True once the stats port accepts connections, False if HAProxy exited (e.g. a port was taken)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", stack.ports["stats"]), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def stop_process(process):
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        except ProcessLookupError:
            pass
