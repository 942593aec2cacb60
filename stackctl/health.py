"""Health of each service, checked the way an operator would, and waiting until all are healthy."""

from __future__ import annotations

import base64
import json
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from stackctl import postgres, services
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


def worker_ping(broker_url: str) -> tuple[bool, str]:
    """Ask the workers through the broker, as `celery inspect ping` does."""
    from celery import Celery

    app = Celery(broker=broker_url)
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


def _job_component(job_type: str) -> str:
    """`--job-type DagProcessorJob` -> the api-server health report's `dag_processor`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", job_type.removesuffix("Job")).lower()


def check_for(program: services.Program) -> Check | None:
    """Compose's healthcheck for a service, asked from here: its URL fetched, or the same question put another way
    where compose runs a tool inside the container."""
    test = program.healthcheck[1:]
    words = " ".join(test).split()
    if not words:
        return None
    if words[0] == "curl":
        return lambda s: _http_ok(words[-1])
    if words[0] == "pg_isready":
        return lambda s: (True, "accepting connections") if postgres.is_ready(s) else (False, "not ready")
    if words[0] == "redis-cli":
        return redis_ping
    if words[:3] == ["airflow", "jobs", "check"]:
        return _component(_job_component(words[words.index("--job-type") + 1]))
    if words[0] == "celery":
        return lambda s: worker_ping(program.env["AIRFLOW__CELERY__BROKER_URL"])
    if words[0] == "haproxy":  # compose checks its configuration; here: that it answers and routes
        return _public("PUBLIC_AIRFLOW_PORT", "/api/v2/monitor/health")
    return None  # the relay's: an open connection to smee.io, seen from inside its container


def checks(settings: Settings) -> dict[str, Check]:
    stack = services.load(settings, lenient=True)
    found = {name: check_for(program) for name, program in stack.programs.items()}
    return {name: check for name, check in found.items() if check}


def check_all(settings: Settings, names: list[str]) -> dict[str, tuple[bool | None, str]]:
    known = checks(settings)
    return {name: known[name](settings) for name in names if name in known}


def wait_healthy(settings: Settings, names: list[str], timeout: float, on_change=None
                 ) -> dict[str, tuple[bool | None, str]]:
    """Poll until every named service is healthy or cannot be checked; return the last results (some unhealthy
    if timed out)."""
    deadline = time.monotonic() + timeout
    known = checks(settings)
    pending = [n for n in names if n in known]
    results: dict[str, tuple[bool | None, str]] = {}
    while True:
        for name in list(pending):
            results[name] = known[name](settings)
            if results[name][0] is not False:
                pending.remove(name)
                if on_change:
                    on_change(name)
        if not pending or time.monotonic() > deadline:
            return results
        time.sleep(0.25)
