"""The private PostgreSQL cluster in the state folder: create it once, then its role and database."""

from __future__ import annotations

import subprocess
import time

from stackctl import celery_results, system, warehouse
from stackctl.native import postgres_dirs
from stackctl.settings import Settings


def ensure_cluster(settings: Settings) -> bool:
    """initdb the cluster if it does not exist yet; return True when it was created.

    It runs as whoever runs `up`'s work: the stack user when `./stack` runs as root (stackctl/privileges.py),
    never root, which initdb and postgres refuse. Its superuser role is still called `postgres`.
    """
    data, sockets = postgres_dirs(settings)
    if (data / "PG_VERSION").exists():
        return False
    for path in (data.parent, sockets):
        path.mkdir(parents=True, exist_ok=True)
    initdb = str(system.postgres_bin_dir() / "initdb")
    result = subprocess.run([initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust",
                             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed in {data}: {result.stderr.strip() or result.stdout.strip()}")
    with open(data / "postgresql.conf", "a") as conf:
        # only the cluster's owner (and root) may use the trusted socket
        conf.write("\nunix_socket_permissions = 0700\nmax_connections = 200\n")
    return True


def is_ready(settings: Settings) -> bool:
    _, sockets = postgres_dirs(settings)
    result = subprocess.run([str(system.postgres_bin_dir() / "pg_isready"), "-q", "-h", str(sockets),
                             "-p", settings["POSTGRES_PORT"]], capture_output=True)
    return result.returncode == 0


def wait_ready(settings: Settings, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not is_ready(settings):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not accept connections within {timeout:.0f} s; "
                               f"see {settings.state_dir / 'logs' / 'postgres.log'}")
        time.sleep(0.1)


def _psql(settings: Settings, sql: str, *variables: str) -> str:
    _, sockets = postgres_dirs(settings)
    args = [str(system.postgres_bin_dir().parent / "bin" / "psql"), "-h", str(sockets), "-p", settings["POSTGRES_PORT"],
            "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAq"]
    for variable in variables:
        args += ["-v", variable]
    result = subprocess.run(args, input=sql, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {result.stderr.strip()}")
    return result.stdout.strip()


def ensure_database(settings: Settings) -> None:
    """Create (or update the password of) the Airflow role and its database; safe to repeat."""
    user, database = settings["POSTGRES_USER"], settings["POSTGRES_DB"]
    variables = (f"u={user}", f"p={settings['POSTGRES_PASSWORD']}", f"d={database}")
    exists = _psql(settings, "SELECT 1 FROM pg_roles WHERE rolname = :'u';", *variables)
    verb = "ALTER" if exists else "CREATE"
    _psql(settings, f"{verb} ROLE :\"u\" LOGIN PASSWORD :'p';", *variables)
    if not _psql(settings, "SELECT 1 FROM pg_database WHERE datname = :'d';", *variables):
        _psql(settings, "CREATE DATABASE :\"d\" OWNER :\"u\";", *variables)
    celery_results.ensure(lambda sql: _psql(settings, sql + ";"), settings["CELERY_RESULTS_PASSWORD"], database)
    warehouse.ensure(lambda sql: _psql(settings, sql + ";"), settings["WAREHOUSE_PASSWORD"])
