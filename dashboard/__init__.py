"""The monitoring dashboard: a Flask app under waitress (`python -m dashboard`), panels drawn on the server from
Prometheus and the deploy webhook. It also serves POST /hooks/alertmanager when dashboard/alerts.py exists."""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable

from flask import Flask

from dashboard.settings import Settings

log = logging.getLogger("dashboard")


def create_app(config: Settings | None = None, clock: Callable[[], float] = time.time) -> Flask:
    """The app; `clock` says what time it is (tests draw the page at the moment their fixture data ends)."""
    from dashboard import page
    from stackweb import health

    config = config or Settings.from_env()
    app = Flask(__name__)
    app.config["DASHBOARD"] = config
    app.config["DASHBOARD_CLOCK"] = clock
    health.init_app(app)
    page.init_app(app)
    receiver = importlib.util.find_spec("dashboard.alerts") is not None  # Alertmanager's webhook receiver
    if receiver:
        from dashboard import alerts

        app.register_blueprint(alerts.blueprint)
    log.info("app ready prometheus=%s webhook=%s alertmanager_receiver=%s", config.prometheus_url,
             config.webhook_url, receiver)
    return app
