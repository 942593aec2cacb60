"""The Celery result backend's own PostgreSQL role and database, so workers never hold Airflow's database login.

Role and database `celery_results`: it owns only its database (Celery creates its two tables there on first
use) and cannot connect to Airflow's, whose CONNECT right is taken from PUBLIC. Natively `./stack up` runs this
as the cluster's superuser; under compose airflow-init runs it as POSTGRES_USER (the image makes it superuser).
"""

from __future__ import annotations

from collections.abc import Callable

RESULTS_ROLE = "celery_results"  # compose's x-credentials.results names it in the result backend's URL
SAFE_PASSWORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _literal(password: str) -> str:
    if not password or not set(password) <= SAFE_PASSWORD:
        # it goes into the result backend's URL too, unquoted
        raise ValueError("CELERY_RESULTS_PASSWORD must be non-empty and use URL-safe characters only "
                         "(letters, digits, - _ . ~)")
    return f"'{password}'"


def ensure(query: Callable[[str], str], password: str, airflow_database: str) -> None:
    """Create or update the role and its database, and close Airflow's database to PUBLIC; safe to repeat.

    `query(sql)` runs one statement as a role allowed to create roles and databases and returns its first
    value ('' for none). CREATE DATABASE cannot run in a transaction, so each statement is sent alone.
    """
    exists = query(f"SELECT 1 FROM pg_roles WHERE rolname = '{RESULTS_ROLE}'")
    verb = "ALTER" if exists else "CREATE"
    query(f"{verb} ROLE {RESULTS_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {_literal(password)}")
    if not query(f"SELECT 1 FROM pg_database WHERE datname = '{RESULTS_ROLE}'"):
        query(f"CREATE DATABASE {RESULTS_ROLE} OWNER {RESULTS_ROLE}")
    quoted = '"' + airflow_database.replace('"', '""') + '"'
    query(f"REVOKE CONNECT ON DATABASE {quoted} FROM PUBLIC")
