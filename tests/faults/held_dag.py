"""A DAG file whose import waits while a file exists: a DAG that calls a slow service at import time, held
as long as a test needs a deploy to stay in one stage. It swallows Airflow's import timeout (as a DAG retrying
in a loop with `except Exception` would), so only the file decides when it lets go."""

from __future__ import annotations

from pathlib import Path

# Where the import waits: in the webhook's validation (the tree it checks is under <deploy dir>/work/), or
# in Airflow's DAG processor (the bundle's own checkout).
IN_VALIDATION = '"/deploy/work/" in __file__'
IN_AIRFLOW = '"/deploy/work/" not in __file__'

TEMPLATE = '''"""Fault test: its import waits while {hold} exists."""
import os
import time
from datetime import timedelta

from airflow.sdk import dag, task

while {where} and os.path.exists("{hold}"):
    try:
        time.sleep(0.2)
    except Exception:
        pass


@dag(dag_id="{dag_id}", schedule=None, tags=["test"], default_args={{"owner": "data", "retries": 0}},
     dagrun_timeout=timedelta(minutes=5))
def build():
    @task
    def hello():
        return "{dag_id}"

    hello()


build()
'''


def held_dag(dag_id: str, hold: Path, where: str = IN_VALIDATION) -> str:
    return TEMPLATE.format(dag_id=dag_id, hold=hold, where=where)
