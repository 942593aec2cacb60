"""Five of Airflow's own example DAGs, copied unchanged from the installed package into a DAG repository
without a deploy-policy.yaml, deploy through the webhook under the default policy: with warnings, never
refused. A policy that blocks a rule they break refuses the next commit, naming the rule."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import airflow
import pytest
import requests

from stacktest.deploys import StackOrigin, dag_version, status, trigger
from stacktest.gitrepo import good_dag
from stacktest.native import NativeStack, new_state_dir

pytestmark = pytest.mark.integration

AIRFLOW = Path(airflow.__file__).parent
EXAMPLES = {
    "example_bash_operator": AIRFLOW / "providers/standard/example_dags/example_bash_operator.py",
    "tutorial": AIRFLOW / "example_dags/tutorial.py",
    "example_python_operator": AIRFLOW / "providers/standard/example_dags/example_python_operator.py",
    "example_branch_operator": AIRFLOW / "providers/standard/example_dags/example_branch_operator.py",
    "example_xcom": AIRFLOW / "example_dags/example_xcom.py",
}


@pytest.fixture(scope="module")
def native_stack(tmp_path_factory):
    state_dir = new_state_dir()
    origin = StackOrigin(state_dir / "origin.git", tmp_path_factory.mktemp("seed"))
    origin.commit({"dags/gitops_hello.py": good_dag("gitops_hello")}, "Initial DAGs (#1)")
    stack = NativeStack.start(state_dir, {"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(origin.bare)})
    yield stack
    stack.stop()
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack_origin(native_stack, tmp_path_factory) -> StackOrigin:
    url = native_stack.env.get("DEPLOY_REPO_URL") or native_stack.settings["DEPLOY_REPO_URL"]
    origin = StackOrigin(Path(url), tmp_path_factory.mktemp("clone"))
    if status(native_stack)["deployed_commit"] != origin.head():
        assert trigger(native_stack, origin.head()).returncode == 0
    return origin


def slack_message(stack, commit: str, timeout: float = 30) -> dict:
    url = f"http://127.0.0.1:{stack.settings['FAKE_SLACK_PORT']}/messages"
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in requests.get(url, timeout=10).json() if commit[:12] in json.dumps(m)]
        if found or time.monotonic() > deadline:
            assert found, f"no Slack message about {commit[:12]} within {timeout:g}s"
            return found[-1]
        time.sleep(0.5)


def test_airflows_own_examples_deploy_unchanged_with_warnings(native_stack, stack_origin):
    files = {f"dags/{name}.py": path.read_text() for name, path in EXAMPLES.items()}
    commit = stack_origin.commit(files, "Airflow's example DAGs, unchanged (#2)")
    result = trigger(native_stack, commit)
    assert result.returncode == 0, result.stderr
    for dag_id in EXAMPLES:
        assert dag_version(native_stack, dag_id) == commit, dag_id
    [record] = [d for d in status(native_stack)["deploys"] if d["commit"] == commit and d["state"] != "skipped"]
    assert record["state"] == "succeeded"
    warnings = record["warnings"]
    # the rules Airflow's examples break (owner "airflow", no retries, no timeout) warn, on the status page
    assert "example_xcom.py: DAG example_xcom sets no retries (set default_args['retries']) " \
           "(policy: retries: warn)" in warnings
    assert any(w.startswith("tutorial.py: DAG tutorial has a task without an owner") for w in warnings)
    assert not any("example_bash_operator has no timeout" in w for w in warnings)  # it sets dagrun_timeout
    page = requests.get(native_stack.url("webhook") + "/", timeout=10).text
    assert "DAG example_xcom sets no retries" in page
    # and in Slack (posted in the background, after the result is recorded)
    assert "policy: retries: warn" in json.dumps(slack_message(native_stack, commit))


def test_a_policy_that_blocks_a_rule_they_break_refuses_the_next_commit(native_stack, stack_origin):
    deployed = status(native_stack)["deployed_commit"]
    commit = stack_origin.commit({"deploy-policy.yaml": "version: 1\nrules:\n  retries: block\n"},
                                 "Block DAGs without retries (#3)")
    result = trigger(native_stack, commit)
    assert result.returncode == 1
    assert "rejected" in result.stderr and "integrity" in result.stderr
    assert status(native_stack)["deployed_commit"] == deployed
