"""Variables several programs read, each with its one default: a settings class names the type, and the default
comes with it (pydantic's Annotated fields).

    class Settings(EnvSettings):
        environment: Environment
        state_dir: StateDir

Addresses default to the compose network's (docker-compose.yaml): the native runner sets every one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from stacksettings.base import Port
from stacksettings.files import state_dir

Environment = Annotated[Literal["development", "production"], Field("development", validation_alias="ENVIRONMENT")]
StateDir = Annotated[Path, Field(default_factory=lambda: state_dir({}), validation_alias="STACK_STATE_DIR")]
BindHost = Annotated[str, Field("127.0.0.1", validation_alias="BIND_HOST")]  # natively loopback; compose 0.0.0.0
AirflowApiHost = Annotated[str, Field("airflow-apiserver", validation_alias="AIRFLOW_API_HOST")]
AirflowApiPort = Annotated[Port, Field(8080, validation_alias="AIRFLOW_API_PORT")]
WebhookPort = Annotated[Port, Field(8000, validation_alias="WEBHOOK_PORT")]
DEFAULT_TIMEZONE = "America/Chicago"  # dags/dagutils/team.py hands it to DAG code
TeamTimezone = Annotated[str, Field(DEFAULT_TIMEZONE, validation_alias="TEAM_TIMEZONE")]
