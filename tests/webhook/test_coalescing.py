"""Many requests at once: every one is answered at once, and they collapse into at most two deploys."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from stacktest.gitrepo import good_dag
from tests.webhook.conftest import signed


def wait_idle(history, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while history.active():
        assert time.monotonic() < deadline, "deploys still queued or running"
        time.sleep(0.1)


def test_twenty_concurrent_requests_make_at_most_two_deploys(app, make_runner, origin):
    commits = [origin.commit({f"dags/d{i:02d}.py": good_dag(f"d{i:02d}")}, f"merge {i}") for i in range(20)]
    runner = make_runner(app)
    app.extensions["runner"] = runner
    runner.start()

    def post(commit: str):
        started = time.perf_counter()
        response = app.test_client().post("/webhook", json={"commit": commit}, headers=signed(commit))
        return response.status_code, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, commits))
    assert [status for status, _ in answers] == [202] * 20
    assert max(seconds for _, seconds in answers) < 1.0

    wait_idle(runner.ctx.history)
    records = list(runner.ctx.history.deploys().values())
    ran = [r for r in records if r["state"] != "superseded"]
    assert 1 <= len(ran) <= 2, [(r["commit"][:7], r["state"]) for r in records]
    assert all(r["state"] == "succeeded" for r in ran)
    # The newest commit wins, whatever order the requests arrived in.
    assert runner.ctx.mirror.deployed() == commits[-1]
    superseded = [r for r in records if r["state"] == "superseded"]
    assert len(superseded) == 20 - len(ran)
    assert all(r["superseded_by"] in {x["id"] for x in ran} for r in superseded)


def test_older_request_arriving_last_does_not_win(app, runner, origin):
    old = origin.head()
    new = origin.commit({"dags/new.py": good_dag("new")})
    client = app.test_client()
    client.post("/webhook", json={"commit": new}, headers=signed(new))
    client.post("/webhook", json={"commit": old}, headers=signed(old))
    done = runner.run_pending()
    assert [r["commit"] for r in done] == [new]
    assert runner.ctx.mirror.deployed() == new
