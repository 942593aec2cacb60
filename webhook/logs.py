"""One log line per event with key=value fields; every request gets an id echoed in X-Request-Id."""

from __future__ import annotations

import logging
import re
import secrets
import sys

from flask import Flask, g, request

_RID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def setup_logging() -> None:
    """Log to stderr once per process (gunicorn collects it)."""
    root = logging.getLogger("webhook")
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False


def init_app(app: Flask) -> None:
    setup_logging()

    @app.before_request
    def assign_request_id():
        # Reuse HAProxy's id when it is well formed, so one id follows the request through every log.
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _RID_RE.match(incoming) else secrets.token_hex(8)

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response
