"""The canary's checks, on the weather-checker's settings and checks (one definition of where NWS and the
stack's services are): one cheap call to the outside source, and the stack's own health."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from weather_checker import checks, nws
from weather_checker.results import FAIL, StepFailed
from weather_checker.session import make_session
from weather_checker.settings import WeatherSettings


class CanaryFailed(RuntimeError):
    """A check failed; the message names each failed part and why."""


def source(settings: WeatherSettings) -> str:
    """One NWS point lookup (the fixture server in development): the cheapest answer that proves the way out."""
    session = make_session(settings.user_agent, retries=0)
    url = settings.nws_base_url + nws.point_path(settings.latitude, settings.longitude)
    started = time.monotonic()
    try:
        document, _ = nws.get_json(session, url, "point", settings.timeout)
    except StepFailed as error:
        raise CanaryFailed(str(error)) from None
    grid = document["properties"].get("gridId", "?")
    return f"NWS point {url} answered in {time.monotonic() - started:.2f} s (grid {grid})"


def stack(settings: WeatherSettings) -> list[dict]:
    """Metadata database and scheduler/dag-processor/triggerer heartbeats (the api-server's health), Redis and
    the deploy webhook's status; raise CanaryFailed naming every failed one."""
    session = make_session(settings.user_agent, retries=0)
    hook_checks, _ = checks.webhook_status(session, settings)
    found = [*checks.airflow_health(session, settings, datetime.now(UTC)), checks.redis_ping(settings),
             hook_checks[0]]
    failed = [f"{c['name']}: {c['detail']}" for c in found if c["status"] == FAIL]
    if failed:
        raise CanaryFailed("; ".join(failed))
    return found
