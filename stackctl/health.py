"""Health of each service, checked the way an operator would, and waiting until all are healthy."""

from __future__ import annotations

import base64
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from stackctl import postgres
from stackctl.settings import Settings

# (healthy, detail); healthy is None when the service could not be checked, and the detail says why.
Check = Callable[[Settings], tuple[bool | None, str]]


def http_get(url: str, auth: tuple[str, str] | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (OSError, urllib.error.URLError) as error:
        return 0, str(error).encode()


def _http_ok(url: str, auth: tuple[str, str] | None = None) -> tuple[bool, str]:
    status, body = http_get(url, auth)
    return status == 200, f"HTTP {status}" if status else body.decode(errors="replace")[:80]


def _local(settings: Settings, port: str) -> str:
    return f"http://{settings['BIND_HOST']}:{settings[port]}"


def api_health(settings: Settings) -> dict:
    status, body = http_get(_local(settings, "AIRFLOW_API_PORT") + "/api/v2/monitor/health")
    if status != 200:
        return {}
    return json.loads(body)


def _component(key: str) -> Check:
    def check(settings: Settings) -> tuple[bool, str]:
        report = api_health(settings).get(key) or {}
        status = report.get("status") or "unknown"
        return status == "healthy", f"{status} (latest heartbeat {report.get(f'latest_{key}_heartbeat', '-')})"
    return check


def redis_ping(settings: Settings) -> tuple[bool, str]:
    password = settings["REDIS_PASSWORD"].encode()
    command = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(password), password)
    try:
        with socket.create_connection((settings["REDIS_HOST"], int(settings["REDIS_PORT"])), timeout=1) as sock:
            sock.sendall(command)
            reply = b""
            while reply.count(b"\r\n") < 2 and len(reply) < 256:
                chunk = sock.recv(64)
                if not chunk:
                    break
                reply += chunk
    except OSError as error:
        return False, str(error)
    return reply == b"+OK\r\n+PONG\r\n", reply.decode(errors="replace").strip()


def worker_ping(settings: Settings) -> tuple[bool, str]:
    """Ask the workers through the broker, as `celery inspect ping` does."""
    from celery import Celery

    from stackctl.services import broker_url

    app = Celery(broker=broker_url(settings))
    try:
        replies = app.control.ping(timeout=1.0)
    except Exception as error:  # the broker may still be starting
        return False, str(error)[:80]
    finally:
        app.close()
    names = sorted(name for reply in replies for name in reply)
    return bool(names), ", ".join(names) or "no worker answered"


def _public(port: str, path: str) -> Check:
    def check(settings: Settings) -> tuple[bool, str]:
        return _http_ok(settings.public_url(port) + path)
    return check


def flower_health(settings: Settings) -> tuple[bool | None, str]:
    """Flower always asks for its password: without it, say so instead of failing."""
    password = settings.get("FLOWER_PASSWORD")
    if not password:
        return None, (f"not checked: FLOWER_PASSWORD is not set (environment, .env or {settings.secrets_file}), "
                      "and Flower always asks for it")
    return _http_ok(_local(settings, "FLOWER_PORT") + "/healthcheck", (settings["FLOWER_USERNAME"], password))


CHECKS: dict[str, Check] = {
    "postgres": lambda s: (True, "accepting connections") if postgres.is_ready(s) else (False, "not ready"),
    "redis": redis_ping,
    "airflow-apiserver": lambda s: _http_ok(_local(s, "AIRFLOW_API_PORT") + "/api/v2/monitor/health"),
    "airflow-scheduler": lambda s: _http_ok(_local(s, "SCHEDULER_HEALTH_PORT") + "/health"),
    "airflow-dag-processor": _component("dag_processor"),
    "airflow-triggerer": _component("triggerer"),
    "airflow-worker": worker_ping,
    "flower": flower_health,
    "webhook": lambda s: _http_ok(_local(s, "WEBHOOK_PORT") + "/healthz"),
    "diagnostics": lambda s: _http_ok(_local(s, "DIAGNOSTICS_PORT") + "/"),
    "haproxy": _public("PUBLIC_AIRFLOW_PORT", "/api/v2/monitor/health"),
    # development stand-ins for 1Password Connect and Slack
    "fake-onepassword": lambda s: _http_ok(f"http://127.0.0.1:{s['FAKE_ONEPASSWORD_PORT']}/heartbeat"),
    "fake-slack": lambda s: _http_ok(f"http://127.0.0.1:{s['FAKE_SLACK_PORT']}/messages"),
    "fixture-server": lambda s: _http_ok(f"http://127.0.0.1:{s['FIXTURE_SERVER_PORT']}/_fixture/requests"),
}


def check_all(settings: Settings, names: list[str]) -> dict[str, tuple[bool | None, str]]:
    return {name: CHECKS[name](settings) for name in names if name in CHECKS}


def wait_healthy(settings: Settings, names: list[str], timeout: float, on_change=None
                 ) -> dict[str, tuple[bool | None, str]]:
    """Poll until every named service is healthy or cannot be checked; return the last results (some unhealthy
    if timed out)."""
    deadline = time.monotonic() + timeout
    pending = [n for n in names if n in CHECKS]
    results: dict[str, tuple[bool | None, str]] = {}
    while True:
        for name in list(pending):
            results[name] = CHECKS[name](settings)
            if results[name][0] is not False:
                pending.remove(name)
                if on_change:
                    on_change(name)
        if not pending or time.monotonic() > deadline:
            return results
        time.sleep(0.25)
