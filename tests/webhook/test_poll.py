"""The fallback poll: a merge whose relay event was lost still deploys within one poll interval."""

from __future__ import annotations

import time

from stacktest.gitrepo import BROKEN_DAG, good_dag
from tests.webhook.conftest import signed


def test_a_lost_event_is_deployed_by_the_poll(runner, origin):
    record = runner.poll()
    assert record["source"] == "poll" and record["commit"] == origin.head()
    runner.run_pending()
    assert runner.ctx.mirror.deployed() == origin.head()
    assert runner.poll() is None  # nothing new


def test_a_rejected_commit_is_not_retried_every_minute(runner, origin):
    runner.poll()
    runner.run_pending()
    origin.commit({"dags/broken.py": BROKEN_DAG})
    runner.poll()
    assert runner.run_pending()[0]["state"] == "rejected"
    assert runner.poll() is None


def test_a_failed_fetch_is_retried_by_the_next_poll(runner, origin, client):
    commit = origin.head()
    moved = origin.bare.with_name("away.git")
    origin.bare.rename(moved)
    client.post("/webhook", json={"commit": commit}, headers=signed(commit))
    assert runner.run_pending() == []
    assert runner.poll() is None  # origin unreachable: logged, nothing queued
    moved.rename(origin.bare)
    assert runner.poll()["commit"] == commit
    runner.run_pending()
    assert runner.ctx.mirror.deployed() == commit


def test_the_runner_thread_polls_on_its_own(make_app, make_runner, origin):
    app = make_app(poll_interval=0.2)
    runner = make_runner(app)
    runner.start()
    new = origin.commit({"dags/late.py": good_dag("late")})
    deadline = time.monotonic() + 30
    while runner.ctx.mirror.deployed() != new:
        assert time.monotonic() < deadline, "the poll never deployed the new commit"
        time.sleep(0.1)
