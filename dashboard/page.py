"""GET /: every panel, rendered on the server from its source at request time (no script on the page)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, Response, current_app, render_template

from dashboard import sources
from dashboard.airflow import Airflow
from dashboard.panels import Dashboard
from dashboard.settings import Settings

bp = Blueprint("page", __name__)
REFRESH_SECONDS = 60
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


@bp.get("/")
def index() -> Response:
    config: Settings = current_app.config["DASHBOARD"]
    prometheus = sources.Prometheus(config.prometheus_url, config.timeout)
    airflow = Airflow(config.airflow_url, config.airflow_username, config.airflow_password, config.timeout)
    board = Dashboard(airflow, prometheus, lambda: sources.deploys(config.webhook_url, config.timeout), config.tz,
                      current_app.config["DASHBOARD_CLOCK"]())
    panels = board.panels()
    body = render_template("page.html", panels=panels, alerts=board.alerts(),
                           generated=datetime.fromtimestamp(board.now, config.tz).strftime("%Y-%m-%d %H:%M %Z"))
    return Response(body, mimetype="text/html", headers={"Refresh": str(REFRESH_SECONDS), **SECURITY_HEADERS})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
