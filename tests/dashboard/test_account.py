"""`python -m dashboard.account` on a throw-away SQLite Airflow: the Viewer login is made once, then left alone,
and a changed password or role is set back."""

from __future__ import annotations

import subprocess
import sys

from stacktest.airflow_home import PROJECT, sqlite_airflow_env

FAB = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"  # the stack's (docker-compose.yaml)


def said(result: subprocess.CompletedProcess) -> str:
    """Its last line (Airflow's own warnings come first, on stdout too)."""
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def account(env: dict[str, str], password: str) -> subprocess.CompletedProcess:
    login = {"DASHBOARD_AIRFLOW_USERNAME": "dashboard", "DASHBOARD_AIRFLOW_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", "dashboard.account"], capture_output=True, text=True, timeout=180,
                          env={**env, **login})


def test_the_viewer_login_is_made_kept_and_brought_back_to_its_password(tmp_path):
    env = sqlite_airflow_env(tmp_path, [], AIRFLOW__CORE__AUTH_MANAGER=FAB)
    first = account(env, "first-password")
    assert (first.returncode, said(first)) == (
        0, "dashboard-account: created the Airflow user 'dashboard' (role Viewer)"), first.stderr[-2000:]
    again = account(env, "first-password")
    assert said(again) == "dashboard-account: the Airflow user 'dashboard' is ready"
    changed = account(env, "second-password")
    assert said(changed) == ("dashboard-account: set the Airflow user 'dashboard''s role to Viewer and its "
                                      "password to DASHBOARD_AIRFLOW_PASSWORD")
    assert "second-password" not in changed.stdout + changed.stderr


def test_without_a_password_it_says_which_variables(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dashboard.account"], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT)})
    assert result.returncode == 2
    assert "DASHBOARD_AIRFLOW_USERNAME and DASHBOARD_AIRFLOW_PASSWORD must be set" in result.stderr
