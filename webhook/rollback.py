"""Roll back (or force) the deployed commit: POST /rollback, and `python -m webhook.rollback`.

A rollback publishes an earlier commit (validated first), non-fast-forward by design, and pins it so
the fallback poll does not redeploy origin's tip until origin moves on.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time

from flask import Blueprint, Flask, abort, g

from webhook import auth, settings, trigger
from webhook.deploy import queue
from webhook.deploy.git import SHA_RE, GitError
from webhook.deploy.history import History
from webhook.deploy.lock import Lease
from webhook.deploy.mirror import Mirror

log = logging.getLogger(__name__)
bp = Blueprint("rollback", __name__)
DEPLOY_ID_RE = re.compile(r"^\d{8}T\d{6}-[0-9a-f]{6}$")
PREVIOUS = "previous"


class TargetError(ValueError):
    """The rollback target cannot be resolved; the message says why."""


def resolve(history: History, mirror: Mirror, target: str) -> str:
    """A deploy id, a commit id, or "previous" (the last good commit before the deployed one)."""
    if not (mirror.path / "HEAD").is_file():
        raise TargetError("nothing has been deployed yet, so there is nothing to roll back to")
    deployed = mirror.deployed()
    if target == PREVIOUS:
        good = history.last_good(other_than=deployed)
        if not good:
            raise TargetError("no earlier successful deploy to roll back to")
        return good
    if DEPLOY_ID_RE.match(target):
        record = history.get(target)
        if not record or not record.get("commit"):
            raise TargetError(f"no deploy with id {target}")
        return record["commit"]
    if re.fullmatch(r"[0-9a-f]{7,40}", target):
        full = mirror.git("rev-parse", "--verify", "--quiet", f"{target}^{{commit}}", check=False).strip()
        if not SHA_RE.match(full):
            raise TargetError(f"commit {target} is not in the mirror")
        return full
    raise TargetError("target must be a deploy id, a commit id or 'previous'")


@bp.post("/rollback")
def rollback_endpoint():
    """Body {"to": deploy id | commit | "previous"}; authenticated like /webhook, for endpoint "rollback"."""
    cfg = trigger.deploys_ready()
    auth.require_key_format()
    body = trigger.json_body()
    target = body.get("to", PREVIOUS)
    if not isinstance(target, str) or len(target) > 64:
        abort(400, "to must be a deploy id, a commit id or 'previous'")
    delivery_id = auth.authenticate("rollback", target)
    history = History(trigger.state())
    mirror = Mirror(cfg.deploy_dir / "mirror.git", cfg.repo_url, cfg.branch, cfg.git_timeout)
    try:
        commit = resolve(history, mirror, target)
    except (TargetError, GitError) as exc:
        log.warning("event=rollback_refused rid=%s reason=%s", g.get("request_id"), exc)
        abort(409, "rollback target not available")
    record = queue.request(history, commit, "api", kind="rollback", delivery_id=delivery_id, target=target)
    log.info("event=rollback_queued rid=%s id=%s commit=%s", g.get("request_id"), record["id"], commit)
    return trigger.accepted(record)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def main(argv: list[str] | None = None) -> int:
    """CLI: run the rollback here and now, holding the same deploy lease as the webhook's runner."""
    from webhook.deploy.pipeline import Context, rollback
    from webhook.logs import setup_logging

    parser = argparse.ArgumentParser(prog="python -m webhook.rollback", description=__doc__)
    parser.add_argument("--to", default=PREVIOUS,
                        help="deploy id, commit id, or 'previous' (default: the last good commit before the "
                             "deployed one)")
    parser.add_argument("--origin-tip", action="store_true",
                        help="fetch and force-deploy origin's branch tip (after an approved history rewrite)")
    parser.add_argument("--list", action="store_true", help="show the last deploys and exit")
    parser.add_argument("--wait", type=float, default=600.0, help="seconds to wait for a running deploy")
    parser.add_argument("--reason", default="", help="recorded in the history")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        cfg = settings.from_env()
    except settings.SettingsError as exc:
        parser.error(str(exc))
    ctx = Context.build(cfg, warm=False)
    if args.list:
        for d in ctx.history.recent(20):
            print(f"{d['id']}  {(d.get('commit') or '')[:12]}  {d.get('kind', 'deploy'):8}  "
                  f"{d.get('state', ''):12}  {d.get('reason', '')}")
        return 0
    try:
        with Lease(ctx.history.db, "deploy", timeout=args.wait):
            if args.origin_tip:
                commit = ctx.mirror.fetch()
            else:
                ctx.mirror.ensure()
                commit = resolve(ctx.history, ctx.mirror, args.to)
            record = ctx.history.append({
                "id": queue.new_id(), "kind": "rollback", "commit": commit, "source": "cli",
                "state": "running", "requested_at": round(time.time(), 3), "target": args.to,
                "operator_reason": args.reason or None,
            })
            result = rollback(ctx, record)
    except (TargetError, GitError, TimeoutError) as exc:
        print(f"rollback refused: {exc}", file=sys.stderr)
        return 1
    finally:
        ctx.validator.close()
    print(json.dumps({k: result.get(k) for k in ("id", "commit", "state", "reason", "stages")}, indent=2))
    return 0 if result.get("state") == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
