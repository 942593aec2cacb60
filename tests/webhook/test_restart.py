"""A webhook killed mid-deploy leaves a consistent state, and the history survives restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stacktest.gitrepo import good_dag
from tests.webhook.conftest import KEY, signed
from webhook.deploy.history import History
from webhook.deploy.state import Database

PROJECT = Path(__file__).resolve().parents[2]
# Importing this DAG blocks while the marker file exists: a deploy we can catch in its validate stage.
SLOW_DAG = '''import os, time
MARKER = "MARKER_PATH"
deadline = time.monotonic() + 30
while os.path.exists(MARKER) and time.monotonic() < deadline:
    time.sleep(0.05)
''' + good_dag("slow")
RUN_ONCE = """
from webhook import create_app, settings
from webhook.deploy.runner import Runner
app = create_app({"start_runner": False})
Runner(settings.get(app)).run_pending()
"""


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)
    return value


@pytest.fixture
def deploy_process(tmp_path, origin):
    """Start `run_pending` in a separate process (a gunicorn worker's runner), to be killed by the test."""
    procs = []

    def start() -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(PROJECT), "STACK_STATE_DIR": str(tmp_path / "state"),
               "DEPLOY_REPO_URL": origin.url, "WEBHOOK_KEY": KEY}
        proc = subprocess.Popen([sys.executable, "-c", RUN_ONCE], env=env, cwd=PROJECT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_restart_in_the_middle_of_a_deploy_is_recovered(tmp_path, client, runner, origin, deploy_process,
                                                          make_app):
    first = origin.head()
    client.post("/webhook", json={"commit": first}, headers=signed(first))
    runner.run_pending()

    marker = tmp_path / "hold-validation"
    marker.touch()
    slow = origin.commit({"dags/slow.py": SLOW_DAG.replace("MARKER_PATH", str(marker))}, "slow to import")
    queued = client.post("/webhook", json={"commit": slow}, headers=signed(slow)).json
    proc = deploy_process()
    history = History(Database(tmp_path / "state" / "deploy"))
    wait_for(lambda: (history.get(queued["deploy_id"]) or {}).get("stage") == "validate")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    marker.unlink()

    # Nothing was published and the record still says "running": the state an operator would find.
    assert runner.ctx.mirror.deployed() == first
    assert history.get(queued["deploy_id"])["state"] == "running"

    restarted = make_app()  # a new worker: its runner recovers before doing anything else
    runner.recover()
    runner.run_pending()
    interrupted = history.get(queued["deploy_id"])
    assert interrupted["state"] == "interrupted"
    assert "during stage validate" in interrupted["reason"]
    resumed = [d for d in history.deploys().values() if d.get("resumes") == queued["deploy_id"]]
    assert len(resumed) == 1 and resumed[0]["state"] == "succeeded"
    # Airflow is asked to parse every DAG file again: the killed deploy may have got further than its record says
    assert resumed[0]["reparse"] is None
    assert runner.ctx.mirror.deployed() == slow
    work = tmp_path / "state" / "deploy" / "work"
    assert not work.exists() or list(work.iterdir()) == []  # no half-built tree left behind
    status = restarted.test_client().get("/?format=json").json
    assert status["deployed_commit"] == slow


def test_a_restart_after_publishing_confirms_instead_of_redeploying(airflow_app, airflow_runner, airflow,
                                                                     origin):
    """Killed between publish and Airflow's confirmation: the resumed deploy only confirms."""
    commit = origin.commit({"dags/second.py": good_dag("second")})
    history = airflow_runner.ctx.history
    record = history.append({"id": "20261121T000000-abc123", "kind": "deploy", "commit": commit,
                             "source": "webhook", "state": "running", "stage": "visible",
                             "requested_at": time.time()})
    airflow_runner.ctx.mirror.fetch()
    airflow_runner.ctx.mirror.publish(commit, airflow_runner.ctx.mirror.deployed())
    airflow_runner.recover()
    airflow_runner.run_pending()
    assert history.get(record["id"])["state"] == "interrupted"
    resumed = [d for d in history.deploys().values() if d.get("resumes") == record["id"]][0]
    assert resumed["state"] == "succeeded", resumed
    assert airflow.dags["second"]["bundle_version"] == commit


def test_a_restart_during_an_automatic_rollback_finishes_the_rollback(runner, origin, client):
    first = origin.head()
    client.post("/webhook", json={"commit": first}, headers=signed(first))
    runner.run_pending()
    bad = origin.commit({"dags/bad.py": good_dag("bad")})
    runner.ctx.mirror.fetch()
    runner.ctx.mirror.publish(bad, first)  # it had published, then started rolling back, then died
    history = runner.ctx.history
    history.append({"id": "20261121T000001-def456", "kind": "deploy", "commit": bad, "source": "webhook",
                    "state": "running", "stage": "rollback", "previous_commit": first})
    runner.recover()
    runner.run_pending()
    assert runner.ctx.mirror.deployed() == first


def test_history_survives_restarts(make_app, origin, runner):
    client = make_app().test_client()
    commit = origin.head()
    deploy_id = client.post("/webhook", json={"commit": commit}, headers=signed(commit)).json["deploy_id"]
    runner.run_pending()
    second = origin.commit({"dags/two.py": good_dag("two")})
    again = make_app().test_client()
    other = again.post("/webhook", json={"commit": second}, headers=signed(second)).json["deploy_id"]
    deploys = again.get("/?format=json").json["deploys"]
    assert [(d["id"], d["state"]) for d in deploys] == [(other, "queued"), (deploy_id, "succeeded")]
