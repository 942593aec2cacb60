"""Backup and restore of a native stack, as an operator does it: run DAGs and deploy, `./stack backup`, then
`./stack restore` into a fresh state folder and `./stack up` there: the runs and the deploys are all back.

Two stacks, one after the other: the first in GitOps mode (a deploy history needs deploys), the fresh one for
the restore. The operator keeps the credentials apart from the backups (a backup holds none), so the fresh
folder gets the first stack's secrets.env, as the operator would copy it from where they keep it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time

import pytest
import requests

from stackctl.settings import PROJECT_DIR
from stacktest.deploys import StackOrigin, status, trigger
from stacktest.gitrepo import good_dag
from stacktest.native import NativeStack, new_state_dir

pytestmark = pytest.mark.integration


def stack_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stackctl", *args], env=env, cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=300)


def logged_in(stack) -> NativeStack:
    """The stack once HAProxy routes to its api-server (on a busy machine it may still count it down a while)."""
    deadline = time.monotonic() + 90
    while True:
        try:
            stack.api_token()
            return stack
        except requests.HTTPError as error:
            if error.response.status_code < 500 or time.monotonic() > deadline:
                raise
            time.sleep(2)


def history(stack) -> list[str]:
    """The deploy ids on the webhook's status page, newest first."""
    return [deploy["id"] for deploy in status(stack)["deploys"]]


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory):
    """The first stack: two runs, a second deploy, three backups (keep 2); the refused restore while it runs.
    Its origin is in its state folder (the stack user's), where the restored stack fetches it too."""
    state_dir = new_state_dir()
    origin = StackOrigin(state_dir / "origin.git", tmp_path_factory.mktemp("clone"))
    origin.commit({"dags/backup_hello.py": good_dag("backup_hello")}, "Initial DAGs (#1)")
    extra = {"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(origin.bare)}
    stack = NativeStack.start(state_dir, extra)
    try:
        logged_in(stack)
        runs = [stack.trigger_dag("backup_hello") for _ in range(2)]
        assert [stack.wait_run("backup_hello", run) for run in runs] == ["success", "success"]
        commit = origin.commit({"dags/backup_second.py": good_dag("backup_second")}, "Second DAG (#2)")
        deployed = trigger(stack, commit)
        assert deployed.returncode == 0, deployed.stderr
        deploys = history(stack)
        assert len(deploys) >= 2  # the bootstrap's and this one
        outputs = [stack.run("backup", "--keep", "2") for _ in range(3)]
        assert [o.returncode for o in outputs] == [0, 0, 0], [o.stderr for o in outputs]
        refused = stack.run("restore", str(state_dir / "backups" / sorted(os.listdir(state_dir / "backups"))[-1]))
        yield {"stack": stack, "runs": runs, "deploys": deploys, "commit": commit, "outputs": outputs,
               "refused": refused, "folder": state_dir / "backups", "secrets": state_dir / "secrets.env",
               "env": extra}
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


def test_backups_are_kept_n_and_private(backed_up):
    files = sorted(backed_up["folder"].iterdir())
    assert len(files) == 2, files
    assert all(f.name.startswith("gitops-airflow-") and f.name.endswith(".tar.gz") for f in files)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert "removed gitops-airflow-" in backed_up["outputs"][2].stdout
    assert str(files[-1]) in backed_up["outputs"][2].stdout


def test_restore_refuses_a_running_stack(backed_up):
    refused = backed_up["refused"]
    assert refused.returncode == 2
    assert "is running: stop it first (./stack down)" in refused.stderr


def test_restore_into_a_fresh_state_folder_brings_back_runs_and_deploys(backed_up):
    latest = sorted(backed_up["folder"].iterdir())[-1]
    backed_up["stack"].stop()
    fresh = new_state_dir()
    try:
        # what the operator brings: the credentials they keep, the backup (and a damaged copy of it)
        shutil.copy(backed_up["secrets"], fresh / "secrets.env")
        shutil.copy(latest, fresh / "old.tar.gz")
        (fresh / "broken.tar.gz").write_bytes(latest.read_bytes()[:2000])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STACK_", "PUBLIC_"))}
        env.update({"STACK_STATE_DIR": str(fresh), "STACK_ENV_FILE": "", "PYTHONPATH": str(PROJECT_DIR),
                    "STACK_VENV": os.environ.get("STACK_VENV", sys.prefix)})
        damaged = stack_command(env, "restore", str(fresh / "broken.tar.gz"))
        assert damaged.returncode == 2 and "damaged" in damaged.stderr, damaged.stderr
        missing = stack_command(env, "restore", str(fresh / "nothing.tar.gz"))
        assert missing.returncode == 2 and "no backup at" in missing.stderr, missing.stderr
        restored = stack_command(env, "restore", str(fresh / "old.tar.gz"))
        assert restored.returncode == 0, restored.stderr
        assert "restored into" in restored.stdout
        with NativeStack.running(backed_up["env"], state_dir=fresh) as stack:
            logged_in(stack)
            for run in backed_up["runs"]:
                response = stack.api("GET", f"/dags/backup_hello/dagRuns/{run}")
                assert response.status_code == 200 and response.json()["state"] == "success"
            assert set(backed_up["deploys"]) <= set(history(stack))
            assert status(stack)["deployed_commit"] == backed_up["commit"]
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
