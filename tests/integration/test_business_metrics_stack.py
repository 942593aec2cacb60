"""Business metrics end to end on the native stack (monitoring profile): a DAG's dagutils.metrics counts go
through the statsd-exporter into Prometheus, named airflow_business_* with the sending task's ids as labels."""

from __future__ import annotations

import pytest

from tests.monitoring.test_metrics_stack import prometheus, wait_for

pytestmark = pytest.mark.integration


def test_orders_upserts_counts_reach_prometheus_with_the_dag_and_task_ids(native_stack):
    result = native_stack.run("airflow", "dags", "test", "orders_upsert", timeout=400)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]

    def series(query: str) -> list[dict]:
        return prometheus(native_stack, "query", query=query)["result"]

    dropped = wait_for(lambda: series('airflow_business_dirty_rows_dropped_total{dag_id="orders_upsert"}'))
    assert [(s["metric"]["task_id"], float(s["value"][1]) > 0) for s in dropped] == [("clean", True)]
    loaded = wait_for(lambda: series('airflow_business_rows_loaded_total{dag_id="orders_upsert"}'))
    assert [s["metric"]["task_id"] for s in loaded] == ["load_orders"]
