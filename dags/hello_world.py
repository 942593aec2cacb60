"""
### hello_world_1 … hello_world_N

The cookiecutter stack's `dag_number` pattern: one small DAG per number, N taken from the Airflow Variable
`dag_number` (unset: 1; at most 100). Each run prints and returns a greeting.

It reads a Variable at the top level, which Airflow's best practices otherwise advise against, in the way
Airflow 3 keeps cheap (documentation/writing-dags.md, "Generating DAGs from a variable"):
- set it as `AIRFLOW_VAR_DAG_NUMBER` in the environment and the environment backend answers: no database or
  1Password call at all;
- set it in the UI or 1Password and each parse reads it once: a 1Password and a database lookup every
  `min_file_process_interval` (5 min here), which costs less than the 80-100 MiB process `[secrets]
  use_cache` would keep for it;
- a worker running `hello_world_7` builds only that DAG and reads nothing (`get_parsing_context`).

Usually the better tool is one DAG with a mapped task (`.expand()`), which changes with the data on each run.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from airflow.sdk import Variable, dag, get_parsing_context, task

VARIABLE = "dag_number"
DEFAULT, MAXIMUM = 1, 100
PREFIX = "hello_world_"


def dag_number() -> int:
    """The Variable, checked: a bad value is an import error that names it."""
    raw = Variable.get(VARIABLE, default=str(DEFAULT))
    try:
        number = int(str(raw).strip())
    except ValueError:
        number = -1
    if not 0 <= number <= MAXIMUM:
        raise ValueError(f"Variable {VARIABLE} must be a whole number from 0 to {MAXIMUM}, got {raw!r}")
    return number


def wanted() -> list[int]:
    """The numbers to build: only the one being run when a worker parses for a task, else all of them."""
    running = get_parsing_context().dag_id
    match = re.fullmatch(rf"{PREFIX}(\d+)", running or "")
    if match:
        return [int(match.group(1))]
    return list(range(1, dag_number() + 1))


def hello_world(number: int):
    @dag(
        dag_id=f"{PREFIX}{number}",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["example", "generated"],
        default_args={"owner": "data-platform", "retries": 1, "retry_delay": timedelta(seconds=10)},
        dagrun_timeout=timedelta(minutes=5),
        doc_md=__doc__,
    )
    def build():
        @task
        def say_hello() -> str:
            message = f"hello world from DAG {number}"
            print(message)
            return message

        say_hello()

    return build()


for _number in wanted():
    hello_world(_number)
