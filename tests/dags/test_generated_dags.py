"""The DAG factory's example configs and dags/hello_world.py run green offline with dag.test() (what
`./stack airflow dags test <id>` runs), against a fresh SQLite Airflow home."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stacktest.airflow_home import sqlite_airflow_env

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
DAG_IDS = ("factory-hello", "factory-python-report", "factory-daily-checks", "hello_world_1", "hello_world_3")

pytestmark = pytest.mark.timeout(600)

# One process for every run: parse the folder, then dag.test() each DAG and print its task states.
RUN = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[1])
result = {"import_errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()}, "runs": {}}
for dag_id in sys.argv[2:]:
    run = bag.dags[dag_id].test()
    result["runs"][dag_id] = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps(result))
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    env = sqlite_airflow_env(root, ("dagutils", "configs", "hello_world.py"), AIRFLOW_VAR_DAG_NUMBER="3")
    dags = root / "dags"
    result = subprocess.run([sys.executable, "-c", RUN, str(dags), *DAG_IDS], env=env, capture_output=True,
                            text=True, timeout=500)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(lines[0].removeprefix("RESULT "))


def test_nothing_fails_to_import(runs):
    assert runs["import_errors"] == {}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_task_succeeds(runs, dag_id):
    states = runs["runs"][dag_id]
    assert states and set(states.values()) == {"success"}, states
