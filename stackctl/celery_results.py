"""The Celery result backend's own PostgreSQL role and database, so workers never hold Airflow's database login.

Role and database `celery_results`: it owns only its database (Celery creates its two tables there on first
use) and cannot connect to Airflow's, whose CONNECT right is taken from PUBLIC. Natively `./stack up` runs this
as the cluster's superuser; under compose airflow-init runs it as POSTGRES_USER (the image makes it superuser).
"""

from __future__ import annotations

from collections.abc import Callable

RESULTS_ROLE = "celery_results"  # compose's x-credentials.results names it in the result backend's URL
SAFE_PASSWORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def ensure_owned_database(query: Callable[[str], str], name: str, password: str, variable: str) -> None:
    """Create or update login role `name` (no other rights) and database `name` it owns; safe to repeat.

    `query(sql)` runs one statement as a role allowed to create roles and databases and returns its first
    value ('' for none). CREATE DATABASE cannot run in a transaction, so each statement is sent alone.
    The password goes into connection URLs unquoted, so `variable` must hold URL-safe characters only.
    """
    if not password or not set(password) <= SAFE_PASSWORD:
        raise ValueError(f"{variable} must be non-empty and use URL-safe characters only (letters, digits, - _ . ~)")
    verb = "ALTER" if query(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'") else "CREATE"
    query(f"{verb} ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'")
    if not query(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
        query(f"CREATE DATABASE {name} OWNER {name}")


def ensure(query: Callable[[str], str], password: str, airflow_database: str) -> None:
    """The result backend's role and database, and Airflow's database closed to PUBLIC; safe to repeat."""
    ensure_owned_database(query, RESULTS_ROLE, password, "CELERY_RESULTS_PASSWORD")
    quoted = '"' + airflow_database.replace('"', '""') + '"'
    query(f"REVOKE CONNECT ON DATABASE {quoted} FROM PUBLIC")
