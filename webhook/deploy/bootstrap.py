"""Publish origin's branch tip once, before Airflow starts: `python -m webhook.deploy.bootstrap`.

Airflow's GitDagBundle clones the mirror when the DAG processor starts, so the mirror must already have its
branch. Run this as a one-shot step before the Airflow components (native `up`, compose init). It deploys
only when nothing is deployed yet (validation included, no Airflow confirmation since Airflow is not up);
otherwise it does nothing. Exit 0 when a commit is deployed, 1 when not (the reason is printed).
"""

from __future__ import annotations

import sys
import time

from webhook import settings
from webhook.deploy import pipeline, queue
from webhook.deploy.git import GitError
from webhook.deploy.lock import FileLock
from webhook.logs import setup_logging


def main() -> int:
    setup_logging()
    try:
        cfg = settings.from_env()
    except settings.SettingsError as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    if not cfg.deploys_configured:
        print("bootstrap: DEPLOY_REPO_URL is not set; nothing to deploy", file=sys.stderr)
        return 1
    ctx = pipeline.Context.build(cfg, warm=False)
    ctx.airflow = None  # Airflow is not running yet; the DAG processor parses the mirror when it starts
    try:
        with FileLock(cfg.deploy_dir / "deploy.lock", timeout=600):
            deployed = ctx.mirror.deployed()
            if deployed:
                print(f"bootstrap: {deployed} already deployed")
                return 0
            tip = ctx.mirror.fetch()
            record = ctx.history.append({"id": queue.new_id(), "kind": "deploy", "commit": tip,
                                         "source": "bootstrap", "state": "running",
                                         "requested_at": round(time.time(), 3)})
            result = pipeline.deploy(ctx, record, tip)
    except (GitError, TimeoutError) as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    finally:
        ctx.validator.close()
    print(f"bootstrap: {result['commit']} {result['state']} {result.get('reason') or ''}".rstrip())
    return 0 if result["state"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
