"""GET /: every panel, rendered on the server from its sources (no script on the page). A drawn page is served
again for CACHE_SECONDS: the page reloads itself every minute in each open browser, and the sources (Airflow's
API above all) are asked once per CACHE_SECONDS, whatever the number of viewers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, Flask, Response, current_app, render_template

from dashboard import sources
from dashboard.airflow import Airflow
from dashboard.panels import Dashboard
from dashboard.settings import Settings

bp = Blueprint("page", __name__)
log = logging.getLogger("dashboard")
REFRESH_SECONDS = 60
CACHE_SECONDS = 30
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


class PageCache:
    """The last page drawn and when (the app's clock); shared by the server's threads."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.drawn_at: float | None = None
        self.body = ""

    def get(self, now: float, draw: Callable[[], str]) -> str:
        with self.lock:  # one drawing at a time: viewers arriving meanwhile get its page
            if self.drawn_at is None or not 0 <= now - self.drawn_at < self.seconds:
                self.body, self.drawn_at = draw(), now
            return self.body


def draw(now: float) -> str:
    config: Settings = current_app.config["DASHBOARD"]
    prometheus = sources.Prometheus(config.prometheus_url, config.timeout)
    airflow = Airflow(config.airflow_url, config.airflow_username, config.airflow_password, config.timeout)
    board = Dashboard(airflow, prometheus, lambda: sources.deploys(config.webhook_url, config.timeout), config.tz,
                      now, worker_concurrency=config.worker_concurrency)
    panels = board.panels()
    log.info("page drawn with %d Airflow API calls", airflow.calls)
    return render_template("page.html", panels=panels, alerts=board.alerts(),
                           generated=datetime.fromtimestamp(board.now, config.tz).strftime("%Y-%m-%d %H:%M %Z"))


@bp.get("/")
def index() -> Response:
    now = current_app.config["DASHBOARD_CLOCK"]()
    body = current_app.extensions["dashboard_page"].get(now, lambda: draw(now))
    return Response(body, mimetype="text/html", headers={"Refresh": str(REFRESH_SECONDS), **SECURITY_HEADERS})


def init_app(app: Flask) -> None:
    app.extensions["dashboard_page"] = PageCache(CACHE_SECONDS)
    app.register_blueprint(bp)
