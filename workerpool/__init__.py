"""The Celery worker's configuration: Airflow's own (`[celery]` settings, DEFAULT_CELERY_CONFIG), plus the
modules each pool process imported for its first task, imported once in the worker's main process before it
forks the pool, so the four pool processes share one copy of them instead of keeping four.

`[celery] celery_config_options` names CONFIG (docker-compose.yaml). Traced with an import hook in a pool
process of the native stack: its first task (Airflow's BaseExecutor.run_workload) imported 109 modules, the
task supervisor and the DAG bag with the models under it. A pool process that had run a task held about 71 MiB
PSS, 62 with these preloaded (documentation/benchmarks.md); the first task of each pool process no longer
waits for the import either.
"""

from __future__ import annotations

import gc
import importlib

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

from workerpool import bundle_cleanup  # noqa: F401  (the worker's stale-bundle clean-up step joins with it)

CONFIG = DEFAULT_CELERY_CONFIG
PRELOAD = ("airflow.sdk.execution_time.supervisor", "airflow.dag_processing.dagbag", "airflow.models.dagbag")


@import_modules.connect
def preload(**_kwargs) -> None:
    """In the worker's main process, before the pool is forked (Celery's import_modules signal; Airflow
    preloads its operators on the same signal and freezes the garbage collector's objects after it)."""
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()  # what is imported here stays out of each pool process's collections, so their pages stay shared
