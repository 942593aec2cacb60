"""Every error answers with a short generic body: JSON {"error": ...} and the request id, never internals."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


def handle_http(exc: HTTPException):
    body = {"error": exc.description or exc.name, "status": exc.code, "request_id": g.get("request_id")}
    response = jsonify(body)
    response.status_code = exc.code or 500
    for name, value in (exc.get_headers() or []):
        if name.lower() == "allow":
            response.headers[name] = value
    return response


def handle_unexpected(exc: Exception):
    log.exception("event=unhandled_error rid=%s", g.get("request_id"))
    return handle_http(InternalServerError("internal error"))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
