"""Health of each service, checked the way an operator would, and waiting until all are healthy."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from stackctl import job_alive, postgres, services, worker_alive
from stackctl.settings import Settings

# (healthy, detail); healthy is None when the service could not be checked, and the detail says why.
Check = Callable[[Settings], tuple[bool | None, str]]


def http_get(url: str, auth: tuple[str, str] | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    return http_request(url, auth=auth, timeout=timeout)


def http_request(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
                 auth: tuple[str, str] | None = None, timeout: float = 2.0) -> tuple[int, bytes]:
    """(status, body) of a GET, or a POST when there is `data`; status 0 (and the error as body) when it failed."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
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
    return reply == b"+OK\r\n+PONG\r\n", " ".join(reply.decode(errors="replace").split())  # one line in `status`


def _job_alive(job_type: str, database_url: str, since: float | None) -> Check:
    """The job's heartbeat in the database (stackctl/job_alive.py, what compose runs), so it needs no api-server."""
    return lambda settings: job_alive.check(database_url, job_type, since=since)


def check_for(program: services.Program, since: float | None = None) -> Check | None:
    """Compose's healthcheck for a service, asked from here: its URL fetched, or the same question put another way
    where compose runs a tool inside the container. `since`: an Airflow job counts only when started after it."""
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
    if words[:3] == ["python", "-m", "stackctl.job_alive"]:
        return _job_alive(words[3], program.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], since)
    if words[:3] == ["python", "-m", "stackctl.worker_alive"]:  # any worker: natively they run beside `up`
        return lambda s: worker_alive.ping(program.env[worker_alive.BROKER])
    if words[0] == "haproxy":  # compose checks its configuration; here: that it answers (`up` then asks each port)
        login = (program.env["FLOWER_USERNAME"], program.env["FLOWER_PASSWORD"])
        return lambda s: _http_ok(s.public_url("PUBLIC_STATS_PORT") + "/", login)
    return None  # the relay's: an open connection to smee.io, seen from inside its container


def checks(settings: Settings, since: float | None = None) -> dict[str, Check]:
    stack = services.load(settings, lenient=True)
    found = {name: check_for(program, since) for name, program in stack.programs.items()}
    return {name: check for name, check in found.items() if check}


def check_all(settings: Settings, names: list[str]) -> dict[str, tuple[bool | None, str]]:
    known = checks(settings)
    return {name: known[name](settings) for name in names if name in known}


# The longest pause between two checks of a program that is starting: it may be healthy that much before `up`
# sees it (was 1 s; each check is one HTTP request or one database query, a Celery ping costs its 1 s timeout).
POLL_CAP = 0.4


def wait_healthy(settings: Settings, names: list[str], timeout: float, on_change=None, gave_up=None,
                 since: float | None = None) -> dict[str, tuple[bool | None, str]]:
    """Poll every named service at once, each in its own thread (a slow check does not hold up the others),
    often at first and less so later, until it is healthy or cannot be checked; return the last results
    (some unhealthy if timed out). `on_change(name)`: called as each becomes healthy. `gave_up(name)`: a reason
    to stop waiting for it (supervisord says it failed to start), or None. `since`: an Airflow job counts only
    when it started after that epoch time (the programs this `up` started)."""
    deadline = time.monotonic() + timeout
    known = checks(settings, since)
    results: dict[str, tuple[bool | None, str]] = {}

    def poll(name: str) -> None:
        pause = 0.1
        while True:
            try:
                results[name] = known[name](settings)
            except Exception as error:  # a check that breaks says so, and is asked again
                results[name] = (False, f"{type(error).__name__}: {error}")
            if results[name][0] is not False:
                if on_change:
                    on_change(name)
                return
            reason = gave_up(name) if gave_up else None
            if reason or time.monotonic() > deadline:
                results[name] = (False, reason or results[name][1])
                return
            time.sleep(pause)
            pause = min(pause * 1.5, POLL_CAP)

    threads = [threading.Thread(target=poll, args=(name,), daemon=True) for name in names if name in known]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# Each public port, asked as a user would: (its port setting, what it is, the check). A check gets the URL and
# the logins ({"operator": Flower's and the stats page's, "admin": Airflow's first admin}) and returns None when
# the port answered as it should, else what it answered.
PAGE_SECONDS = 30.0  # a page a user waits for on a loaded machine (the dashboard draws its panels first)


def _page(path: str, login: bool = False):
    def check(url: str, logins: dict[str, tuple[str, str]]) -> str | None:
        status, body = http_request(url + path, auth=logins["operator"] if login else None, timeout=PAGE_SECONDS)
        return None if status == 200 else _said(status, body)
    return check


def _said(status: int, body: bytes) -> str:
    return f"HTTP {status}" if status else body.decode(errors="replace")[:120]


def _airflow_login(url: str, logins: dict[str, tuple[str, str]]) -> str | None:
    """A page, then a token for the admin (one POST: HAProxy limits logins per address) and an API call."""
    status, body = http_get(url + "/api/v2/monitor/health", timeout=PAGE_SECONDS)
    if status != 200:
        return _said(status, body)
    credentials = {"username": logins["admin"][0], "password": logins["admin"][1]}
    status, body = http_request(url + "/auth/token", data=json.dumps(credentials).encode(),
                                headers={"Content-Type": "application/json"}, timeout=PAGE_SECONDS)
    if status not in (200, 201):
        return f"login: {_said(status, body)}"
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        return f"login: HTTP {status} without a token"
    status, body = http_request(url + "/api/v2/dags?limit=1", headers={"Authorization": f"Bearer {token}"},
                                timeout=PAGE_SECONDS)
    return None if status == 200 else f"with a token: {_said(status, body)}"


PUBLIC_CHECKS = [
    ("PUBLIC_AIRFLOW_PORT", "Airflow UI and API", _airflow_login),
    ("PUBLIC_WEBHOOK_PORT", "deploy webhook", _page("/")),
    ("PUBLIC_FLOWER_PORT", "Flower", _page("/", login=True)),
    ("PUBLIC_DIAGNOSTICS_PORT", "diagnostic page", _page("/")),
    ("PUBLIC_STATS_PORT", "HAProxy stats", _page("/", login=True)),
    ("PUBLIC_MONITORING_PORT", "monitoring", _page("/", login=True)),
]


def public_ports(settings: Settings, running: set[str]) -> list[tuple[str, str, Callable]]:
    """The public checks that apply: the monitoring port only when its profile's dashboard runs."""
    return [(port, what, check) for port, what, check in PUBLIC_CHECKS
            if port in settings.ports and (port != "PUBLIC_MONITORING_PORT" or "dashboard" in running)]


def check_public(settings: Settings, logins: dict[str, tuple[str, str]], running: set[str], timeout: float,
                 on_change=None) -> list[str]:
    """Every public port through HAProxy, as a user would check it (a login and a page each), retried until
    `timeout`; return one sentence per port that did not answer so (none: all did)."""
    failures: dict[str, str] = {}

    def poll(port: str, what: str, check) -> None:
        deadline = time.monotonic() + timeout
        pause = 0.1
        while True:
            try:
                problem = check(settings.public_url(port), logins)
            except Exception as error:  # an answer we cannot read is an answer that is wrong
                problem = f"{type(error).__name__}: {error}"
            if problem is None:
                if on_change:
                    on_change(f"{what} through HAProxy")
                return
            if time.monotonic() > deadline:
                failures[port] = (f"port {settings.ports[port]} ({port}, {what}) did not answer through HAProxy as it "
                                  f"should: {problem}")
                return
            time.sleep(pause)
            pause = min(pause * 1.5, 1.0)

    threads = [threading.Thread(target=poll, args=entry, daemon=True) for entry in public_ports(settings, running)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [failures[port] for port, _, _ in PUBLIC_CHECKS if port in failures]
