"""What a DAG author can reach from a task, checked on a running stack (native or compose) through HAProxy."""

from __future__ import annotations

import ast
import importlib.util
import json
from pathlib import Path
from urllib.parse import quote

import requests

PROBE_DAG = Path(__file__).resolve().parent.parent / "tests" / "integration" / "dags" / "task_isolation.py"

# Credentials a task must never see, in its own environment or its parents' (the Celery worker's).
FORBIDDEN = (
    "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__FLOWER_BASIC_AUTH", "FLOWER_BASIC_AUTH", "FLOWER_PASSWORD",
    "WEBHOOK_KEY", "WEBHOOK_PREVIOUS_KEY", "_AIRFLOW_WWW_USER_PASSWORD", "OP_INFRA_TOKEN", "POSTGRES_PASSWORD",
    "REDIS_PASSWORD", "CELERY_RESULTS_PASSWORD", "WAREHOUSE_PASSWORD",
)


def _probe_module():
    spec = importlib.util.spec_from_file_location("task_isolation_probe", PROBE_DAG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def api_answer(stack, token: str) -> int:
    return requests.get(stack.url("airflow") + "/api/v2/dags?limit=1", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).status_code


def probe_result(stack, run_id: str) -> dict:
    path = f"/dags/task-isolation/dagRuns/{quote(run_id, safe='')}/taskInstances/probe/xcomEntries/return_value"
    value = stack.api("GET", path).json()["value"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = ast.literal_eval(value)
    return value


def check_a_task_cannot_become_admin(stack, jwt_secret: str, paths: dict[str, str] | None = None) -> dict:
    """A task sees no stack credential in any environment it can read, can read none of `paths` (label -> path)
    but those labelled "own: ...", and mints no admin token from anything it saw; returns what the probe saw."""
    admin_token = _probe_module().admin_token
    # The probe's recipe does make an admin token from the real signing secret, so its zero below means something.
    assert api_answer(stack, admin_token(jwt_secret)) == 200
    assert api_answer(stack, admin_token("not-the-signing-secret-" + "0" * 64)) in (401, 403)
    run_id = stack.trigger_dag("task-isolation", conf={"paths": paths or {}})
    assert stack.wait_run("task-isolation", run_id, timeout=300) == "success"
    seen = probe_result(stack, run_id)
    assert seen["processes"] >= 2, seen  # the task process and at least the worker above it
    assert not set(FORBIDDEN) & set(seen["names"]), f"a task can read: {sorted(set(FORBIDDEN) & set(seen['names']))}"
    # what it should read, it does (so an unreadable path is the permissions' doing, not the probe's)
    own = sorted(label for label in paths or {} if label.startswith("own: "))
    assert seen["readable"] == own, f"a task can read {sorted(set(seen['readable']) - set(own))}, " \
        f"should read {own}"
    assert seen["tried"] >= 10, seen
    assert seen["accepted"] == 0, f"{seen['accepted']} of {seen['tried']} values a task can see minted an admin token"
    return seen
