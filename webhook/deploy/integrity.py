"""House rules every DAG must follow before it may be deployed: tags, an owner, retries, a timeout."""

from __future__ import annotations

# Airflow's built-in default owner: it means "nobody set one".
DEFAULT_OWNER = "airflow"


def problems(dag) -> list[str]:
    """Human-readable rule violations of one parsed DAG (empty when it complies)."""
    found = []
    if not dag.tags:
        found.append("has no tags")
    owners = {getattr(task, "owner", None) for task in dag.tasks}
    if not dag.tasks:
        found.append("has no tasks")
    elif any(not owner or owner == DEFAULT_OWNER for owner in owners):
        found.append("has a task without an owner (set default_args['owner'])")
    if "retries" not in (dag.default_args or {}) and any(not task.retries for task in dag.tasks):
        found.append("sets no retries (set default_args['retries'])")
    if dag.dagrun_timeout is None and any(task.execution_timeout is None for task in dag.tasks):
        found.append("has no timeout (set dagrun_timeout or execution_timeout on every task)")
    return found
