"""Airflow's cluster policies for this stack; every Airflow program imports this module (the project is on its
PYTHONPATH), so the DAG processor, `airflow dags test` and the deploy gate's validation judge DAGs alike.

Roles are global here: the DAG processor runs without FAB's auth manager (compose.services.yaml), so nothing
would apply a DAG's `access_control`. Refusing it is better than ignoring it in silence.
"""

from __future__ import annotations

from airflow.exceptions import AirflowClusterPolicyViolation

ACCESS_CONTROL_REFUSED = (
    "DAG {dag_id!r} sets access_control, which this stack does not apply: roles are global (Viewer, User, Op "
    "and Admin see every DAG) and the DAG processor does not sync FAB's per-DAG permissions. Remove "
    "access_control (documentation/writing-dags.md, \"Who sees a DAG\")."
)


def dag_policy(dag) -> None:
    """Refuse a DAG whose access_control would be ignored."""
    if getattr(dag, "access_control", None) is not None:
        raise AirflowClusterPolicyViolation(ACCESS_CONTROL_REFUSED.format(dag_id=dag.dag_id))
