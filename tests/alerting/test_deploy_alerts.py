"""A failed or rolled-back deploy is one Slack message, from the deploy webhook's own path (webhook/deploy/notify.py),
not from Prometheus: the webhook knows the reason the moment it happens (documentation/monitoring.md, "Alerts").

The real deploy pipeline runs against a real origin repository and the fake Airflow API of the webhook tests.
"""

from __future__ import annotations

import json
import time

from stacktest.airflow_home import slack_connection
from stacktest.gitrepo import good_dag
from tests.webhook.conftest import signed


def deploy(app, runner, commit: str) -> dict:
    client = app.test_client()
    response = client.post("/webhook", json={"commit": commit}, headers=signed(commit))
    assert response.status_code == 202
    runner.run_pending()
    return client.get(response.json["status_url"]).json


def messages_about(slack, commit: str, settle: float = 2.0) -> list[dict]:
    """The Slack messages naming this commit, once the webhook's background sender has had its chance."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not [m for m in slack.snapshot() if commit[:12] in json.dumps(m)]:
        time.sleep(0.1)
    time.sleep(settle)  # a second message would come right after the first
    return [m for m in slack.snapshot() if commit[:12] in json.dumps(m)]


def test_a_deploy_rolled_back_by_airflow_is_one_message_with_the_reason(airflow_app, airflow_runner, origin,
                                                                        fake_slack, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", slack_connection(fake_slack.url))
    # valid for the validator, broken inside Airflow (the fake Airflow's marker): import errors rise
    commit = origin.commit({"dags/fragile.py": good_dag("fragile") + "# FAILS_IN_AIRFLOW\n"}, "fragile (#7)")
    assert deploy(airflow_app, airflow_runner, commit)["state"] == "rolled_back"
    [message] = messages_about(fake_slack, commit)
    assert message["text"].startswith(f":warning: *Deploy rolled back automatically: {commit[:12]}*")
    assert "import errors rose from 0 to 1" in message["text"]


def test_a_failed_deploy_is_one_message_with_the_reason(make_app, make_runner, origin, fake_slack, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", slack_connection(fake_slack.url))
    app = make_app()
    runner = make_runner(app)
    assert deploy(app, runner, origin.head())["state"] == "succeeded"
    commit = origin.commit({"dags/late.py": good_dag("late")}, "late (#8)")
    away = origin.bare.with_name("origin-away.git")
    origin.bare.rename(away)  # the origin cannot be fetched
    try:
        assert deploy(app, runner, commit)["state"] == "failed"
    finally:
        away.rename(origin.bare)
    [message] = messages_about(fake_slack, commit)
    assert message["text"].startswith(f":red_circle: *Deploy failed: {commit[:12]}*")
    assert "fetch from origin failed" in message["text"]
