"""A throw-away Airflow home for dag.test() runs: SQLite, migrated, its DAG folder holding only what a test links."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DAGS = PROJECT / "dags"
# The caller's Airflow, stack and port settings would point the run at a real stack; proxies at the internet.
LEFT_OUT = ("AIRFLOW", "STACK_", "PUBLIC_")
PROXIES = ("http_proxy", "https_proxy")


def sqlite_airflow_env(root: Path, entries: Iterable[str], *, import_from: Path | None = None,
                       **extra: str) -> dict[str, str]:
    """Make root/home (migrated) and root/dags (links to the named entries of dags/); return the environment.

    DAG code imports from root/dags, or from `import_from` when given; `extra` adds or overrides variables.
    """
    home, dags = root / "home", root / "dags"
    home.mkdir()
    dags.mkdir()
    for name in entries:
        (dags / name).symlink_to(DAGS / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(LEFT_OUT) and k.lower() not in PROXIES}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "PYTHONPATH": f"{PROJECT}{os.pathsep}{import_from or dags}",
        **extra,
    })
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                             text=True, timeout=180)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return env


def slack_connection(fake_slack_url: str) -> str:
    """AIRFLOW_CONN_SLACK's value for a fake Slack at this address (the notifier posts to its webhook path)."""
    return json.dumps({"conn_type": "slackwebhook", "password": f"{fake_slack_url}/services/T0/B0/TEST"})
