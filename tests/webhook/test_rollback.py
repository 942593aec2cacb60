"""Rollback to an earlier deploy: the authenticated endpoint, the CLI, and the pin that keeps it."""

from __future__ import annotations

import json

import pytest

from stacktest.gitrepo import good_dag
from tests.webhook.conftest import KEY, signed
from webhook import rollback


@pytest.fixture
def two_deploys(client, runner, origin):
    """Two successful deploys; returns (first commit, second commit, second deploy id)."""
    first = origin.head()
    client.post("/webhook", json={"commit": first}, headers=signed(first))
    runner.run_pending()
    second = origin.commit({"dags/second.py": good_dag("second")}, "Add second")
    deploy_id = client.post("/webhook", json={"commit": second}, headers=signed(second)).json["deploy_id"]
    runner.run_pending()
    assert runner.ctx.mirror.deployed() == second
    return first, second, deploy_id


def test_rollback_endpoint_needs_the_key_and_signature(client, two_deploys):
    assert client.post("/rollback", json={"to": "previous"}).status_code == 401
    wrong = signed("previous", key="some-other-key-0123456789", endpoint="rollback")
    assert client.post("/rollback", json={"to": "previous"}, headers=wrong).status_code == 403
    # A signature made for /webhook's commit cannot be reused to roll back.
    first, _, _ = two_deploys
    assert client.post("/rollback", json={"to": "previous"}, headers=signed(first)).status_code == 403


def test_rollback_endpoint_to_previous(client, runner, two_deploys):
    first, second, _ = two_deploys
    response = client.post("/rollback", json={"to": "previous"}, headers=signed("previous", endpoint="rollback"))
    assert response.status_code == 202
    runner.run_pending()
    record = client.get(response.json["status_url"]).json
    assert record["kind"] == "rollback" and record["state"] == "succeeded"
    assert record["previous_commit"] == second
    assert runner.ctx.mirror.deployed() == first


def test_rollback_to_a_deploy_id_and_to_an_unknown_target(client, runner, two_deploys):
    _, second, second_id = two_deploys
    runner.ctx.pin.clear()
    response = client.post("/rollback", json={"to": second_id}, headers=signed(second_id, endpoint="rollback"))
    assert response.status_code == 202
    unknown = "20200101T000000-000000"
    refused = client.post("/rollback", json={"to": unknown}, headers=signed(unknown, endpoint="rollback"))
    assert refused.status_code == 409
    hostile = "; rm -rf /"
    refused = client.post("/rollback", json={"to": hostile}, headers=signed(hostile, endpoint="rollback"))
    assert refused.status_code == 409


def test_the_poll_does_not_undo_a_rollback_until_origin_moves(client, runner, origin, two_deploys):
    first, second, _ = two_deploys
    client.post("/rollback", json={"to": "previous"}, headers=signed("previous", endpoint="rollback"))
    runner.run_pending()
    assert runner.poll() is None
    assert runner.ctx.mirror.deployed() == first
    third = origin.commit({"dags/third.py": good_dag("third")}, "fix forward")
    assert runner.poll()["commit"] == third
    runner.run_pending()
    assert runner.ctx.mirror.deployed() == third


def test_cli_lists_and_rolls_back(tmp_path, origin, two_deploys, monkeypatch, capsys, runner):
    first, second, _ = two_deploys
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    monkeypatch.setenv("WEBHOOK_KEY", KEY)
    assert rollback.main(["--list"]) == 0
    assert second[:12] in capsys.readouterr().out
    assert rollback.main(["--to", first[:10], "--reason", "bad numbers in the report"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["state"] == "succeeded" and result["commit"] == first
    assert runner.ctx.mirror.deployed() == first
    record = runner.ctx.history.get(result["id"])
    assert record["source"] == "cli" and record["operator_reason"] == "bad numbers in the report"


def test_cli_forces_origin_tip_after_an_approved_history_rewrite(tmp_path, origin, two_deploys, monkeypatch,
                                                                 capsys, client, runner):
    rewritten = origin.rewrite({"dags/other.py": good_dag("other")}, "rewritten on purpose")
    client.post("/webhook", json={"commit": rewritten}, headers=signed(rewritten))
    assert runner.run_pending()[0]["state"] == "rejected"
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    assert rollback.main(["--origin-tip"]) == 0
    assert runner.ctx.mirror.deployed() == rewritten


def test_cli_refuses_an_unknown_target(tmp_path, origin, two_deploys, monkeypatch, capsys):
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    assert rollback.main(["--to", "deadbeefdeadbeef"]) == 1
    assert "not in the mirror" in capsys.readouterr().err


def test_a_rollback_before_anything_was_deployed_is_409_not_500(client, caplog):
    # found by the fuzz test: the mirror does not exist yet
    response = client.post("/rollback", json={"to": "previous"}, headers=signed("previous", endpoint="rollback"))
    assert response.status_code == 409
    assert response.json["error"] == "rollback target not available"
    assert "nothing has been deployed yet" in caplog.text
