"""Deploying to a running stack (native or compose) as the GitHub Action does, and reading the result."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from stacktest.gitrepo import Origin, git

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "trigger_deploy.py"


class StackOrigin(Origin):
    """The bare origin the stack's webhook fetches (DEPLOY_REPO_URL), with a clone to push from."""

    def __init__(self, bare: Path, work: Path):
        self.bare, self.work, self.branch = bare, work, "production"
        if not (bare / "HEAD").exists():
            git("init", "--quiet", "--bare", "--initial-branch=production", str(bare))
        git("init", "--quiet", "--initial-branch=production", str(work))
        git("remote", "add", "origin", str(bare), cwd=work)
        if git("ls-remote", str(bare), "refs/heads/production", cwd=work).strip():
            git("fetch", "--quiet", "origin", "production", cwd=work)
            git("reset", "--quiet", "--hard", "FETCH_HEAD", cwd=work)

    def head_exists(self) -> bool:
        return subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=self.work,
                              capture_output=True).returncode == 0


def trigger(stack, commit: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the Action's script against the stack, through HAProxy."""
    env = {"PATH": os.environ["PATH"], "WEBHOOK_KEY": stack.settings["WEBHOOK_KEY"],
           "WEBHOOK_ADDRESS": stack.url("webhook") + "/webhook", "DEPLOY_COMMIT": commit}
    return subprocess.run([sys.executable, str(SCRIPT), "--timeout", str(timeout)], env=env,
                          capture_output=True, text=True, timeout=timeout + 30)


def status(stack) -> dict:
    return requests.get(stack.url("webhook") + "/", headers={"Accept": "application/json"},
                        timeout=10).json()


def dag_version(stack, dag_id: str) -> str | None:
    response = stack.api("GET", f"/dags/{dag_id}")
    return response.json().get("bundle_version") if response.status_code == 200 else None
