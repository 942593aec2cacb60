"""Parse time of generated DAGs: the DAG factory's overhead, and dags/hello_world.py at dag_number=20.

  python -m benchmarks.dag_parse [--runs 5] [--configs 50]

1. The factory: 50 YAML configs (each with its two-line DAG file) against 50 hand-written Python DAG files
   that build the same DAGs with the same operators. Each folder is parsed by Airflow's DagBag in a fresh
   process. What the factory adds is timed inside the fill (importing it, reading and validating the YAML);
   the difference between the two fills says the same within the machine's noise.
2. dags/hello_world.py alone with the Variable dag_number at 20 and at 1, given as AIRFLOW_VAR_DAG_NUMBER
   (the environment backend: no database call).
Times are CPU time of the parsing thread (time.thread_time), so other work on the machine inflates them less
than wall-clock time. Prints min / median / max over the runs; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DAGS = PROJECT / "dags"
STUB_MODULE = "dagutils.factory.stubs"

CONFIG = """\
schedule: "0 6 * * *"
owner: data-platform
tags: [bench]
timeout_minutes: 30
tasks:
  - {{id: extract, kind: bash, command: "echo {n}", env: {{SOURCE: s{n}}}}}
  - {{id: mean, kind: python, callable: "statistics:mean", kwargs: {{data: [1, {n}]}}, depends_on: [extract]}}
  - {{id: spread, kind: python, callable: "statistics:pstdev", kwargs: {{data: [1, {n}]}}, depends_on: [extract]}}
  - {{id: publish, kind: empty, depends_on: [mean, spread]}}
"""

HAND_WRITTEN = '''"""Airflow DAG written by hand: the same as the factory's config {n}."""
import statistics
from datetime import datetime, timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG

with DAG(dag_id="bench_{n}", schedule="0 6 * * *", start_date=datetime(2026, 1, 1), catchup=False,
         tags=["bench"], dagrun_timeout=timedelta(minutes=30),
         default_args={{"owner": "data-platform", "retries": 1, "retry_delay": timedelta(minutes=5)}}) as dag:
    extract = BashOperator(task_id="extract", bash_command="echo {n}", env={{"SOURCE": "s{n}"}}, append_env=True)
    mean = PythonOperator(task_id="mean", python_callable=statistics.mean, op_kwargs={{"data": [1, {n}]}})
    spread = PythonOperator(task_id="spread", python_callable=statistics.pstdev, op_kwargs={{"data": [1, {n}]}})
    publish = EmptyOperator(task_id="publish")
    extract >> [mean, spread] >> publish
'''

# Runs in a fresh interpreter: import Airflow first (not timed), then time one DagBag fill of the folder.
# For the factory's folder it also times the factory's own work inside that fill: importing dagutils.factory
# and every load() (reading the YAML, the schema, the dependency checks); building the DAG is what a
# hand-written file does too.
CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
from airflow.dag_processing.dagbag import DagBag
import airflow.providers.standard.operators.bash, airflow.providers.standard.operators.python
sys.path.insert(0, sys.argv[2])
clock = time.thread_time  # CPU time of this thread: what other work on the machine does not inflate
own = 0.0
started = clock()
if sys.argv[3] == "factory":
    import dagutils.factory.build as build
    load = build.load
    def timed(*args):
        global own
        begun = clock()
        try:
            return load(*args)
        finally:
            own += clock() - begun
    build.load = timed
    own = clock() - started
imported = own
bag = DagBag(dag_folder=sys.argv[1], bundle_path=sys.argv[1], bundle_name="bench")
print(json.dumps({"seconds": clock() - started, "own": own, "import": imported, "dags": len(bag.dags),
                  "errors": len(bag.import_errors)}))
"""


def parse(folder: Path, kind: str, env: dict[str, str] | None = None) -> dict:
    environ = {**os.environ, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
               **(env or {})}
    result = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(DAGS), kind], env=environ,
                            capture_output=True, text=True, timeout=300, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def folders(root: Path, count: int) -> tuple[Path, Path]:
    factory, python = root / "factory", root / "python"
    (factory / "configs").mkdir(parents=True)
    python.mkdir()
    for n in range(count):
        (factory / "configs" / f"bench_{n}.yaml").write_text(CONFIG.format(n=n))
        (python / f"bench_{n}.py").write_text(HAND_WRITTEN.format(n=n))
    subprocess.run([sys.executable, "-m", STUB_MODULE, str(factory / "configs")], check=True,
                   capture_output=True, env={**os.environ, "PYTHONPATH": str(DAGS)})
    return factory, python


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"| {name} | {min(ms):.0f} | {statistics.median(ms):.0f} | {max(ms):.0f} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--configs", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dag-parse-"))
    try:
        factory, python = folders(root, args.configs)
        times: dict[str, list[float]] = {n: [] for n in ("factory", "python", "hello20", "hello1", "own", "import")}
        generator = root / "generator"
        generator.mkdir()
        shutil.copy(DAGS / "hello_world.py", generator)
        for _ in range(args.runs):  # interleaved, so a busy moment hits every case alike
            for name, folder, env, dags in (("factory", factory, None, args.configs),
                                            ("python", python, None, args.configs),
                                            ("hello20", generator, {"AIRFLOW_VAR_DAG_NUMBER": "20"}, 20),
                                            ("hello1", generator, {"AIRFLOW_VAR_DAG_NUMBER": "1"}, 1)):
                found = parse(folder, name, env)
                assert found == {**found, "dags": dags, "errors": 0}, (name, found)
                times[name].append(found["seconds"])
                if name == "factory":
                    times["own"].append(found["own"])
                    times["import"].append(found["import"])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    added = [f - p for f, p in zip(times["factory"], times["python"], strict=True)]
    print(f"| CPU ms of one DagBag fill in a fresh process, {args.runs} runs | min | median | max |")
    print("|---|---|---|---|")
    print(line(f"{args.configs} factory configs", times["factory"]))
    print(line(f"{args.configs} hand-written DAG files", times["python"]))
    print(line("difference of the two (paired runs)", added))
    print(line(f"the factory's own work in that fill: import + {args.configs} loads", times["own"]))
    print(line("of which importing dagutils.factory (paid once per process)", times["import"]))
    print(line("hello_world.py, dag_number=20", times["hello20"]))
    print(line("hello_world.py, dag_number=1", times["hello1"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
