"""How each service of the one definition runs as a native process: its argv and its environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

from stackctl import system
from stackctl.services import CREDENTIAL_VARIABLES, Service, airflow_env, dag_bundles, service_credentials
from stackctl.settings import Settings

# Variables every program inherits so it can find its tools and write its files.
PASSTHROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")


def airflow_home(settings: Settings) -> Path:
    return settings.state_dir / "airflow"


def postgres_dirs(settings: Settings) -> tuple[Path, Path]:
    """(data directory, socket directory) of the private PostgreSQL cluster."""
    root = settings.state_dir / "postgres"
    return root / "data", root / "run"


def argv(service: Service, settings: Settings) -> list[str]:
    """The command line that runs `service` here, with programs resolved to absolute paths."""
    head, *rest = service.command
    if service.name == "postgres":
        data, sockets = postgres_dirs(settings)
        return [system.which("postgres") or "postgres", "-D", str(data), "-p", settings["POSTGRES_PORT"],
                "-c", f"listen_addresses={settings['BIND_HOST']}", "-k", str(sockets)]
    if service.name == "redis":
        return [system.which("redis-server") or "redis-server", str(settings.state_dir / "redis" / "redis.conf")]
    if head in ("airflow", "python", "gunicorn"):
        head = settings.bin(head)
    elif head == "haproxy":
        head = system.which("haproxy") or "haproxy"
    elif "/" in head:
        head = str(settings.project_dir / head)
    rest = [str(settings.project_dir / arg) if arg.startswith("haproxy/") else arg for arg in rest]
    return [head, *rest]


def environment(service: Service, settings: Settings) -> dict[str, str]:
    """The variables `service` sees: the shared Airflow ones if it is an Airflow program, the credentials it
    needs (Service.secrets) and no others, plus its own."""
    env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
    env["PATH"] = f"{settings.venv_dir / 'bin'}:{env.get('PATH', '/usr/local/bin:/usr/bin:/bin')}"
    env["HOME"] = str(settings.state_dir)
    env["PYTHONPATH"] = str(settings.project_dir)
    env["STACK_STATE_DIR"] = str(settings.state_dir)
    if service.airflow_env:
        env.update(airflow_env(settings))
        # any other Airflow option set in .env or the environment reaches every component as well (credentials
        # only where Service.secrets gives them)
        env.update({k: v for k, v in settings.values.items()
                    if k.startswith("AIRFLOW__") and k not in env and k not in CREDENTIAL_VARIABLES})
        env["AIRFLOW_HOME"] = str(airflow_home(settings))
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(settings.dags_folder)
        env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(dag_bundles(settings))
        # Airflow's default is a fixed folder under /tmp, which every stack on the machine would share
        env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH"] = str(airflow_home(settings) / "dag_bundles")
        env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(settings.state_dir / "logs" / "airflow")
    env.update(service_credentials(service, settings))
    for name in service.env:
        if settings.get(name):
            env[name] = settings[name]
    return {key: value for key, value in env.items() if value is not None}
