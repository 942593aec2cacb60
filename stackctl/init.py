"""airflow-init: refuse unsafe production settings, migrate the metadata DB, create the first admin.

The same program runs as the compose `airflow-init` service and as a step of the native `up`. Each step runs
only when the database needs it (`pending`, asked without importing Airflow, which costs seconds of CPU).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from stackctl import bootstrap, celery_results, monitoring, warehouse
from stackctl.settings import SettingsError, check_production


def check_environment(environ: dict[str, str]) -> None:
    """Raise SettingsError naming the first missing or well-known credential in production, or (compose) a `tls`
    profile that disagrees with TLS_CERT_PATH."""
    check_production(environ)
    error = monitoring.tls_profile_error(environ)
    if error:
        raise error


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


# Alembic version table -> its migrations folder in the installed airflow package: Airflow's own and the FAB
# auth manager's (an external DB manager `airflow db migrate` runs too).
MIGRATIONS = {"alembic_version": "migrations", "alembic_version_fab": "providers/fab/migrations"}
SCHEMA, ADMIN = "schema", "admin"


def installed_heads(package_dir: Path | None = None) -> dict[str, set[str]] | None:
    """Version table -> head revisions of the installed migrations, read from their files as Alembic would
    (a revision no other names as its down_revision). None when a migrations folder is one we do not know:
    then only `airflow db migrate` can tell."""
    if package_dir is None:
        spec = importlib.util.find_spec("airflow")  # finds the package without running it
        package_dir = Path(next(iter(spec.submodule_search_locations)))
    known = {package_dir / folder for folder in MIGRATIONS.values()}
    found = [*package_dir.glob("migrations/env.py"), *package_dir.glob("providers/*/migrations/env.py")]
    if {env.parent for env in found} - known:
        return None
    heads = {}
    for table, folder in MIGRATIONS.items():
        revisions, parents = set(), set()
        for path in (package_dir / folder / "versions").glob("*.py"):
            text = path.read_text()
            revision = re.search(r"^revision\s*=\s*['\"](\w+)['\"]", text, re.M)
            down = re.search(r"^down_revision\s*=\s*(.+)$", text, re.M)
            if revision:
                revisions.add(revision.group(1))
                parents.update(re.findall(r"['\"](\w+)['\"]", down.group(1)) if down else [])
        heads[table] = revisions - parents
    return heads


def pending(environ: dict[str, str], package_dir: Path | None = None) -> list[str]:
    """What this database still needs: SCHEMA (not at the installed Airflow's head revisions) and ADMIN (no user
    of that name); [] when neither. One connection, no Airflow import."""
    import psycopg2

    username = environ.get("_AIRFLOW_WWW_USER_USERNAME") or "admin"
    heads = installed_heads(package_dir)
    connection = _connect(environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    try:
        with connection.cursor() as cursor:
            def rows(table: str, sql: str, *args) -> set[str] | None:
                cursor.execute("SELECT to_regclass(%s)", (table,))
                if cursor.fetchone()[0] is None:
                    return None
                cursor.execute(sql, args)
                return {str(row[0]) for row in cursor.fetchall()}

            at_head = heads is not None and all(rows(table, f"SELECT version_num FROM {table}") == want
                                                for table, want in heads.items())
            admin = rows("ab_user", "SELECT 1 FROM ab_user WHERE username = %s", username)
    except psycopg2.Error:
        return [SCHEMA, ADMIN]
    finally:
        connection.close()
    return [name for name, done in ((SCHEMA, at_head), (ADMIN, bool(admin))) if not done]


def migrate() -> None:
    """`airflow db migrate`, in this process (it imports Airflow once for the whole of airflow-init)."""
    from airflow.utils.db import upgradedb

    upgradedb()


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
    """dags/bootstrap.yaml (bootstrapfile), in this process: pools, variables, connections; never stops the
    stack's start. Its lines are printed as they are (`up` shows the ones starting with `bootstrap`)."""
    from bootstrapfile.__main__ import main as bootstrap_main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = bootstrap_main([])
    except Exception as error:  # a bug or an unreachable vault must not stop the stack's start
        code, err = 1, io.StringIO(f"bootstrap: failed: {type(error).__name__}: {error}")
    for line in (out.getvalue() + err.getvalue()).strip().splitlines():
        print(line, file=sys.stdout if code == 0 else sys.stderr)


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
    todo = pending(dict(os.environ))
    if SCHEMA in todo:
        migrate()
    admin = ensure_admin(username, password) if ADMIN in todo else f"admin user {username!r} already exists"
    print(f"airflow-init: {'database migrated' if SCHEMA in todo else 'schema already at head'}; {admin}; "
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
