"""Issue 13: the DAG processor runs without FAB's auth manager (so without Flask and FAB in it); roles stay global
and still show every DAG; a DAG setting access_control is refused with a sentence, not ignored."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
import requests

from stacktest.gitrepo import good_dag
from stacktest.native import processes_under

pytestmark = pytest.mark.integration

SIMPLE = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
INTEGRATION_DAGS = Path(__file__).parent / "dags"


def dag_processor(native_stack) -> psutil.Process:
    """The DAG processor itself: `airflow dag-processor`, not its launcher nor a parsing child."""
    found = [p for p in processes_under(native_stack.state_dir)
             if "dag-processor" in p.cmdline() and "stackctl.launch" not in p.cmdline()
             and "dag-processor" not in p.parent().cmdline()]
    assert len(found) == 1, [p.cmdline() for p in found]
    return found[0]


def test_the_dag_processor_loads_neither_fab_nor_flask(native_stack):
    native_stack.wait_dag("secrets-read")  # it has parsed and written DAGs
    process = dag_processor(native_stack)
    assert process.environ()["AIRFLOW__CORE__AUTH_MANAGER"] == SIMPLE
    libraries = {m.path for m in process.memory_maps()}
    # PIL's _imaging is what Flask-AppBuilder's import leaves in the maps (pure Python modules leave nothing)
    assert not [path for path in libraries if "/PIL/" in path or "flask" in path.lower()]


def test_a_viewer_sees_every_dag_the_admin_sees(native_stack):
    native_stack.wait_dag("secrets-read")
    username = native_stack.env.get("DASHBOARD_AIRFLOW_USERNAME", "dashboard-viewer")  # a Viewer (monitoring)
    password = native_stack.settings["DASHBOARD_AIRFLOW_PASSWORD"]
    response = requests.post(native_stack.url("airflow") + "/auth/token",
                             json={"username": username, "password": password}, timeout=30)
    response.raise_for_status()
    viewer = {"Authorization": f"Bearer {response.json()['access_token']}"}
    base = native_stack.url("airflow") + "/api/v2"
    theirs = requests.get(base + "/dags", params={"limit": 1000}, headers=viewer, timeout=30)
    theirs.raise_for_status()
    admin = native_stack.api("GET", "/dags", params={"limit": 1000}).json()
    seen = {d["dag_id"] for d in theirs.json()["dags"]}
    assert "secrets-read" in seen
    assert seen == {d["dag_id"] for d in admin["dags"]}
    assert requests.get(base + "/dags/secrets-read", headers=viewer, timeout=30).status_code == 200


def import_errors(native_stack, filename: str) -> list[str]:
    errors = native_stack.api("GET", "/importErrors", params={"limit": 1000}).json()["import_errors"]
    return [e["stack_trace"] for e in errors if e["filename"].endswith(filename)]


def wait_for(what, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while not (found := what()):
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(1)
    return found


def test_a_dag_setting_access_control_is_refused_with_a_sentence(native_stack):
    native_stack.wait_dag("secrets-read")
    restricted = INTEGRATION_DAGS / "restricted_access.py"
    restricted.write_text(good_dag("restricted-access").replace(
        'tags=["test"],', 'tags=["test"], access_control={"Viewer": {"can_read"}},'))
    try:
        [message] = wait_for(lambda: import_errors(native_stack, "restricted_access.py"))
        assert "DAG 'restricted-access' sets access_control, which this stack does not apply" in message
        assert native_stack.api("GET", "/dags/restricted-access").status_code == 404
    finally:
        restricted.unlink()
    wait_for(lambda: not import_errors(native_stack, "restricted_access.py"))
