"""GitOps deploys through the running native stack, driven only through HAProxy and the Action's script.

Needs from the `native_stack` fixture (the lead wires these into NativeStack.start):
  - DEPLOY_REPO_URL in .env: a local path for a bare origin (created here if missing), e.g. <state>/origin.git
  - the "gitops" GitDagBundle tracking <state>/deploy/mirror.git, branch production, subdir dags
  - WEBHOOK_KEY in .settings (development key, generated into secrets.env)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from stacktest.deploys import StackOrigin, dag_version, status, trigger
from stacktest.gitrepo import BROKEN_DAG, git, good_dag
from stacktest.native import NativeStack, new_state_dir
from webhook.auth import signed_headers

pytestmark = pytest.mark.integration

# A task that runs long enough for a deploy to land in the middle of it, and says which code it is.
SLOW_DAG = '''"""Deploy test: a run in progress must finish on the code it started with."""
import time
from datetime import timedelta

from airflow.sdk import dag, task


@dag(dag_id="gitops_slow", schedule=None, tags=["test"], default_args={"owner": "data", "retries": 0},
     dagrun_timeout=timedelta(minutes=5))
def build():
    @task
    def work():
        time.sleep(8)
        print("CODE_VERSION=VERSION_MARKER")
        return "VERSION_MARKER"

    work()


build()
'''


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory):
    """A stack of its own in GitOps mode: Airflow reads the webhook's mirror of a local bare origin."""
    state_dir = new_state_dir()
    bare = state_dir / "origin.git"
    seed = StackOrigin(bare, tmp_path_factory.mktemp("seed"))
    seed.commit({"dags/gitops_hello.py": good_dag("gitops_hello")}, "Initial DAGs (#1)")
    stack = NativeStack.start(state_dir, {"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(bare)})
    yield stack
    stack.stop()
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack_origin(native_stack, tmp_path_factory) -> StackOrigin:
    url = native_stack.env.get("DEPLOY_REPO_URL") or native_stack.settings.get("DEPLOY_REPO_URL", "")
    if not url.startswith("/"):
        pytest.fail("the native_stack fixture must set DEPLOY_REPO_URL to a local bare repository path "
                    "(see the module docstring)")
    origin = StackOrigin(Path(url), tmp_path_factory.mktemp("clone"))
    if not origin.head_exists():
        origin.commit({"dags/gitops_hello.py": good_dag("gitops_hello")}, "Initial DAGs (#1)")
    return origin


def deployed(native_stack, stack_origin) -> str:
    """Make sure the origin's tip is deployed (first test, or after a failed one); return it."""
    head = stack_origin.head()
    if status(native_stack)["deployed_commit"] != head:
        result = trigger(native_stack, head)
        assert result.returncode == 0, result.stderr
    return head


def test_a_merged_commit_is_deployed_and_runs(native_stack, stack_origin):
    deployed(native_stack, stack_origin)
    probe = f"gitops_probe_{uuid.uuid4().hex[:6]}"
    commit = stack_origin.commit({f"dags/{probe}.py": good_dag(probe, marker="probe")}, "Add probe (#2)")
    started = time.monotonic()
    result = trigger(native_stack, commit)
    assert result.returncode == 0, result.stderr
    assert dag_version(native_stack, probe) == commit
    elapsed = time.monotonic() - started
    assert elapsed < 30, f"deploy took {elapsed:.1f}s"
    run_id = native_stack.trigger_dag(probe)
    assert native_stack.wait_run(probe, run_id) == "success"
    run = native_stack.api("GET", f"/dags/{probe}/dagRuns/{run_id}").json()
    assert run.get("bundle_version") == commit
    page = status(native_stack)
    assert page["deployed_commit"] == commit
    assert page["deploys"][0]["state"] == "succeeded"


def test_a_broken_commit_is_rejected_and_the_old_dags_keep_running(native_stack, stack_origin):
    good = deployed(native_stack, stack_origin)
    bad = stack_origin.commit({"dags/broken.py": BROKEN_DAG}, "Broken DAG (#3)")
    result = trigger(native_stack, bad)
    assert result.returncode == 1
    assert "rejected" in result.stderr and "module_that_does_not_exist" in result.stderr
    assert status(native_stack)["deployed_commit"] == good
    assert dag_version(native_stack, "gitops_hello") == good
    # the team hears about it in Slack (the stack's fake), with the reason
    slack = requests.get(f"http://127.0.0.1:{native_stack.settings['FAKE_SLACK_PORT']}/messages", timeout=10)
    about_it = [m for m in slack.json() if bad[:12] in json.dumps(m)]
    assert about_it and "module_that_does_not_exist" in json.dumps(about_it[-1])
    run_id = native_stack.trigger_dag("gitops_hello")
    assert native_stack.wait_run("gitops_hello", run_id) == "success"
    # Fix forward so the next tests start from a good tip.
    stack_origin.commit({"dags/broken.py": None}, "Remove the broken DAG (#4)")


def test_a_force_push_is_refused(native_stack, stack_origin):
    deployed(native_stack, stack_origin)
    stack_origin.commit({"dags/extra.py": good_dag("gitops_extra")}, "extra")
    ahead = deployed(native_stack, stack_origin)
    rewritten = stack_origin.rewrite({"dags/other.py": good_dag("gitops_other")}, "rewritten history")
    result = trigger(native_stack, rewritten)
    assert result.returncode == 1
    assert "not a fast-forward" in result.stderr
    assert status(native_stack)["deployed_commit"] == ahead
    # Put origin back on the deployed history for the following tests.
    git("push", "--quiet", "--force", "origin", f"{ahead}:production", cwd=stack_origin.work)
    git("reset", "--quiet", "--hard", ahead, cwd=stack_origin.work)


def test_a_replayed_request_is_refused(native_stack, stack_origin):
    commit = deployed(native_stack, stack_origin)
    key = native_stack.settings["WEBHOOK_KEY"]
    headers = signed_headers(key, "deploy", commit, f"replay-{uuid.uuid4().hex}", int(time.time()))
    url = native_stack.url("webhook") + "/webhook"
    first = requests.post(url, json={"commit": commit}, headers=headers, timeout=10)
    again = requests.post(url, json={"commit": commit}, headers=headers, timeout=10)
    assert first.status_code == 202
    assert again.status_code == 403 and again.json()["error"] == "forbidden"


def test_a_captured_request_cannot_be_pointed_at_a_rollback(native_stack, stack_origin):
    # the finding: a signature captured from a deploy of C was accepted by POST /rollback {"to": C}
    commit = deployed(native_stack, stack_origin)
    captured = signed_headers(native_stack.settings["WEBHOOK_KEY"], "deploy", commit,
                              f"captured-{uuid.uuid4().hex}", int(time.time()))
    base = native_stack.url("webhook")
    assert requests.post(base + "/webhook", json={"commit": commit}, headers=captured, timeout=10).status_code == 202
    for headers in (captured, {**captured, "Webhook-Id": f"fresh-{uuid.uuid4().hex}"}):
        refused = requests.post(base + "/rollback", json={"to": commit}, headers=headers, timeout=10)
        assert refused.status_code == 403
    assert status(native_stack)["deploys"][0]["kind"] != "rollback"


def test_twenty_concurrent_requests_cause_at_most_two_deploys(native_stack, stack_origin):
    deployed(native_stack, stack_origin)
    commits = [stack_origin.commit({"dags/burst.py": good_dag("gitops_burst", marker=str(i))}, f"burst {i}")
               for i in range(20)]
    key = native_stack.settings["WEBHOOK_KEY"]
    url = native_stack.url("webhook") + "/webhook"

    def post(commit: str) -> tuple[int, float]:
        headers = signed_headers(key, "deploy", commit, f"burst-{uuid.uuid4().hex}", int(time.time()))
        started = time.perf_counter()
        response = requests.post(url, json={"commit": commit}, timeout=10, headers=headers)
        return response.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, commits))
    assert [code for code, _ in answers] == [202] * 20
    deadline = time.monotonic() + 120
    while status(native_stack)["deployed_commit"] != commits[-1] or any(
            d["state"] in ("queued", "running") for d in status(native_stack)["deploys"]):
        assert time.monotonic() < deadline, "the burst never settled"
        time.sleep(0.5)
    burst = [d for d in status(native_stack)["deploys"] if d["commit"] in commits]
    ran = [d for d in burst if d["state"] != "superseded"]
    assert 1 <= len(ran) <= 2, [(d["commit"][:7], d["state"]) for d in burst]


def test_a_run_in_progress_finishes_on_its_old_code(native_stack, stack_origin):
    deployed(native_stack, stack_origin)
    old = stack_origin.commit({"dags/gitops_slow.py": SLOW_DAG.replace("VERSION_MARKER", "old")}, "slow v1")
    assert trigger(native_stack, old).returncode == 0
    run_id = native_stack.trigger_dag("gitops_slow")
    deadline = time.monotonic() + 60
    while native_stack.task_instances("gitops_slow", run_id)[0]["state"] != "running":
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.3)
    new = stack_origin.commit({"dags/gitops_slow.py": SLOW_DAG.replace("VERSION_MARKER", "new")}, "slow v2")
    assert trigger(native_stack, new).returncode == 0
    assert dag_version(native_stack, "gitops_slow") == new
    assert native_stack.wait_run("gitops_slow", run_id) == "success"
    log = native_stack.api("GET", f"/dags/gitops_slow/dagRuns/{run_id}/taskInstances/work/logs/1",
                           headers={"Accept": "application/json"}).text
    assert "CODE_VERSION=old" in log and "CODE_VERSION=new" not in log


def test_an_unreachable_origin_fails_cleanly_and_the_old_code_keeps_running(native_stack, stack_origin):
    good = deployed(native_stack, stack_origin)
    commit = stack_origin.commit({"dags/late.py": good_dag("gitops_late")}, "late")
    away = stack_origin.bare.with_name("origin-away.git")
    stack_origin.bare.rename(away)
    try:
        result = trigger(native_stack, commit, timeout=60)
        assert result.returncode == 1
        assert "fetch from origin failed" in result.stderr
        assert status(native_stack)["deployed_commit"] == good
        run_id = native_stack.trigger_dag("gitops_hello")
        assert native_stack.wait_run("gitops_hello", run_id) == "success"
    finally:
        away.rename(stack_origin.bare)


def test_status_metrics_and_history_are_served_through_haproxy(native_stack, stack_origin):
    head = deployed(native_stack, stack_origin)
    metrics = requests.get(native_stack.url("webhook") + "/metrics", timeout=10)
    assert metrics.status_code == 200
    assert 'webhook_deploys_total{kind="deploy",result="succeeded"}' in metrics.text
    page = requests.get(native_stack.url("webhook") + "/", timeout=10)
    assert "Deployed commit" in page.text
    # the history's export for people (documentation/deploys.md): one JSON line per deploy
    export = subprocess.run([sys.executable, "-m", "webhook.deploy.history", "--deploy-dir",
                             str(Path(native_stack.state_dir) / "deploy")], capture_output=True, text=True, check=True)
    records = [json.loads(line) for line in export.stdout.splitlines()]
    assert any(r["state"] == "succeeded" and r["commit"] == head for r in records), records[-3:]


def test_a_webhook_restart_in_the_middle_of_a_deploy_leaves_a_consistent_state(native_stack, stack_origin):
    good = deployed(native_stack, stack_origin)
    commit = stack_origin.commit({"dags/gitops_restart.py": good_dag("gitops_restart")}, "restart (#9)")
    key = native_stack.settings["WEBHOOK_KEY"]
    headers = {**signed_headers(key, "deploy", commit, str(uuid.uuid4()), int(time.time())),
               "Content-Type": "application/json"}
    answer = requests.post(native_stack.url("webhook") + "/webhook", headers=headers,
                           data=json.dumps({"commit": commit}), timeout=10)
    assert answer.status_code == 202
    restarted = native_stack.run("restart", "webhook")
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    # after the restart the deploy is resumed (or redone) and ends in one consistent state
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            page = status(native_stack)
        except (requests.RequestException, ValueError):
            time.sleep(1)
            continue
        if page["deployed_commit"] == commit and not any(d["state"] in ("queued", "running")
                                                         for d in page["deploys"]):
            break
        time.sleep(1)
    assert page["deployed_commit"] == commit, page["deploys"][:3]
    assert dag_version(native_stack, "gitops_restart") == commit
    # a DAG whose file did not change is not parsed again (documentation/deploys.md rule 5): it may report an
    # earlier commit, but one whose code is the deployed commit's
    hello = dag_version(native_stack, "gitops_hello")
    assert hello is not None
    assert (git("show", f"{hello}:dags/gitops_hello.py", cwd=stack_origin.work)
            == git("show", f"{commit}:dags/gitops_hello.py", cwd=stack_origin.work)), (hello, good, commit)
