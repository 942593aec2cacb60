"""Stack checks: every component answers, each as a pass/warn/fail with a detail; none may crash the page."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime

import requests

from weather_checker import haproxy_stats
from weather_checker.results import FAIL, PASS, WARN, check, describe, from_error
from weather_checker.settings import WeatherSettings

HEALTH_PARTS = (
    ("metadata database", "metadatabase", None),
    ("scheduler", "scheduler", "latest_scheduler_heartbeat"),
    ("dag-processor", "dag_processor", "latest_dag_processor_heartbeat"),
    ("triggerer", "triggerer", "latest_triggerer_heartbeat"),
)


def _age(iso: str | None, now: datetime) -> str:
    if not iso:
        return "no heartbeat recorded"
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return f"heartbeat {iso!r}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return f"last heartbeat {max(0, round((now - when).total_seconds()))} s ago"


def airflow_health(session: requests.Session, settings: WeatherSettings, now: datetime) -> list[dict]:
    """Metadata DB and scheduler/dag-processor/triggerer heartbeats, from the API server's health endpoint."""
    url = f"{settings.airflow_api_url}/api/v2/monitor/health"
    try:
        response = session.get(url, timeout=settings.check_timeout)
        response.raise_for_status()
        health = response.json()
    except (requests.RequestException, ValueError) as error:
        reason = f"Airflow health endpoint {url} unavailable: {describe(error)}"
        return [check(name, FAIL, reason) for name, _, _ in HEALTH_PARTS]
    checks = []
    for name, key, beat in HEALTH_PARTS:
        part = health.get(key) if isinstance(health, dict) else None
        if not isinstance(part, dict):
            checks.append(check(name, FAIL, f"not reported by {url}"))
            continue
        status = part.get("status")
        detail = str(status or "never ran") + (f", {_age(part.get(beat), now)}" if beat else "")
        checks.append(check(name, PASS if status == "healthy" else FAIL, detail))
    return checks


def celery_ping(settings: WeatherSettings) -> dict | None:
    """Ask every Celery worker for a pong through the broker Airflow is configured with."""
    from airflow.providers.celery.executors.celery_executor_utils import app

    with app.connection_for_write() as connection:
        # Without this a dead broker makes kombu retry for minutes.
        connection.ensure_connection(max_retries=1, timeout=settings.check_timeout)
        # A broadcast ping always waits the whole timeout (it cannot know how many workers exist); workers on
        # a healthy broker answer within milliseconds, so one second is plenty.
        wait = min(1.0, settings.check_timeout)
        return app.control.inspect(timeout=wait, connection=connection).ping()


def celery_workers(ping: Callable[[], dict | None], hostname: str) -> dict:
    """Which workers answered, and whether the host running this check is one of them."""
    try:
        replies = ping() or {}
    except Exception as error:  # any broker failure is a failed check, not a crash
        return from_error("celery workers", error)
    if not replies:
        return check("celery workers", FAIL, "no Celery worker answered the ping")
    names = sorted(replies)
    ours = [n for n in names if n.split("@", 1)[-1] in (hostname, hostname.split(".")[0])]
    where = (f"this task ran on {ours[0]}" if ours
             else f"this task ran on {hostname}, not one of them (outside Celery, e.g. `airflow dags test`)")
    return check("celery workers", PASS, f"{len(names)} alive: {', '.join(names)}; {where}",
                 workers=names, ran_on=hostname)


def redis_ping(settings: WeatherSettings) -> dict:
    """A raw RESP PING, so the check needs nothing but a socket."""
    started = time.monotonic()
    try:
        with socket.create_connection((settings.redis_host, settings.redis_port),
                                      timeout=settings.check_timeout) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(128)
    except OSError as error:
        return check("redis", FAIL, f"{settings.redis_host}:{settings.redis_port} unreachable: {error}")
    took = (time.monotonic() - started) * 1000
    if answer.startswith(b"+PONG"):
        return check("redis", PASS, f"PONG from {settings.redis_host}:{settings.redis_port} in {took:.1f} ms")
    if answer.startswith(b"-NOAUTH"):
        # alive, and refusing a client without the password (tasks are not given it): what we want
        return check("redis", PASS, f"{settings.redis_host}:{settings.redis_port} answered in {took:.1f} ms and "
                                    "asks for a password")
    shown = answer.decode("utf-8", "replace").strip()[:80]
    return check("redis", FAIL, f"{settings.redis_host}:{settings.redis_port} answered {shown!r}, not PONG")


def webhook_status(session: requests.Session, settings: WeatherSettings) -> tuple[list[dict], dict]:
    """The webhook's status JSON: is it up, what is deployed, and when the relay last delivered."""
    try:
        response = session.get(settings.webhook_url, timeout=settings.check_timeout,
                               headers={"Accept": "application/json"})
        response.raise_for_status()
        status = response.json()
        if not isinstance(status, dict):
            raise ValueError("status is not a JSON object")
    except (requests.RequestException, ValueError) as error:
        reason = f"webhook status {settings.webhook_url} unavailable: {describe(error)}"
        return [check("webhook", FAIL, reason), check("relay", FAIL, reason)], {}
    commit = status.get("deployed_commit")
    branch = status.get("branch") or "?"
    deployed = f"deployed commit {commit[:12]} of {branch}" if commit else f"nothing deployed from {branch}"
    configured = "" if status.get("deploys_configured", True) else " (deploys not configured)"
    checks = [check("webhook", PASS, f"up, {deployed}{configured}")]
    relay = status.get("relay")
    if not isinstance(relay, dict):
        checks.append(check("relay", WARN, "no event relayed yet"))
    else:
        age = relay.get("age_seconds")
        ago = f"{int(age // 60)} min ago" if isinstance(age, int | float) else "at an unknown time"
        how = "through smee" if relay.get("via_relay") else "directly, not through smee"
        checks.append(check("relay", PASS, f"last event {ago}, {how}, outcome {relay.get('outcome', '?')}"))
    info = {"commit": commit or "", "stack_version": str(status.get("stack_version") or "")}
    return checks, info


def haproxy(session: requests.Session, settings: WeatherSettings) -> dict:
    """Backends as HAProxy sees them, from its stats CSV (the read-only `stats` login)."""
    auth = (settings.stats_username, settings.stats_password) if settings.stats_username else None
    try:
        response = session.get(settings.haproxy_stats_url, timeout=settings.check_timeout, auth=auth)
    except requests.RequestException as error:
        reason = f"stats {settings.haproxy_stats_url} unreachable: {describe(error)}"
        return check("haproxy", FAIL, reason)
    if response.status_code == 401:
        return check("haproxy", FAIL, "stats page refused the read-only stats login, HAPROXY_STATS_PASSWORD (401)")
    if response.status_code != 200:
        return check("haproxy", FAIL, f"stats {settings.haproxy_stats_url} answered {response.status_code}")
    try:
        return haproxy_stats.judge(haproxy_stats.parse(response.text), settings.profiles)
    except ValueError as error:
        return check("haproxy", FAIL, str(error))


def run_all(session: requests.Session, settings: WeatherSettings, hostname: str,
            ping: Callable[[], dict | None] | None = None) -> tuple[list[dict], dict]:
    """Every stack check in page order, plus what the webhook says is deployed."""
    now = datetime.now(UTC)
    hook_checks, info = webhook_status(session, settings)
    checks = [
        *airflow_health(session, settings, now),
        celery_workers(ping or (lambda: celery_ping(settings)), hostname),
        redis_ping(settings),
        hook_checks[0],
        haproxy(session, settings),
        hook_checks[1],
    ]
    return checks, info
