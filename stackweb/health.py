"""Liveness probe for HAProxy, compose and `up`: answers as long as a worker can serve a request; touches no
disk, network or source."""

from flask import Blueprint, Flask, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
