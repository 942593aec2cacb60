"""The DAG factory's example configs and the generated hello_world DAGs run green offline with
`./stack airflow dags test <id>` on a native stack (the stack's own DAG folder)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

DAG_IDS = ("factory-hello", "factory-python-report", "factory-daily-checks", "hello_world_1")


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_each_runs_green_with_dags_test(native_stack, dag_id):
    result = native_stack.run("airflow", "dags", "test", dag_id, timeout=400)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"dag_id={dag_id}" in output and "state=success" in output, output[-3000:]
