"""Build one Airflow DAG from one YAML config; any problem is one ConfigError naming the file and the field.

Each config has a two-line DAG file of the same name beside it (dagutils.factory.stubs writes it), so a bad
config is an import error of its own file and every other config's DAG still loads and runs: Airflow marks
all DAGs of a file that failed to import as having import errors, and the scheduler skips them.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from pathlib import Path

import yaml
from pydantic import ValidationError

from dagutils.factory.schema import KINDS, DagConfig

# libyaml when it is there (about ten times faster than the pure-Python parser)
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_ERRORS = 5


class ConfigError(ValueError):
    """A DAG config that cannot be built: "<file>: <field>: <what is wrong>" (up to MAX_ERRORS of them)."""


def dag_from_yaml(dag_file: str):
    """The DAG of the config beside `dag_file` (`dags/configs/x.py` -> `dags/configs/x.yaml`)."""
    path = Path(dag_file).with_suffix(".yaml")
    shown = f"{path.parent.name}/{path.name}"
    config = load(path, shown)
    return build(config, config.dag_id or path.stem, shown)


def load(path: Path, shown: str) -> DagConfig:
    try:
        data = yaml.load(path.read_text(), Loader=LOADER)  # noqa: S506 (a safe loader)
    except FileNotFoundError:
        raise ConfigError(f"{shown}: missing (a DAG file of the factory needs its config beside it)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "YAML"
        raise ConfigError(f"{shown}: {where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}: must be a mapping of DAG settings, got {type(data).__name__}")
    try:
        config = DagConfig.model_validate(data)
    except ValidationError as exc:
        errors = [_describe(error, data) for error in exc.errors()]
        raise ConfigError(f"{shown}: " + "; ".join(errors[:MAX_ERRORS])) from None
    problem = _graph_problem(config)
    if problem:
        raise ConfigError(f"{shown}: {problem}")
    return config


def _describe(error: dict, data: dict) -> str:
    """'tasks[1] (load).kind: unknown task kind ...' from one pydantic error."""
    loc, parts = list(error["loc"]), []
    while loc:
        part = loc.pop(0)
        if isinstance(part, int):
            parts[-1] += f"[{part}]"
            if parts[-1].startswith("tasks[") and loc and loc[0] in KINDS:
                loc.pop(0)  # the union's tag, not a field the author wrote
            task = (data.get("tasks") or [None] * (part + 1))[part] if parts == [f"tasks[{part}]"] else None
            if isinstance(task, dict) and isinstance(task.get("id"), str):
                parts[-1] += f" ({task['id']})"
        else:
            parts.append(str(part))
    field = ".".join(parts) or "(the file)"
    kind = error["type"]
    if kind == "union_tag_invalid":
        what = f"unknown task kind {error['input'].get('kind')!r} (kinds: {', '.join(KINDS)})"
        field += ".kind"
    elif kind == "union_tag_not_found":
        what = f"no task kind (kinds: {', '.join(KINDS)})"
        field += ".kind"
    elif kind == "missing":
        what = "missing (required)"
    elif kind == "extra_forbidden":
        what = "unknown field"
    else:
        what = error["msg"].removeprefix("Value error, ")
        if kind not in ("value_error", "string_pattern_mismatch"):
            what += f", got {error['input']!r}"
    return f"{field}: {what}"


def _graph_problem(config: DagConfig) -> str | None:
    """Duplicate task ids, dependencies on unknown tasks, or a cycle (named by its path)."""
    ids = [task.id for task in config.tasks]
    for index, task in enumerate(config.tasks):
        if ids.index(task.id) != index:
            return f"tasks[{index}] ({task.id}).id: duplicate task id"
        for upstream in task.depends_on:
            if upstream not in ids:
                return f"tasks[{index}] ({task.id}).depends_on: unknown task {upstream!r}"
    upstream_of = {task.id: task.depends_on for task in config.tasks}
    state: dict[str, str] = {}
    stack: list[str] = []

    def cycle_from(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for upstream in upstream_of[node]:
            if state.get(upstream) == "open":
                return [*stack[stack.index(upstream):], upstream]
            if upstream not in state and (cycle := cycle_from(upstream)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in ids:
        if node not in state and (cycle := cycle_from(node)):
            # in the order the tasks would run: each one before the next
            return f"tasks.depends_on: dependency cycle {' -> '.join(reversed(cycle))}"
    return None


def build(config: DagConfig, dag_id: str, shown: str):
    from airflow.sdk import DAG

    dag = DAG(
        dag_id=dag_id,
        description=config.description or f"Built from {shown} by the DAG factory",
        doc_md=f"Built by the DAG factory from `{shown}`.\n\n{config.description}",
        schedule=config.schedule,
        start_date=datetime.combine(config.start_date, datetime.min.time()),
        catchup=False,
        tags=list(config.tags),
        max_active_runs=config.max_active_runs,
        dagrun_timeout=timedelta(minutes=config.timeout_minutes),
        default_args={"owner": config.owner, "retries": config.retries,
                      "retry_delay": timedelta(minutes=config.retry_delay_minutes)},
    )
    with dag:
        operators = {task.id: _operator(task, index, shown) for index, task in enumerate(config.tasks)}
    for task in config.tasks:
        for upstream in task.depends_on:
            operators[upstream] >> operators[task.id]
    return dag


def _operator(task, index: int, shown: str):
    common = {"task_id": task.id}
    if task.retries is not None:
        common["retries"] = task.retries
    if task.timeout_minutes is not None:
        common["execution_timeout"] = timedelta(minutes=task.timeout_minutes)
    if task.kind == "empty":
        from airflow.providers.standard.operators.empty import EmptyOperator

        return EmptyOperator(**common)
    if task.kind == "bash":
        from airflow.providers.standard.operators.bash import BashOperator

        return BashOperator(bash_command=task.command, env=dict(task.env) or None, append_env=True, **common)
    from airflow.providers.standard.operators.python import PythonOperator

    return PythonOperator(python_callable=_import(task, index, shown), op_kwargs=dict(task.kwargs), **common)


def _import(task, index: int, shown: str):
    module, _, name = task.callable.partition(":")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{shown}: tasks[{index}] ({task.id}).callable: cannot import "
                          f"{task.callable!r}: {exc}") from None
    if not callable(function):
        raise ConfigError(f"{shown}: tasks[{index}] ({task.id}).callable: {task.callable!r} is not callable")
    return function
