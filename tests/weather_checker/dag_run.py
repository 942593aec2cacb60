"""Run weather-checker once with dag.test() and print the outcome as JSON (called in a subprocess by tests).

Usage: python tests/weather_checker/dag_run.py   (AIRFLOW_HOME, the database and all service URLs come from
the environment; the database must already be migrated)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILE = DAGS / "weather_checker" / "dag.py"


def main() -> int:
    bag = DagBag(dag_folder=str(DAG_FILE), bundle_path=DAGS, safe_mode=False)
    if bag.import_errors:
        print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
        return 1
    run = bag.dags["weather-checker"].test()
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("RESULT " + json.dumps({"state": str(run.state), "tasks": states, "run_id": run.run_id}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
