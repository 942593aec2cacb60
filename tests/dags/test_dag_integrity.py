"""Every DAG in dags/ imports cleanly and follows the house rules the deploy webhook enforces."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from webhook.deploy import integrity

DAGS = Path(__file__).resolve().parents[2] / "dags"


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    if str(DAGS) not in sys.path:
        sys.path.append(str(DAGS))  # as Airflow does for the DAGs folder, so `dagutils` imports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pathspec, inside Airflow's .airflowignore code
        return DagBag(dag_folder=str(DAGS))


BAG = dagbag()


def test_no_import_errors():
    assert BAG.import_errors == {}


def test_the_product_dags_are_there():
    assert {"stack-smoke", "weather-checker"} <= set(BAG.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(BAG.dag_ids))
def test_house_rules(dag_id):
    dag = BAG.dags[dag_id]
    assert integrity.broken(dag) == []
    assert dag.owner not in ("", integrity.DEFAULT_OWNER)
    assert dag.tags
    assert (dag.default_args or {}).get("retries", 0) >= 1, "retries set for the DAG's tasks"
    assert dag.dagrun_timeout or all(task.execution_timeout for task in dag.tasks)
