"""Deploy webhook: a Flask app factory run by gunicorn as `webhook:create_app()`."""

from __future__ import annotations

import atexit
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package stays importable without Flask: scripts/trigger_deploy.py uses webhook.signing
    from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app; `test_config` overrides settings fields (lowercase) and Flask config (UPPERCASE)."""
    from flask import Flask

    from stackweb import health
    from webhook import auth, errors, logs, metrics, rollback, settings, status, trigger
    from webhook.deploy.state import Database

    app = Flask(__name__)
    test_config = dict(test_config or {})
    app.config.update({k: test_config.pop(k) for k in list(test_config) if k.isupper()})
    logs.init_app(app)
    cfg = settings.init_app(app, test_config)
    app.extensions["state"] = Database(cfg.deploy_dir)
    errors.init_app(app)
    auth.init_app(app)
    health.init_app(app)
    status.init_app(app)
    metrics.init_app(app)
    trigger.init_app(app)
    rollback.init_app(app)
    if cfg.start_runner and cfg.deploys_configured:
        app.extensions["keys"].warm_up()
        from webhook.deploy.runner import Runner

        runner = Runner(cfg)
        runner.start()
        app.extensions["runner"] = runner
        atexit.register(runner.stop)
    logging.getLogger(__name__).info(
        "event=app_ready environment=%s deploys_configured=%s branch=%s runner=%s",
        cfg.environment, cfg.deploys_configured, cfg.branch, "runner" in app.extensions)
    return app
