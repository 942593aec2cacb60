"""The deploy pipeline against real git repositories: what gets published, what is refused, and why."""

from __future__ import annotations

import pytest

from stacktest.gitrepo import BROKEN_DAG, CYCLE_DAG, NO_TAGS_DAG, good_dag
from tests.webhook.conftest import read_status, signed


def deploy(client, runner, commit: str) -> dict:
    """POST like the Action, run the queue, return the deploy's whole final record (a signed status read)."""
    response = client.post("/webhook", json={"commit": commit}, headers=signed(commit))
    assert response.status_code == 202
    runner.run_pending()
    return read_status(client, response.json["deploy_id"])


def test_a_commit_on_the_branch_is_published(client, runner, origin):
    record = deploy(client, runner, origin.head())
    assert record["state"] == "succeeded", record
    assert runner.ctx.mirror.deployed() == origin.head()
    assert record["dag_ids"] == ["hello"]
    assert record["subject"] == "Initial DAGs (#1)" and record["pr"] == 1


def test_a_new_commit_fast_forwards(client, runner, origin):
    deploy(client, runner, origin.head())
    second = origin.commit({"dags/second.py": good_dag("second")}, "Add second DAG")
    record = deploy(client, runner, second)
    assert record["state"] == "succeeded"
    assert record["previous_commit"] != second
    assert record["restart_required"] is False
    assert runner.ctx.mirror.deployed() == second


def test_a_rewritten_history_is_refused(client, runner, origin):
    deploy(client, runner, origin.head())
    second = origin.commit({"dags/second.py": good_dag("second")}, "Add second DAG")
    deploy(client, runner, second)
    rewritten = origin.rewrite({"dags/third.py": good_dag("third")}, "force-pushed instead")
    record = deploy(client, runner, rewritten)
    assert record["state"] == "rejected"
    assert "not a fast-forward" in record["reason"]
    assert runner.ctx.mirror.deployed() == second


def test_a_commit_that_is_not_on_the_branch_is_refused(client, runner, origin):
    deploy(client, runner, origin.head())
    side = origin.side_commit({"dags/side.py": good_dag("side")})
    record = deploy(client, runner, side)
    assert record["state"] == "rejected"
    assert "not on branch production" in record["reason"]
    unknown = deploy(client, runner, "b" * 40)
    assert unknown["state"] == "rejected"


@pytest.mark.parametrize(("files", "kind"), [
    ({"dags/broken.py": BROKEN_DAG}, "import_error"),
    ({"dags/cycle.py": CYCLE_DAG.format(dag_id="cycle")}, "cycle"),
    ({"dags/copy.py": good_dag("hello", marker="copy")}, "duplicate_dag_id"),
    ({"dags/untagged.py": NO_TAGS_DAG.format(dag_id="untagged", marker="x"),
      "deploy-policy.yaml": "version: 1\nrules:\n  tags: block\n"}, "integrity"),
    ({"deploy-policy.yaml": "version: 1\nrules:\n  tags: mandatory\n"}, "policy"),
])
def test_validation_rejects_and_nothing_changes(client, runner, origin, files, kind):
    good = origin.head()
    deploy(client, runner, good)
    bad = origin.commit(files, f"introduce a {kind}")
    record = deploy(client, runner, bad)
    assert record["state"] == "rejected", record
    assert record["problems"][0]["kind"] == kind
    assert kind in record["reason"]
    assert runner.ctx.mirror.deployed() == good


def test_a_rule_the_policy_sets_to_warn_deploys_with_warnings(client, runner, origin):
    deploy(client, runner, origin.head())
    commit = origin.commit({"dags/untagged.py": NO_TAGS_DAG.format(dag_id="untagged", marker="x"),
                            "deploy-policy.yaml": "version: 1\nrules:\n  tags: warn\n  owner: block\n"},
                           "a DAG without tags")
    record = deploy(client, runner, commit)
    assert record["state"] == "succeeded", record
    assert record["warnings"] == ["untagged.py: DAG untagged has no tags (policy: tags: warn)"]
    # the policy takes effect with the commit: no stack restart
    assert record["restart_required"] is False and record["changed_outside"] == []
    assert runner.ctx.mirror.deployed() == commit


def test_a_bad_policy_names_its_file_line_and_field(client, runner, origin):
    deploy(client, runner, origin.head())
    record = deploy(client, runner, origin.commit({"deploy-policy.yaml": "rules:\n  owner: sometimes\n"}))
    assert record["state"] == "rejected"
    assert record["reason"] == "1 DAG problem(s); first: policy in deploy-policy.yaml, line 2"
    assert record["detail"] == ("deploy-policy.yaml, line 2, rules.owner: must be off, warn or block, "
                                "got 'sometimes'")


def test_shared_dag_code_is_validated_from_the_new_commit(client, runner, origin):
    """A DAG importing dagutils must see the dagutils of the commit being deployed."""
    uses_shared = "from dagutils.team import OWNER  # noqa: F401\n" + good_dag("shared")
    origin.commit({"dags/dagutils/__init__.py": "", "dags/dagutils/team.py": "OWNER = 'data'\n",
                   "dags/shared.py": uses_shared}, "shared code")
    assert deploy(client, runner, origin.head())["state"] == "succeeded"
    origin.commit({"dags/dagutils/team.py": "RENAMED = 'data'\n"}, "break the shared code")
    record = deploy(client, runner, origin.head())
    assert record["state"] == "rejected"
    assert "OWNER" in record["detail"]


def test_changes_outside_dags_are_reported_as_restart_required(client, runner, origin, app):
    deploy(client, runner, origin.head())
    runner.recover()  # records the baseline the running stack started from
    commit = origin.commit({"docker-compose.yaml": "services: {}\n", "dags/more.py": good_dag("more")},
                           "compose change")
    record = deploy(client, runner, commit)
    assert record["state"] == "succeeded"
    assert record["restart_required"] is True
    assert record["changed_outside"] == ["docker-compose.yaml"]
    status = client.get("/?format=json").json["restart"]
    assert status == {"required": True, "paths": ["docker-compose.yaml"], "since": status["since"]}


def test_redelivery_of_the_deployed_commit_is_skipped(client, runner, origin):
    deploy(client, runner, origin.head())
    again = deploy(client, runner, origin.head())
    assert again["state"] == "skipped"
    assert again["reason"] == "already deployed"


def test_an_older_commit_is_skipped_not_rolled_back(client, runner, origin):
    first = origin.head()
    deploy(client, runner, first)
    second = origin.commit({"dags/second.py": good_dag("second")})
    deploy(client, runner, second)
    record = deploy(client, runner, first)
    assert record["state"] == "skipped"
    assert runner.ctx.mirror.deployed() == second


def test_an_unreachable_origin_fails_cleanly(client, runner, origin, make_app, runners):
    deploy(client, runner, origin.head())
    deployed = runner.ctx.mirror.deployed()
    origin.bare.rename(origin.bare.with_name("moved.git"))
    record = deploy(client, runner, "c" * 40)
    assert record["state"] == "failed"
    assert "fetch from origin failed" in record["reason"]
    assert record["retryable"] is True
    assert runner.ctx.mirror.deployed() == deployed
