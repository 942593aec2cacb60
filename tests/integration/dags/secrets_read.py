"""Integration check: a task reads a secret through dagutils.onepassword, another a connection and a
variable through the 1Password secrets backend. Nothing secret is returned (XCom) and logs are masked."""

import sys
from datetime import timedelta
from pathlib import Path

# This folder is its own DAG bundle, so the product's dags/ folder (dagutils) is not on sys.path here.
PRODUCT_DAGS = str(Path(__file__).resolve().parents[3] / "dags")
if PRODUCT_DAGS not in sys.path:
    sys.path.append(PRODUCT_DAGS)

from airflow.sdk import dag, task  # noqa: E402


@dag(
    dag_id="secrets-read",
    schedule=None,
    catchup=False,
    doc_md=__doc__,
    tags=["integration"],
    params={"expected_sha256": "", "expected_greeting": ""},
    default_args={"owner": "integration-tests", "retries": 0, "execution_timeout": timedelta(minutes=2)},
)
def secrets_read():
    @task
    def read_secret_through_the_utility(params=None) -> None:
        import hashlib
        import os

        from dagutils.onepassword import get_secret

        section = os.environ.get("ENVIRONMENT", "development")
        value = get_secret("Diagnostic ETL (Weather)", f"{section}.demonstration secret")
        if hashlib.sha256(value.encode()).hexdigest() != params["expected_sha256"]:
            raise ValueError("the secret read through dagutils.onepassword is not the expected one")
        print(f"secret read: {value}")  # on purpose: the test checks the task log shows *** instead

    @task
    def read_connection_and_variable_through_the_backend(params=None) -> None:
        from airflow.sdk import BaseHook, Variable

        conn = BaseHook.get_connection("slack")
        if conn.conn_type != "slackwebhook" or "/services/" not in (conn.password or ""):
            raise ValueError(f"connection 'slack' from 1Password has conn_type {conn.conn_type!r}")
        if Variable.get("diagnostic_greeting") != params["expected_greeting"]:
            raise ValueError("variable diagnostic_greeting from 1Password is not the expected one")

    read_secret_through_the_utility()
    read_connection_and_variable_through_the_backend()


secrets_read()
