"""airflow_local_settings.py: a DAG setting access_control is refused, naming the DAG, wherever DAGs are parsed
(the DAG processor and `airflow dags test` through DagBag, the deploy gate through validate_dags)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stacktest.gitrepo import good_dag

PROJECT = Path(__file__).resolve().parents[1]
RESTRICTED = good_dag("restricted").replace('tags=["test"],', 'tags=["test"], access_control={"Viewer": {"can_read"}},')
REFUSED = "DAG 'restricted' sets access_control, which this stack does not apply"


# the SDK's DAG imports it to read access_control; not ours to fix
@pytest.mark.filterwarnings("ignore:The airflow.security.permissions module is deprecated:UserWarning")
def test_the_dag_bag_refuses_access_control_with_a_sentence(tmp_path):
    (tmp_path / "restricted.py").write_text(RESTRICTED)
    (tmp_path / "fine.py").write_text(good_dag("fine"))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=tmp_path, bundle_path=tmp_path)
    assert sorted(bag.dags) == ["fine"]
    [(path, message)] = bag.import_errors.items()
    assert path.endswith("restricted.py")
    assert f"AirflowClusterPolicyViolation: {REFUSED}" in message


def test_the_deploy_gate_blocks_a_dag_with_access_control(tmp_path):
    (tmp_path / "restricted.py").write_text(RESTRICTED)
    result = subprocess.run([sys.executable, "-m", "webhook.deploy.validate_dags", str(tmp_path)], cwd=PROJECT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"import_error: restricted.py: AirflowClusterPolicyViolation: {REFUSED}" in result.stderr
