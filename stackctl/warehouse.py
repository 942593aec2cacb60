"""The example pipelines' PostgreSQL database "warehouse": a role and database of their own, apart from Airflow's.

Role and database `warehouse` (password WAREHOUSE_PASSWORD, generated like the other development credentials):
it owns only its database and cannot connect to Airflow's, whose CONNECT right stackctl/celery_results.py takes
from PUBLIC. Tasks reach it through the Airflow connection `warehouse` (dags/bootstrap.yaml), whose password is
a reference to the 1Password item "Warehouse database". Natively `./stack up` runs this as the cluster's
superuser; under compose airflow-init runs it as POSTGRES_USER.
"""

from __future__ import annotations

from collections.abc import Callable

from stackctl.celery_results import ensure_owned_database

ROLE = DATABASE = "warehouse"


def ensure(query: Callable[[str], str], password: str) -> None:
    """Create or update the role and its database, open to that role only; safe to repeat."""
    ensure_owned_database(query, ROLE, password, "WAREHOUSE_PASSWORD")
    query(f"REVOKE CONNECT ON DATABASE {DATABASE} FROM PUBLIC")
    query(f"GRANT CONNECT ON DATABASE {DATABASE} TO {ROLE}")
