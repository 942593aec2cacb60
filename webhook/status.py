"""Status page: HTML for people, JSON for scripts (Accept: application/json or ?format=json).

Anyone may read it, so it shows each deploy's public fields only. What a DAG or Airflow wrote (exception
messages: a commit's code chooses them) is in a deploy's `detail` and its problems' `message`, returned only by
an authenticated GET /deploys/<id> (X-Webhook-Key for endpoint "status", target the deploy id).
"""

from __future__ import annotations

import os
import time
import tomllib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request

from webhook import auth, relay, settings, trigger
from webhook.deploy import problems, restart
from webhook.deploy.git import SHA_RE
from webhook.deploy.history import History
from webhook.deploy.mirror import Mirror

bp = Blueprint("status", __name__)
PROJECT_DIR = Path(__file__).resolve().parent.parent
# The fields of a deploy record anyone may read; a field not listed here (now or added later) is shown only
# to authenticated readers.
PUBLIC_FIELDS = ("id", "kind", "commit", "source", "state", "result", "stage", "stages", "reason", "retryable",
                 "requested_at", "finished_at", "ts", "delivery_id", "pr", "target", "resumes", "superseded_by",
                 "author", "subject", "previous_commit", "changed_outside", "restart_required", "dag_ids",
                 "validate_seconds", "import_errors_before", "import_errors_after", "note", "warnings",
                 "bootstrap_drift")


@lru_cache(maxsize=1)
def stack_version() -> str:
    """STACK_VERSION when the image or runner sets it, else the project version from pyproject.toml."""
    if os.environ.get("STACK_VERSION"):
        return os.environ["STACK_VERSION"]
    try:
        with open(PROJECT_DIR / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def public(record: dict) -> dict:
    """A deploy record without anything a DAG's code or Airflow's messages put in it."""
    shown = {name: record[name] for name in PUBLIC_FIELDS if name in record}
    found = [problems.describe(p) for p in record.get("problems") or [] if isinstance(p, dict)]
    if found:
        shown["problems"] = [problems.public(p) for p in found]
        # rebuilt rather than trusted: records written before `detail` existed had the message in the reason
        shown["reason"] = problems.reason(found)
    return shown


def snapshot() -> dict:
    """Everything the page shows, as plain data."""
    cfg = settings.get(current_app)
    mirror = Mirror(cfg.deploy_dir / "mirror.git", cfg.repo_url, cfg.branch)
    deployed = mirror.deployed()
    db = trigger.state()
    return {
        "service": "webhook",
        "stack_version": stack_version(),
        "environment": cfg.environment,
        "deploys_configured": cfg.deploys_configured,
        "branch": cfg.branch,
        "bundle": cfg.bundle_name,
        "deployed_commit": deployed,
        "restart": restart.status(db, mirror, deployed),
        "relay": relay.last_event(db),
        "deploys": [public(d) for d in History(db).recent(20)],
        "generated_at": round(time.time(), 3),
    }


@bp.get("/")
def index():
    data = snapshot()
    if wants_json():
        return jsonify(data)
    return render_template("status.html", **data)


@bp.get("/deploys/<deploy_id>")
def deploy(deploy_id: str):
    """One deploy's current state (the trigger script follows this until a result appears): its public fields,
    or the whole record for a request signed for endpoint "status" and this deploy id."""
    if len(deploy_id) > 64:
        abort(404, "no such deploy")
    signed = request.headers.get(auth.KEY_HEADER) is not None
    if signed:
        # a wrong value is refused (401/403), never answered with the public view
        auth.authenticate("status", deploy_id)
    record = History(trigger.state()).get(deploy_id)
    if record is None:
        abort(404, "no such deploy")
    return jsonify(record if signed else public(record))


@bp.get("/deploys")
def find_deploys():
    """Deploys by delivery id and/or commit, newest first: how the trigger script finds its deploy after
    posting through the relay (which answers 200 without the webhook's response)."""
    delivery = request.args.get("delivery", "")
    commit = request.args.get("commit", "").lower()
    if not (delivery or commit) or len(delivery) > 128 or (commit and not SHA_RE.match(commit)):
        abort(400, "give delivery=<id> and/or commit=<40 hex>")
    return jsonify(deploys=[public(d) for d in History(trigger.state()).find(delivery, commit)])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
