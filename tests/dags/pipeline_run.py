"""Run one example DAG with dag.test() and print its task states as JSON (called in a subprocess by tests).

Usage: python tests/dags/pipeline_run.py <dag_id> <YYYY-MM-DD or an ISO time>   (AIRFLOW_HOME, the migrated
database, the connections and PIPELINE_SOURCE_URL come from the environment)
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime

from airflow.dag_processing.dagbag import DagBag


def main(dag_id: str, day: str) -> int:
    sys.argv = ["airflow", "dags", "test", dag_id]  # what DAG files see under `airflow dags test`
    folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    bag = DagBag(dag_folder=folder, bundle_path=folder, safe_mode=False)
    if bag.import_errors:
        print("RESULT " + json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
        return 1
    moment = datetime.fromisoformat(day)
    moment = moment if "T" in day else moment.replace(hour=12, tzinfo=UTC)
    run = bag.dags[dag_id].test(logical_date=moment)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    print("RESULT " + json.dumps({"state": str(run.state), "tasks": states, "run_id": run.run_id,
                                  "end_date": run.end_date.isoformat() if run.end_date else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
