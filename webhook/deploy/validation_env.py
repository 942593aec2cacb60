"""The environment of the DAG validation server: an allow-list, so none of the webhook's secrets reach DAG code.

A DAG file runs any code at import, and whatever it can see it can print into its import error. So the server
starts from nothing and gets only what parsing needs: names listed here pass, every other variable (the
webhook key, 1Password tokens, database URLs, Airflow's signing secrets, anything added later) is dropped.
"""

from __future__ import annotations

import os
import site
from collections.abc import Mapping
from pathlib import Path

# Plain process settings; none of them can hold a credential.
PASSED = ("PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONUTF8",
          "LC_ALL", "LC_CTYPE", "LC_COLLATE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME", "LC_MONETARY",
          # read by DAG files at parse time (weather_checker's schedule, the team's time zone)
          "ENVIRONMENT", "TEAM_TIMEZONE")
# Airflow options that change how a DAG file parses or what defaults its DAGs get. Connections, secrets
# backends, database and broker URLs, keys and their _CMD/_SECRET forms are deliberately absent.
AIRFLOW_SETTINGS = (
    "AIRFLOW__CORE__DEFAULT_TIMEZONE",
    "AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE",
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT",
    "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS",
    "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACK_DEPTH",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION",
    "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG",
    "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG",
    "AIRFLOW__CORE__DEFAULT_TASK_RETRIES",
    "AIRFLOW__CORE__DEFAULT_TASK_EXECUTION_TIMEOUT",
    "AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT",
    "AIRFLOW__LOGGING__LOGGING_LEVEL",
)


def passed(name: str) -> bool:
    """Whether a variable of the webhook's environment may reach the validation server."""
    return name in PASSED or name in AIRFLOW_SETTINGS


def build(environ: Mapping[str, str], home: Path, project_dir: Path) -> dict[str, str]:
    """The server's whole environment. `home` is a private, empty folder: HOME and AIRFLOW_HOME point into it,
    so neither the operator's dotfiles nor the stack's airflow.cfg are read."""
    env = {name: value for name, value in environ.items() if passed(name)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["HOME"] = str(home)
    env["AIRFLOW_HOME"] = str(home / "airflow")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(project_dir), environ.get("PYTHONPATH")) if p)
    # Python finds user-installed packages under HOME (~/.local): the Airflow image installs Airflow there, so
    # the new HOME would hide it. Keep the webhook's own user base (a path, never a credential).
    env["PYTHONUSERBASE"] = environ.get("PYTHONUSERBASE") or site.getuserbase()
    return env
