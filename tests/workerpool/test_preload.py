"""workerpool: the Celery worker's main process imports what a pool process needs for a task before it forks
the pool, with Airflow's own Celery settings unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# What the worker does: the app from [celery] celery_config_options, then Celery's import_modules signal.
WORKER = """
import sys
from airflow.providers.celery.executors.celery_executor_utils import app
from celery.signals import import_modules
import workerpool
print(app.conf.worker_concurrency, app.conf.broker_url)
print(sorted(m for m in workerpool.PRELOAD if m in sys.modules))
import_modules.send(sender=app)
print(sorted(m for m in workerpool.PRELOAD if m not in sys.modules))
"""


def test_the_worker_imports_the_task_supervisor_before_forking_its_pool():
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "workerpool.CONFIG",
           "AIRFLOW__CELERY__WORKER_CONCURRENCY": "3", "AIRFLOW__CELERY__BROKER_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run([sys.executable, "-c", WORKER], cwd=PROJECT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    settings, before, missing = result.stdout.strip().splitlines()[-3:]
    assert settings == "3 redis://127.0.0.1:1/0"  # Airflow's [celery] settings still reach Celery
    assert "airflow.sdk.execution_time.supervisor" not in before  # so the signal is what imports it
    assert missing == "[]"
