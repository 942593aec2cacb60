"""Every error answers with a short generic body: JSON {"error": ...} and the request id, never internals."""

from __future__ import annotations

import errno
import logging
import os

from flask import Flask, current_app, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)
# With less free space than this under the deploy folder, an unexpected error is taken for a full disk:
# SQLite (the replay store) reports one only as "disk I/O error".
FULL_BELOW = 1 << 20
OUT_OF_SPACE = "the webhook's disk is full (no space left in its state folder); nothing was done"


class InsufficientStorage(HTTPException):
    """507 (RFC 4918), which werkzeug does not define."""

    code = 507
    description = OUT_OF_SPACE


def handle_http(exc: HTTPException):
    body = {"error": exc.description or exc.name, "status": exc.code, "request_id": g.get("request_id")}
    response = jsonify(body)
    response.status_code = exc.code or 500
    for name, value in (exc.get_headers() or []):
        if name.lower() == "allow":
            response.headers[name] = value
    return response


def out_of_space(exc: BaseException) -> bool:
    """The error is, or happened because of, a full disk under the deploy folder."""
    seen: BaseException | None = exc
    for _ in range(10):  # the cause chain, not a cycle
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        stat = os.statvfs(current_app.extensions["settings"].deploy_dir)
    except (OSError, KeyError):
        return False
    return stat.f_bavail * stat.f_frsize < FULL_BELOW


def handle_unexpected(exc: Exception):
    log.exception("event=unhandled_error rid=%s", g.get("request_id"))
    if out_of_space(exc):
        # the operator's problem, not a bug: say so, so that the Action's log names it (a 5xx, so it retries)
        return handle_http(InsufficientStorage())
    return handle_http(InternalServerError("internal error"))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
