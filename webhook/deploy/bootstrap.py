"""Publish origin's branch tip once, before Airflow starts: `python -m webhook.deploy.bootstrap`.

Airflow's GitDagBundle clones the mirror when the DAG processor starts, so the mirror must already have its
branch. Run this as a one-shot step before the Airflow components (native `up`, compose init). It deploys
only when nothing is deployed yet (validation included, no Airflow confirmation since Airflow is not up);
otherwise it does nothing. Exit 0 when a commit is deployed, 1 when not (the reason is printed).

Without DEPLOY_REPO_URL (deploys off, e.g. a first `docker compose up`), it publishes the DAGs of this checkout
(the ones baked into the image) instead, so Airflow has DAGs to run; the first deploy from a repository set
later replaces that commit, which is not part of the repository's history.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from webhook import settings
from webhook.deploy import git, pipeline, queue
from webhook.deploy.git import GitError
from webhook.deploy.lock import Lease
from webhook.deploy.mirror import Mirror
from webhook.logs import setup_logging


def main() -> int:
    setup_logging()
    try:
        cfg = settings.from_env()
    except settings.SettingsError as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    if not cfg.deploys_configured:
        return publish_checkout(Mirror(cfg.deploy_dir / "mirror.git", "", cfg.branch), cfg.dags_subdir)
    ctx = pipeline.Context.build(cfg, warm=False)
    ctx.airflow = None  # Airflow is not running yet; the DAG processor parses the mirror when it starts
    try:
        with Lease(ctx.history.db, "deploy", timeout=600):
            deployed = ctx.mirror.deployed()
            checkout = baked_commit(ctx.mirror)
            if deployed and deployed != checkout:
                print(f"bootstrap: {deployed} already deployed")
                return 0
            tip = ctx.mirror.fetch()
            if deployed:  # the checkout's DAGs, published while deploys were off: the repository replaces them
                pipeline.move(ctx, None, deployed)
            record = ctx.history.append({"id": queue.new_id(), "kind": "deploy", "commit": tip,
                                         "source": "bootstrap", "state": "running",
                                         "requested_at": round(time.time(), 3)})
            result = pipeline.deploy(ctx, record, tip)
            if deployed and ctx.mirror.deployed() is None:
                pipeline.move(ctx, deployed, None)  # the repository's tip was refused: keep running the old DAGs
    except (GitError, TimeoutError) as exc:
        print(f"bootstrap: {exc}", file=sys.stderr)
        return 1
    finally:
        ctx.validator.close()
    print(f"bootstrap: {result['commit']} {result['state']} {result.get('reason') or ''}".rstrip())
    return 0 if result["state"] == "succeeded" else 1



# Where the mirror remembers the commit made from the checkout, to tell it from a deployed one.
CHECKOUT_REF = "refs/gitops/checkout"
PROJECT_DIR = Path(__file__).resolve().parents[2]


def baked_commit(mirror: Mirror) -> str | None:
    if not (mirror.path / "HEAD").is_file():
        return None
    out = mirror.git("rev-parse", "--verify", "--quiet", f"{CHECKOUT_REF}^{{commit}}", check=False)
    return out.strip() or None


def publish_checkout(mirror: Mirror, dags_subdir: str, project_dir: Path = PROJECT_DIR) -> int:
    """Deploys are off: publish this checkout's DAG folder as one commit, unless something is published."""
    mirror.ensure()
    deployed = mirror.deployed()
    if deployed:
        print(f"bootstrap: DEPLOY_REPO_URL is not set (deploys are off); {deployed} stays published")
        return 0
    fd, index = tempfile.mkstemp(prefix=".index-", dir=mirror.path)
    os.close(fd)
    os.unlink(index)
    env = {"GIT_DIR": str(mirror.path), "GIT_WORK_TREE": str(project_dir), "GIT_INDEX_FILE": index,
           "GIT_AUTHOR_NAME": "gitops-airflow", "GIT_AUTHOR_EMAIL": "bootstrap@localhost",
           "GIT_COMMITTER_NAME": "gitops-airflow", "GIT_COMMITTER_EMAIL": "bootstrap@localhost"}
    try:
        git.run(["add", "--", dags_subdir], cwd=project_dir, env=env)
        tree = git.run(["write-tree"], cwd=project_dir, env=env).strip()
        commit = git.run(["commit-tree", tree, "-m", f"The {dags_subdir}/ folder of the checkout (deploys off)"],
                         cwd=project_dir, env=env).strip()
    finally:
        Path(index).unlink(missing_ok=True)
    mirror.git("update-ref", CHECKOUT_REF, commit)
    mirror.publish(commit, None)
    print(f"bootstrap: DEPLOY_REPO_URL is not set (deploys are off); published this checkout's {dags_subdir}/ "
          f"as {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
