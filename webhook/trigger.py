"""POST /webhook: authenticate, queue a deploy of a commit on the configured branch, answer 202.

Body: {"commit": "<40 hex>", "pr": 123 (optional, informational)}. Nothing else in the request decides
what runs: the repository and branch are settings, and the commit must be on that branch.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Flask, abort, current_app, g, jsonify, request, url_for

from webhook import auth, relay, settings
from webhook.deploy import queue
from webhook.deploy.git import SHA_RE
from webhook.deploy.history import History
from webhook.deploy.state import Database

log = logging.getLogger(__name__)
bp = Blueprint("trigger", __name__)


def json_body() -> dict:
    """The request body as a JSON object; 400 for anything else (413 comes from MAX_CONTENT_LENGTH)."""
    raw = request.get_data(cache=True)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        abort(400, "body must be JSON")
    except RecursionError:  # e.g. 100000 "[": the parser gives up; that is the client's fault, not a 500
        abort(400, "body is nested too deeply")
    if not isinstance(body, dict):
        abort(400, "body must be a JSON object")
    return body


def commit_from(body: dict, field: str = "commit") -> str:
    value = body.get(field)
    if not isinstance(value, str) or not SHA_RE.match(value.lower()):
        abort(400, f"{field} must be a full 40-character commit id")
    return value.lower()


def pr_from(body: dict) -> int | None:
    value = body.get("pr")
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int) and 0 < value < 10**9:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    abort(400, "pr must be a pull request number")


def state() -> Database:
    """The state database of this app (webhook/deploy/state.py)."""
    return current_app.extensions["state"]


def deploys_ready():
    """503 until a repository and a key source are configured (development without 1Password)."""
    cfg = settings.get(current_app)
    if not cfg.deploys_configured or not current_app.extensions["keys"].configured():
        abort(503, "deploys not configured: set DEPLOY_REPO_URL and the webhook key "
                   "(1Password or WEBHOOK_KEY)")
    queue.require_room(cfg.deploy_dir)  # 507 on a full disk
    return cfg


def accepted(record: dict):
    runner = current_app.extensions.get("runner")
    if runner:
        runner.wake()
    status_url = url_for("status.deploy", deploy_id=record["id"])
    response = jsonify(deploy_id=record["id"], state=record["state"], commit=record["commit"],
                       status_url=status_url)
    response.status_code = 202
    response.headers["Location"] = status_url
    return response


@bp.post("/webhook")
def webhook():
    cfg = deploys_ready()
    outcome = "refused"
    try:
        auth.require_key_format()
        body = json_body()
        commit = commit_from(body)
        pr = pr_from(body)
        delivery_id = auth.authenticate("deploy", commit)
        record = queue.request(History(state()), commit, "webhook",
                               delivery_id=delivery_id, pr=pr, request_id=g.get("request_id"))
        outcome = "accepted"
        if cfg.rolling_key:
            current_app.extensions["keys"].roll()
    finally:
        relay.record(state(), request.headers, outcome)
    log.info("event=deploy_queued rid=%s id=%s commit=%s delivery=%s", g.get("request_id"), record["id"],
             commit, delivery_id)
    return accepted(record)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
