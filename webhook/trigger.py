"""POST /webhook: authenticate, queue a deploy of a commit on the configured branch, answer 202."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app

from webhook import settings

bp = Blueprint("trigger", __name__)


@bp.post("/webhook")
def webhook():
    cfg = settings.get(current_app)
    if not cfg.deploys_configured:
        abort(503, "deploys not configured")
    abort(503, "deploys not configured")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
