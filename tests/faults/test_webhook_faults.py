"""Faults of the deploy webhook itself, run as the native stack runs it (gunicorn under stackctl.reaper, three
workers, the runner thread) on a state folder of its own, with a real origin and no Airflow: gunicorn's master
or the worker running a deploy killed in the middle of validating it, and the deploy folder's disk full. What
is asserted is what a user checks: what the GitHub Action's step (scripts/trigger_deploy.py) says, what
GET /deploys/<id> says, and which commit is published; plus that nothing of a killed process outlives it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from stacktest.gitrepo import good_dag
from tests.faults.held_dag import held_dag
from tests.faults.processes import all_processes, kill, tree, wait_gone
from tests.faults.recovery import record
from tests.faults.webhook_server import Webhook
from webhook.deploy.history import History
from webhook.deploy.state import Database

pytestmark = [pytest.mark.faults]

# Generous bounds: liveness (it ends), not speed.
BOUND = 120


def published(hook: Webhook) -> str:
    """The commit Airflow would deploy: the mirror's production branch."""
    return subprocess.run(["git", "--git-dir", str(hook.deploy_dir / "mirror.git"), "rev-parse", "--verify",
                           "-q", "refs/heads/production"], capture_output=True, text=True).stdout.strip()


def finish(action: subprocess.Popen, timeout: float = BOUND + 60) -> tuple[int, str]:
    out, err = action.communicate(timeout=timeout)
    return action.returncode, out + err


def deploy(hook: Webhook, commit: str) -> None:
    code, output = finish(hook.trigger(commit))
    assert code == 0, output
    assert published(hook) == commit


@pytest.fixture
def webhook(tmp_path, origin):
    hook = Webhook(tmp_path / "state", origin.url).start()
    yield hook
    hook.stop()


def wait_stage(hook: Webhook, commit: str, stage: str) -> dict:
    """The deploy of `commit` once it is running `stage`."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        found = [d for d in hook.history() if d.get("commit") == commit]
        if found and found[-1].get("stage") == stage:
            return found[-1]
        time.sleep(0.2)
    raise TimeoutError(f"the deploy of {commit[:12]} never reached stage {stage}")


def validation_jobs(pid: int) -> list[int]:
    """The DAG validation processes under a worker (the server and the child it forked for the job)."""
    under = tree(pid)
    return [p.pid for p in all_processes() if p.pid in under and "webhook.deploy.validate_dags" in p.cmdline]


@pytest.mark.parametrize("target", ["worker running the deploy", "gunicorn master"])
def test_the_webhook_killed_mid_validation(webhook, origin, hold, target):
    """kill -9 of the gunicorn worker that runs the deploy (the runner's leader), or of gunicorn's master, while
    the commit's DAGs are imported for validation. A worker: gunicorn replaces it and another worker takes the
    runner over. The master: the reaper ends everything under it and the webhook is started again (supervisord
    does that in the stack). Either way the deploy is reported interrupted, not failed, and resumed; the Action
    that was waiting reports the resumed deploy's success; and the validation it had started ends with it."""
    old = origin.head()
    deploy(webhook, old)
    new = origin.commit({"dags/held.py": held_dag("held", hold)}, "A DAG that imports slowly (#2)")
    action = webhook.trigger(new, timeout=BOUND)
    running = wait_stage(webhook, new, "validate")
    leader = webhook.wait_leader()
    deadline = time.monotonic() + BOUND
    while len(validation_jobs(leader)) < 2:  # the server and the job's child, importing held.py
        assert time.monotonic() < deadline, "the validation never started"
        time.sleep(0.2)
    master = webhook.master()
    killed, since = kill(leader if target == "worker running the deploy" else master), time.monotonic()

    # nothing of the killed process survives, its DAG validation included, although the DAG is still held
    assert wait_gone(killed) == set(), "processes of the killed webhook outlived it"
    assert published(webhook) == old, "nothing is published by a deploy that was not validated"
    if target == "gunicorn master":
        webhook.proc.wait(30)  # the reaper ends with its program
        # no dying worker took the deploy over: it waits, "running", for the webhook to be started again
        left = History(Database(webhook.deploy_dir)).deploys()
        assert left[running["id"]]["state"] == "running"
        assert not [d for d in left.values() if d.get("resumes") == running["id"]]
        webhook.start()
    assert webhook.wait_leader() not in killed
    hold.unlink()

    code, output = finish(action)
    assert code == 0, output
    assert webhook.deploy_record(running["id"])["state"] == "interrupted"
    resumed = [d for d in webhook.history() if d.get("resumes") == running["id"]]
    assert [d["state"] for d in resumed] == ["succeeded"], resumed
    assert published(webhook) == new
    record(f"kill -9 of the webhook's {target}, mid-validation (kill to deployed)", since, 1, stack="webhook")
    deploy(webhook, origin.commit({"dags/after.py": good_dag("after")}, "after (#3)"))


# ---- a full disk ------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """The deploy folder on a 32 MiB file system of its own, unmounted at the end."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system (tmpfs) needs root")
    folder = tmp_path / "state" / "deploy"
    folder.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture
def webhook_on_small_disk(small_disk, tmp_path, origin):
    hook = Webhook(tmp_path / "state", origin.url).start()
    yield hook
    hook.stop()


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill the file system under `folder` up to the last byte, then give `leave` bytes back."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


def test_a_deploy_on_a_full_disk_fails_with_the_reason_and_publishes_nothing(webhook_on_small_disk, origin):
    """The disk full to the last byte: the webhook cannot even queue the request. The Action's step fails
    saying so; the published commit stays; once space is freed the same commit deploys."""
    hook = webhook_on_small_disk
    old = origin.head()
    deploy(hook, old)
    new = origin.commit({"dags/two.py": good_dag("two")}, "Second DAG (#2)")
    filler = fill(hook.deploy_dir)
    code, output = finish(hook.trigger(new, timeout=30))
    assert code == 1, output
    assert "507" in output and "disk is full" in output, output
    assert published(hook) == old
    assert hook.healthy()
    filler.unlink()
    since = time.monotonic()
    deploy(hook, new)
    record("deploy folder's disk full: the next deploy after space is freed", since, 1,
           stack="webhook")


def test_a_commit_too_big_for_the_disk_fails_the_deploy_with_the_reason(webhook_on_small_disk, origin):
    """Room to queue the request, not for the commit: the deploy fails naming the lack of space, nothing is
    published (and no half-written object or tree stays behind); once space is freed the same commit
    deploys."""
    hook = webhook_on_small_disk
    old = origin.head()
    deploy(hook, old)
    (origin.work / "dags" / "data.bin").write_bytes(os.urandom(4 << 20))  # does not compress
    new = origin.commit({"dags/two.py": good_dag("two")}, "A DAG with 4 MiB of data (#2)")
    filler = fill(hook.deploy_dir, leave=256 << 10)
    code, output = finish(hook.trigger(new, timeout=60))
    assert code == 1, output
    assert "No space left on device" in output, output
    [failed] = [d for d in hook.history() if d.get("commit") == new]
    assert failed["state"] == "failed" and "No space left on device" in failed["reason"]
    assert published(hook) == old
    assert not any((hook.deploy_dir / "work").iterdir())
    filler.unlink()
    since = time.monotonic()
    deploy(hook, new)
    record("deploy folder's disk too full for the commit: the next deploy after space is freed",
           since, 1, stack="webhook")


def test_the_workers_of_a_killed_master_do_not_take_the_deploy_over(webhook, origin, hold):
    """kill -9 of the reaper, gunicorn's master and the worker running the deploy at once; the other workers
    notice that their master is gone and exit within a second or so (as they do when the reaper's SIGTERM
    reaches them). In that second the runner's lock is free: one of them used to take the runner over, mark
    the deploy interrupted and start it again, only to be ended mid-validation itself. Now they leave it, and
    the webhook started again resumes it once."""
    deploy(webhook, origin.head())
    new = origin.commit({"dags/held.py": held_dag("held", hold)}, "A DAG that imports slowly (#2)")
    action = webhook.trigger(new, timeout=BOUND)
    running = wait_stage(webhook, new, "validate")
    leader, master = webhook.wait_leader(), webhook.master()
    everything = tree(webhook.proc.pid)
    for pid in (webhook.proc.pid, master, leader):
        kill(pid)
    assert wait_gone(everything, timeout=60) == set(), "processes of the killed webhook outlived it"
    left = History(Database(webhook.deploy_dir)).deploys()
    assert left[running["id"]]["state"] == "running"
    assert not [d for d in left.values() if d.get("resumes") == running["id"]]

    webhook.start()
    hold.unlink()
    code, output = finish(action)
    assert code == 0, output
    resumed = [d for d in webhook.history() if d.get("resumes") == running["id"]]
    assert [d["state"] for d in resumed] == ["succeeded"], resumed
    assert published(webhook) == new
