"""Faults on a native stack in GitOps mode, as production runs it: the webhook killed in the middle of a deploy,
the smee relay killed, and the triggerer killed while a task is deferred.

What is asserted is what a user checks: what the GitHub Action's step (scripts/trigger_deploy.py, through
HAProxy or the smee channel) says, what GET /deploys/<id> says, which commit the mirror publishes and the DAG
processor's bundle has checked out, and that runs end in success. Plus that nothing of a killed program outlives
it. The bounds are generous liveness bounds; the measured times go to test-artifacts/fault-recovery.jsonl."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from stacktest.deploys import SCRIPT, dag_version, status
from stacktest.gitrepo import good_dag
from tests.faults.held_dag import IN_AIRFLOW, IN_VALIDATION, held_dag
from tests.faults.processes import all_processes, children, kill, lease_holder, program_pid, tree, wait_gone
from tests.faults.recovery import record

pytestmark = [pytest.mark.integration, pytest.mark.faults]

BOUND = 300


# ---- helpers ----------------------------------------------------------------------------------------------


def git(*args: str) -> str:
    """git as root on the stack user's repositories (hence safe.directory)."""
    return subprocess.run(["git", "-c", "safe.directory=*", *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def published(stack) -> str:
    """The commit Airflow is told to deploy: the webhook's mirror's production branch."""
    return git("--git-dir", str(stack.state_dir / "deploy" / "mirror.git"), "rev-parse", "refs/heads/production")


def bundle_checkout(stack) -> tuple[str, list[str]]:
    """The DAG processor's checkout of the bundle: its commit, and what `git status` finds different from it
    (nothing: the tree is that commit's, nothing half-written; Python's __pycache__ folders aside)."""
    repo = stack.state_dir / "airflow" / "dag_bundles" / "gitops" / "tracking_repo"
    changes = git("-C", str(repo), "status", "--porcelain").splitlines()
    return git("-C", str(repo), "rev-parse", "HEAD"), [c for c in changes if not c.endswith("__pycache__/")]


def action(stack, commit: str, timeout: float = BOUND, through: str | None = None) -> subprocess.Popen:
    """The GitHub Action's step, started in the background: to the webhook through HAProxy, or to a smee
    channel (`through`) with the webhook's status URL to follow the deploy."""
    env = {"PATH": os.environ["PATH"], "WEBHOOK_KEY": stack.settings["WEBHOOK_KEY"], "DEPLOY_COMMIT": commit,
           "WEBHOOK_ADDRESS": through or stack.url("webhook") + "/webhook"}
    if through:
        env["WEBHOOK_STATUS_URL"] = stack.url("webhook")
    return subprocess.Popen([sys.executable, "-I", str(SCRIPT), "--timeout", str(timeout)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(step: subprocess.Popen, timeout: float = BOUND + 60) -> tuple[int, str]:
    out, err = step.communicate(timeout=timeout)
    return step.returncode, out + err


def deploy(stack, commit: str) -> None:
    code, output = finish(action(stack, commit))
    assert code == 0, output
    assert published(stack) == commit


def deployed(stack) -> str:
    """Make sure origin's tip is deployed; return it."""
    head = stack.origin.head()
    if published(stack) != head:
        deploy(stack, head)
    return head


def deploys(stack) -> list[dict]:
    """The status page's deploys (public fields), oldest first; [] while the webhook is away."""
    try:
        return list(reversed(status(stack)["deploys"]))
    except (requests.RequestException, ValueError, KeyError):
        return []


def public_record(stack, deploy_id: str) -> dict:
    return requests.get(f"{stack.url('webhook')}/deploys/{deploy_id}", timeout=10).json()


def wait_stage(stack, commit: str, stage: str) -> dict:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        found = [d for d in deploys(stack) if d.get("commit") == commit]
        if found and found[-1].get("state") == "running" and found[-1].get("stage") == stage:
            return found[-1]
        time.sleep(0.2)
    raise TimeoutError(f"the deploy of {commit[:12]} never reached stage {stage}")


def webhook_back(stack, not_leader: int) -> int:
    """The webhook answers through HAProxy again and a live worker (not `not_leader`) leads the deploy runner."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        try:
            up = requests.get(stack.url("webhook") + "/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            up = False
        leader = lease_holder(stack.state_dir / "deploy", "runner")
        if up and leader and leader != not_leader:
            return leader
        time.sleep(0.3)
    raise TimeoutError("the webhook did not come back")



# ---- the webhook killed mid-deploy -----------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["validate", "visible"])
@pytest.mark.parametrize("target", ["gunicorn master", "worker running the deploy"])
def test_the_webhook_killed_mid_deploy(gitops_fault_stack, target, stage, hold):
    """kill -9 of the webhook's gunicorn master (supervisord restarts the webhook) or of the worker running the
    deploy (gunicorn replaces it, another worker takes the runner over), while the commit's DAGs are imported
    for validation (nothing published yet) or after publishing, while the deploy waits for Airflow to parse
    the new commit. A DAG of the commit is held in that stage until the webhook is back."""
    stack, state_dir = gitops_fault_stack, gitops_fault_stack.state_dir
    old = deployed(stack)
    dag_id = f"held_{stage}_{target.split()[0]}"
    where = IN_VALIDATION if stage == "validate" else IN_AIRFLOW
    new = stack.origin.commit({f"dags/{dag_id}.py": held_dag(dag_id, hold, where)}, f"Add {dag_id} (#10)")
    step = action(stack, new)
    running = wait_stage(stack, new, stage)
    master, leader = program_pid(state_dir, "webhook"), lease_holder(state_dir / "deploy", "deploy")
    assert leader in children(master)
    if stage == "validate":
        deadline = time.monotonic() + BOUND
        while len([p for p in all_processes() if p.pid in tree(leader) and "validate_dags" in p.cmdline]) < 2:
            assert time.monotonic() < deadline, "the validation never started"
            time.sleep(0.2)
    killed, since = kill(master if target == "gunicorn master" else leader), time.monotonic()

    assert wait_gone(killed) == set(), "processes of the killed webhook outlived it"
    # never half-published: the old commit while validating, the new one once published
    assert published(stack) == (old if stage == "validate" else new)
    webhook_back(stack, not_leader=leader)
    if target == "gunicorn master":
        assert program_pid(state_dir, "webhook") != master
    hold.unlink()

    code, output = finish(step)
    assert code == 0, output
    assert f"deployed {new[:12]}" in output
    record(f"kill -9 of the webhook's {target} during stage {stage} (kill to deployed)", since, 1)
    # the interrupted deploy says so, and the one that resumed it succeeded: nothing stays "running"
    assert public_record(stack, running["id"])["state"] == "interrupted"
    resumed = [d for d in deploys(stack) if d.get("resumes") == running["id"]]
    assert [d["state"] for d in resumed] == ["succeeded"], resumed
    assert published(stack) == new
    assert dag_version(stack, dag_id) == dag_version(stack, "gitops_hello") == new
    assert bundle_checkout(stack) == (new, [])
    # and the next deploy works
    deploy(stack, stack.origin.commit({"dags/gitops_after.py": good_dag("gitops_after", marker=dag_id)},
                                      f"after {dag_id} (#11)"))


# ---- the relay killed ------------------------------------------------------------------------------------


def test_the_relay_killed_comes_back_and_no_deploy_is_lost(gitops_fault_stack, fake_smee):
    """kill -9 of the smee relay (node): supervisord restarts it and it listens to the channel again; a deploy
    sent through the channel meanwhile is not lost (delivered, or else found by the webhook's fallback poll
    of origin, every minute); a deploy sent after it is forwarded by the restarted relay."""
    stack = gitops_fault_stack
    deployed(stack)
    assert fake_smee.connected.wait(BOUND), "the relay never listened to the channel"
    relay = program_pid(stack.state_dir, "smee-relay")
    fake_smee.connected.clear()
    killed, since = kill(relay), time.monotonic()
    during = stack.origin.commit({"dags/gitops_relay_down.py": good_dag("gitops_relay_down")}, "relay down")
    step = action(stack, during, through=fake_smee.channel)

    assert fake_smee.connected.wait(BOUND), "the restarted relay never listened to the channel"
    record("kill -9 of the smee relay (kill to listening again)", since, 1)
    assert wait_gone(killed) == set(), "processes of the killed relay outlived it"
    code, output = finish(step)
    assert code == 0, output
    [sent] = [d for d in deploys(stack) if d.get("commit") == during and d["state"] == "succeeded"]
    how = {"webhook": "forwarded by the relay", "poll": "found by the fallback poll"}[sent["source"]]
    record(f"kill -9 of the smee relay, a deploy sent at once (kill to deployed; {how})", since, 1)
    assert published(stack) == during

    after = stack.origin.commit({"dags/gitops_relay_up.py": good_dag("gitops_relay_up")}, "relay up")
    code, output = finish(action(stack, after, through=fake_smee.channel))
    assert code == 0, output
    [forwarded] = [d for d in deploys(stack) if d.get("commit") == after]
    assert forwarded["source"] == "webhook", "forwarded by the relay, not found by the poll"


# ---- a deferred task while the triggerer dies ------------------------------------------------------------


def test_a_deferred_task_survives_the_triggerer_killed(gitops_fault_stack):
    """kill -9 of the triggerer while a sensor waits deferred in it: the restarted triggerer picks the trigger
    up again (once the old one's heartbeat is 30 s stale), the sensor completes on its first try, the task after
    it runs once, and nothing of the old triggerer is left."""
    stack = gitops_fault_stack
    run_id = stack.trigger_dag("fault-deferred")

    def sensor() -> dict:
        return {t["task_id"]: t for t in stack.task_instances("fault-deferred", run_id)}["wait"]

    deadline = time.monotonic() + BOUND
    while sensor()["state"] != "deferred" or not (sensor().get("trigger") or {}).get("triggerer_id"):
        assert time.monotonic() < deadline, "the sensor never deferred to a triggerer"
        time.sleep(0.3)
    before = sensor()["trigger"]["triggerer_id"]
    time.sleep(2)
    killed, since = kill(program_pid(stack.state_dir, "airflow-triggerer")), time.monotonic()
    holders = set()
    while (now := sensor())["state"] == "deferred":
        holder = (now.get("trigger") or {}).get("triggerer_id")
        if holder not in holders | {before, None}:
            record("kill -9 airflow-triggerer while a task is deferred (kill to the trigger taken over)", since, 1)
        holders.add(holder)
        assert time.monotonic() - since < BOUND, "the sensor stayed deferred"
        time.sleep(0.5)
    assert holders - {before, None}, f"no other triggerer took the trigger over: {holders}"
    assert stack.wait_run("fault-deferred", run_id, timeout=BOUND) == "success"
    tries = {t["task_id"]: t["try_number"] for t in stack.task_instances("fault-deferred", run_id)}
    assert tries == {"wait": 1, "after": 1}, "nothing failed and nothing ran twice"
    record("kill -9 airflow-triggerer while a task is deferred (kill to the run's success; the sensor is due 45 s "
           "after the trigger)", since, 1)
    assert wait_gone(killed) == set(), "processes of the killed triggerer outlived it"
    again = stack.trigger_dag("fault-deferred")
    assert stack.wait_run("fault-deferred", again, timeout=BOUND) == "success"
