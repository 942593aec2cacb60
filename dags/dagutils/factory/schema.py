"""What a DAG config (one YAML file under dags/configs/) may say: the DAG's settings and its tasks, each of
one kind with typed parameters. Anything else, and any value of the wrong type, is an error."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,200}$")]
# Airflow's built-in default owner means "nobody": a config names a real one.
DEFAULT_OWNER = "airflow"


class _Task(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Name
    depends_on: list[Name] = []
    retries: Annotated[int, Field(ge=0, le=20)] | None = None  # overrides the DAG's
    timeout_minutes: Annotated[int, Field(gt=0)] | None = None  # execution_timeout of this task


class EmptyTask(_Task):
    """A no-op: a start, a join, a marker."""

    kind: Literal["empty"]


class BashTask(_Task):
    """A shell command (Jinja-templated, like any BashOperator's)."""

    kind: Literal["bash"]
    command: Annotated[str, Field(min_length=1)]
    env: dict[str, str] = {}


class PythonTask(_Task):
    """A function importable from the DAG folder or the installed packages, called with `kwargs`."""

    kind: Literal["python"]
    callable: Annotated[str, Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
                                   description="module:function")]
    kwargs: dict[str, JsonValue] = {}


Task = Annotated[EmptyTask | BashTask | PythonTask, Field(discriminator="kind")]
KINDS = ("bash", "empty", "python")


class DagConfig(BaseModel):
    """One DAG. Its id is the file's name unless `dag_id` says otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dag_id: Name | None = None
    description: str = ""
    schedule: str | None  # required; null means triggered only
    start_date: date = date(2026, 1, 1)
    owner: Annotated[str, Field(min_length=1)]
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(min_length=1)]
    retries: Annotated[int, Field(ge=0, le=20)] = 1
    retry_delay_minutes: Annotated[float, Field(gt=0)] = 5
    timeout_minutes: Annotated[int, Field(gt=0)] = 60  # dagrun_timeout
    max_active_runs: Annotated[int, Field(gt=0)] = 1
    tasks: Annotated[list[Task], Field(min_length=1)]

    @field_validator("owner")
    @classmethod
    def _a_real_owner(cls, owner: str) -> str:
        if owner == DEFAULT_OWNER:
            raise ValueError(f"'{DEFAULT_OWNER}' is Airflow's default and means nobody; name the team")
        return owner
