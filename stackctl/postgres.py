"""The private PostgreSQL cluster in the state folder: create it once, then its role and database."""

from __future__ import annotations

import os
import pwd
import subprocess
import time

from stackctl import celery_results, system
from stackctl.native import postgres_dirs
from stackctl.settings import Settings


def _as_owner(settings: Settings) -> dict:
    """Run PostgreSQL tools as the `postgres` user when we are root (it refuses to run as root), from a
    folder that user may enter."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "cwd": postgres_dirs(settings)[0].parent}


def ensure_cluster(settings: Settings) -> bool:
    """initdb the cluster if it does not exist yet; return True when it was created."""
    data, sockets = postgres_dirs(settings)
    if (data / "PG_VERSION").exists():
        return False
    root = data.parent
    for path in (root, sockets):
        path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(settings.state_dir, 0o711)  # postgres must be able to traverse into its own folder
        owner = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        _check_traversable(root)
    initdb = str(system.postgres_bin_dir() / "initdb")
    result = subprocess.run([initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust",
                             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
                            capture_output=True, text=True, **_as_owner(settings))
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed in {data}: {result.stderr.strip() or result.stdout.strip()}")
    with open(data / "postgresql.conf", "a") as conf:
        # only the postgres user (and root) may use the trusted socket
        conf.write("\nunix_socket_permissions = 0700\nmax_connections = 200\n")
    return True


def _check_traversable(path) -> None:
    """The postgres user must be able to reach its folder; a 0700 parent (e.g. a private temp dir) stops it."""
    for parent in path.parents:
        if parent.exists() and not parent.stat().st_mode & 0o001:
            raise RuntimeError(f"the postgres user cannot enter {parent} (mode {oct(parent.stat().st_mode & 0o777)}); "
                               f"choose a STACK_STATE_DIR whose parent folders others may traverse (chmod o+x)")


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
    result = subprocess.run(args, input=sql, capture_output=True, text=True, **_as_owner(settings))
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
