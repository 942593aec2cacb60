"""airflow-init: refuse unsafe production settings, migrate the metadata DB, create the first admin.

The same program runs as the compose `airflow-init` service and as a step of the native `up`.
"""

from __future__ import annotations

import os
import subprocess
import sys

from stackctl import bootstrap, celery_results, warehouse
from stackctl.settings import SettingsError, check_production


def check_environment(environ: dict[str, str]) -> None:
    """Raise SettingsError naming the first missing or well-known credential in production."""
    check_production(environ)


def _connect(url: str):
    import psycopg2
    from sqlalchemy.engine import make_url

    parts = make_url(url.removeprefix("db+"))
    return psycopg2.connect(host=parts.host, port=parts.port, user=parts.username, password=parts.password,
                            dbname=parts.database, connect_timeout=10)


def ensure_results_database(environ: dict[str, str]) -> str:
    """The Celery result backend's own role and database (stackctl/celery_results.py), made once."""
    results_url = environ["AIRFLOW__CELERY__RESULT_BACKEND"]
    return _ensure_as_admin(environ, results_url, "the Celery result backend", "result backend database",
                            lambda query, dbname: celery_results.ensure(query, environ["CELERY_RESULTS_PASSWORD"],
                                                                        dbname))


def ensure_warehouse_database(environ: dict[str, str]) -> str:
    """The example pipelines' own role and database (stackctl/warehouse.py), made once."""
    from sqlalchemy.engine import make_url

    admin_url = make_url(environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    url = admin_url.set(username=warehouse.ROLE, password=environ["WAREHOUSE_PASSWORD"],
                        database=warehouse.DATABASE).render_as_string(hide_password=False)
    return _ensure_as_admin(environ, url, "the warehouse", "warehouse database",
                            lambda query, dbname: warehouse.ensure(query, environ["WAREHOUSE_PASSWORD"]))


def _ensure_as_admin(environ: dict[str, str], url: str, what: str, name: str, ensure) -> str:
    """Connect to `url`; if that fails, run `ensure(query, airflow_database)` as the admin role."""
    import psycopg2

    try:
        _connect(url).close()
        return f"{name} ready"
    except psycopg2.OperationalError:
        pass  # not created yet (compose's first start) or its password changed: (re)create as the admin role
    admin = _connect(environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    admin.autocommit = True  # CREATE DATABASE cannot run in a transaction

    def query(sql: str) -> str:
        with admin.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone() if cursor.description else None
        return str(row[0]) if row else ""

    try:
        ensure(query, admin.info.dbname)
    except psycopg2.Error as error:
        raise SystemExit(f"airflow-init: cannot create {what}'s role as "
                         f"{admin.info.user}: {error.pgerror or error}".strip()) from None
    finally:
        admin.close()
    return f"created the {name}"


def migrate() -> None:
    subprocess.run(["airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)


def ensure_admin(username: str, password: str) -> str:
    """Create the first admin if no user has that name; never touch an existing account."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        if appbuilder.sm.find_user(username=username):
            return f"admin user {username!r} already exists"
        role = appbuilder.sm.find_role("Admin")
        if not appbuilder.sm.add_user(username, "Airflow", "Admin", f"{username}@localhost", role, password):
            raise SystemExit(f"could not create the admin user {username!r}")
        return f"created admin user {username!r}"


def apply_bootstrap() -> None:
    """dags/bootstrap.yaml (bootstrapfile): pools, variables, connections; never stops the stack's start."""
    result = subprocess.run([sys.executable, "-m", "bootstrapfile"], capture_output=True, text=True)
    for line in (result.stdout + result.stderr).strip().splitlines():
        print(f"airflow-init: {line}", file=sys.stdout if result.returncode == 0 else sys.stderr)


def main() -> int:
    try:
        check_environment(dict(os.environ))
    except SettingsError as error:
        print(f"airflow-init: {error}", file=sys.stderr)
        return 2
    username = os.environ.get("_AIRFLOW_WWW_USER_USERNAME") or "admin"
    password = os.environ.get("_AIRFLOW_WWW_USER_PASSWORD")
    if not password:
        print("airflow-init: _AIRFLOW_WWW_USER_PASSWORD is not set; it is the first admin's password", file=sys.stderr)
        return 2
    migrate()
    print(f"airflow-init: database migrated; {ensure_admin(username, password)}; "
          f"{ensure_results_database(dict(os.environ))}; {ensure_warehouse_database(dict(os.environ))}")
    if not os.environ.get(bootstrap.LATER):  # natively `up` applies it once the 1Password fake is up
        apply_bootstrap()
    if os.environ.get("DAG_SOURCE") == "gitops":
        # the DAG processor clones the deploy mirror when it starts: publish origin's tip first
        result = subprocess.run([sys.executable, "-m", "webhook.deploy.bootstrap"], capture_output=True, text=True)
        report = (result.stdout + result.stderr).strip().splitlines()
        print(f"airflow-init: {report[-1] if report else 'bootstrap said nothing'}")
        if result.returncode != 0:
            print("airflow-init: the first deploy failed; nothing for Airflow to run", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
