"""Each deploy's result goes to Slack through slackmessage, without Airflow (a local fake Slack here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webhook.deploy import notify

RECORD = {"id": "20261121T120000-abcdef", "kind": "deploy", "commit": "a" * 40, "state": "rejected",
          "subject": "Add the parking DAG", "author": "Ada Tester", "pr": 42,
          "reason": "1 DAG problem(s); first: cycle in parking.py: Cycle detected",
          "stages": {"fetch": 0.1, "validate": 0.25}}


@pytest.fixture
def slack(fake_slack, monkeypatch):
    conn = {"conn_type": "slackwebhook", "password": f"{fake_slack.url}/services/T0/B0/not-secret"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    return fake_slack


def test_a_rejected_deploy_is_posted_with_its_reason(slack):
    notify.announce(RECORD, wait=True)
    [posted] = slack.snapshot()
    text = posted["text"]
    assert "Deploy rejected: aaaaaaaaaaaa" in text
    assert "Cycle detected" in text and "#42" in text and "Ada Tester" in text
    assert "validate 0.25s" in text


def test_superseded_deploys_are_not_posted(slack):
    assert notify.announce({**RECORD, "state": "superseded"}, wait=True) is None
    assert slack.snapshot() == []


def test_no_slack_connection_is_logged_not_raised(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_SLACK", raising=False)
    caplog.set_level("INFO", logger="webhook")
    notify.announce({**RECORD, "state": "succeeded"}, wait=True)
    assert "event=slack_not_sent" in caplog.text


@pytest.mark.parametrize(("state", "level_emoji"), [("succeeded", ":white_check_mark:"),
                                                     ("failed", ":red_circle:"),
                                                     ("rolled_back", ":warning:")])
def test_levels_follow_the_result(slack, state, level_emoji):
    notify.announce({**RECORD, "state": state}, wait=True)
    assert slack.snapshot()[0]["text"].startswith(level_emoji)


def test_policy_warnings_are_in_the_message(slack):
    warnings = [f"dag{n}.py: DAG dag{n} has no tags (policy: tags: warn)" for n in range(7)]
    notify.announce({**RECORD, "state": "succeeded", "warnings": warnings}, wait=True)
    text = slack.snapshot()[0]["text"]
    assert "dag0.py: DAG dag0 has no tags (policy: tags: warn)" in text
    assert "dag5.py" not in text and "2 more on the status page" in text


def test_a_deploy_message_does_not_load_airflow(connect_env, fake_slack):
    """As the webhook's worker runs: its key and the `slack` connection from 1Password, then the message, and no
    module of Airflow imported (it cost about 70 MiB PSS in that worker; issue 13)."""
    code = ("import json, sys\n"
            "from webhook import infra_vault\n"
            "from webhook.deploy import notify\n"
            "assert infra_vault.get_secret(infra_vault.WEBHOOK_ITEM, 'password')\n"
            "assert notify._send(json.loads(sys.argv[1]))\n"
            "print(sorted(m for m in sys.modules if m.partition('.')[0] == 'airflow'))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(AIRFLOW__SECRETS__BACKEND="opconnect.backend.OnePasswordBackend",  # as docker-compose.yaml
               AIRFLOW__SECRETS__BACKEND_KWARGS='{"connections_prefix": "connections", "variables_prefix": '
                                               '"variables"}',
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    result = subprocess.run([sys.executable, "-c", code, json.dumps({**RECORD, "state": "succeeded"})], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    [posted] = fake_slack.snapshot()
    assert posted["text"].startswith(":white_check_mark: *Deploy deployed: aaaaaaaaaaaa*\n*Deploy:* 20261121T")
