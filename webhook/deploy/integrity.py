"""The house rules a deploy policy can set to block, warn or off: tags, tasks, an owner, retries, a timeout."""

from __future__ import annotations

# Airflow's built-in default owner: it means "nobody set one".
DEFAULT_OWNER = "airflow"

# What each rule says about a DAG that breaks it (the rule names are deploy-policy.yaml's keys).
MESSAGES = {
    "tags": "has no tags",
    "tasks": "has no tasks",
    "owner": "has a task without an owner (set default_args['owner'])",
    "retries": "sets no retries (set default_args['retries'])",
    "timeout": "has no timeout (set dagrun_timeout or execution_timeout on every task)",
}


def broken(dag) -> list[str]:
    """The names of the rules one parsed DAG breaks (empty when it complies with all of them)."""
    found = []
    if not dag.tags:
        found.append("tags")
    if not dag.tasks:
        found.append("tasks")
    elif any(not task.owner or task.owner == DEFAULT_OWNER for task in dag.tasks):
        found.append("owner")
    if "retries" not in (dag.default_args or {}) and any(not task.retries for task in dag.tasks):
        found.append("retries")
    if dag.dagrun_timeout is None and any(task.execution_timeout is None for task in dag.tasks):
        found.append("timeout")
    return found
