"""Liveness probe: answers as long as the worker can serve a request."""

from flask import Blueprint, Flask, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Cheap liveness answer for HAProxy and the supervisor; touches no disk or network."""
    return jsonify(status="ok")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
