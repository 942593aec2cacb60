"""Old DAG bundle versions on a worker (workerpool/bundle_cleanup.py): the Celery worker Airflow builds carries the
clean-up step, and a tick of its timer removes a stale version, keeps the newest and leaves no process behind.
Run in a fresh interpreter: Airflow reads its configuration from the environment once, at import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, time
from datetime import datetime, timedelta, timezone
from airflow.dag_processing.bundles.base import get_bundle_tracking_file, get_bundle_version_path
from airflow.providers.celery.executors.celery_executor_utils import app
from workerpool import bundle_cleanup

def version(name, age):
    track = get_bundle_tracking_file("gitops", name)
    track.parent.mkdir(parents=True, exist_ok=True)
    track.write_text((datetime.now(timezone.utc) - age).isoformat())
    path = get_bundle_version_path("gitops", name)
    path.mkdir(parents=True)
    (path / "dag.py").write_text("")
    return path

old, new = version("0a1d", timedelta(days=2)), version("3e3f", timedelta(minutes=1))
worker = app.Worker(pool="solo", hostname="probe@localhost", without_mingle=True, without_gossip=True,
                    without_heartbeat=True)
[step] = [s for s in worker.steps if isinstance(s, bundle_cleanup.StaleBundleCleanup)]
bundle_cleanup.CLEANUP_SECONDS, bundle_cleanup.REAP_SECONDS = 60, 0.2
step.start(worker)
step.clean_up()  # the first tick
deadline = time.monotonic() + 60
while old.exists() and time.monotonic() < deadline:
    time.sleep(0.2)
    worker.hub.fire_timers()  # what the worker's event loop does
# the ended clean-up is waited for by the worker's own timer: no zombie left under the worker
pid, deadline = step.process.pid, time.monotonic() + 30
while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
    time.sleep(0.2)
    worker.hub.fire_timers()
reaped = not os.path.exists(f"/proc/{pid}")
step.stop(worker)
step.process.join(30)
print(json.dumps({"old": old.exists(), "new": new.exists(), "exitcode": step.process.exitcode,
                  "reaped": reaped}))
"""


def test_a_worker_removes_a_stale_bundle_version_on_its_timer_in_a_passing_process(tmp_path):
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True)
    bundles = [{"name": "gitops", "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
                "kwargs": {"repo_url": str(tmp_path / "origin.git"), "tracking_ref": "production"}}]
    env = {**os.environ, "PYTHONPATH": str(REPO), "AIRFLOW_HOME": str(tmp_path / "home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "workerpool.CONFIG",
           "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:1/0",  # never reached: the worker is not started
           "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps(bundles),
           "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(tmp_path / "bundles"),
           "AIRFLOW__DAG_PROCESSOR__STALE_BUNDLE_CLEANUP_MIN_VERSIONS": "1"}
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    # Airflow's rule: keep the newest min_versions and any used within the age threshold (6 h)
    assert found == {"old": False, "new": True, "exitcode": 0, "reaped": True}
