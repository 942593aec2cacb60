"""The example pipelines' PostgreSQL database "warehouse": a role and database of their own, apart from Airflow's.

Role and database `warehouse` (password WAREHOUSE_PASSWORD, generated like the other development credentials):
it owns only its database and cannot connect to Airflow's, whose CONNECT right stackctl/celery_results.py takes
from PUBLIC. Tasks reach it through the Airflow connection `warehouse` (dags/bootstrap.yaml), whose password is
a reference to the 1Password item "Warehouse database". Natively `./stack up` runs this as the cluster's
superuser; under compose airflow-init runs it as POSTGRES_USER.
"""

from __future__ import annotations

from collections.abc import Callable

ROLE = DATABASE = "warehouse"
# the password goes into connection URLs unquoted
SAFE_PASSWORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _literal(password: str) -> str:
    if not password or not set(password) <= SAFE_PASSWORD:
        raise ValueError("WAREHOUSE_PASSWORD must be non-empty and use URL-safe characters only "
                         "(letters, digits, - _ . ~)")
    return f"'{password}'"


def ensure(query: Callable[[str], str], password: str) -> None:
    """Create or update the role and its database; safe to repeat. `query` as in celery_results.ensure."""
    verb = "ALTER" if query(f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'") else "CREATE"
    query(f"{verb} ROLE {ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {_literal(password)}")
    if not query(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"):
        query(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    query(f"REVOKE CONNECT ON DATABASE {DATABASE} FROM PUBLIC")
    query(f"GRANT CONNECT ON DATABASE {DATABASE} TO {ROLE}")
