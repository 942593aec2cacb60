"""Status page: HTML for people, JSON for scripts (Accept: application/json or ?format=json)."""

from __future__ import annotations

import os
import time
import tomllib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify, render_template, request

from webhook import relay, settings
from webhook.deploy import restart
from webhook.deploy.git import SHA_RE
from webhook.deploy.history import History
from webhook.deploy.mirror import Mirror

bp = Blueprint("status", __name__)
PROJECT_DIR = Path(__file__).resolve().parent.parent


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


def snapshot() -> dict:
    """Everything the page shows, as plain data."""
    cfg = settings.get(current_app)
    mirror = Mirror(cfg.deploy_dir / "mirror.git", cfg.repo_url, cfg.branch)
    deployed = mirror.deployed()
    history = History(cfg.deploy_dir / "history.jsonl")
    return {
        "service": "webhook",
        "stack_version": stack_version(),
        "environment": cfg.environment,
        "deploys_configured": cfg.deploys_configured,
        "branch": cfg.branch,
        "bundle": cfg.bundle_name,
        "deployed_commit": deployed,
        "restart": restart.status(cfg, mirror, deployed),
        "relay": relay.last_event(cfg),
        "deploys": history.recent(20),
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
    """One deploy's current state (the trigger script follows this until a result appears)."""
    cfg = settings.get(current_app)
    if len(deploy_id) > 64:
        abort(404, "no such deploy")
    record = History(cfg.deploy_dir / "history.jsonl").get(deploy_id)
    if record is None:
        abort(404, "no such deploy")
    return jsonify(record)


@bp.get("/deploys")
def find_deploys():
    """Deploys by delivery id and/or commit, newest first: how the trigger script finds its deploy after
    posting through the relay (which answers 200 without the webhook's response)."""
    cfg = settings.get(current_app)
    delivery = request.args.get("delivery", "")
    commit = request.args.get("commit", "").lower()
    if not (delivery or commit) or len(delivery) > 128 or (commit and not SHA_RE.match(commit)):
        abort(400, "give delivery=<id> and/or commit=<40 hex>")
    found = [d for d in History(cfg.deploy_dir / "history.jsonl").recent(500)
             if (not delivery or d.get("delivery_id") == delivery)
             and (not commit or d.get("commit") == commit)]
    return jsonify(deploys=found[:20])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
