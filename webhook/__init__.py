"""Deploy webhook: a Flask app factory run by gunicorn as `webhook:create_app()`."""

from __future__ import annotations

import logging

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` overrides settings fields (tests) and Flask config keys."""
    from webhook import errors, health, logs, settings, status, trigger

    app = Flask(__name__)
    test_config = dict(test_config or {})
    flask_keys = {k: test_config.pop(k) for k in list(test_config) if k.isupper()}
    app.config.update(flask_keys)
    logs.init_app(app)
    settings.init_app(app, test_config)
    errors.init_app(app)
    health.init_app(app)
    status.init_app(app)
    trigger.init_app(app)
    logging.getLogger(__name__).info("event=app_ready environment=%s", settings.get(app).environment)
    return app
