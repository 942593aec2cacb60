"""Dashboard settings from the environment, validated once at start-up (stacksettings)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from stacksettings import EnvSettings, Port
from stacksettings.variables import BindHost, TeamTimezone


class Settings(EnvSettings):
    """BIND_HOST, DASHBOARD_PORT, the sources' URLs and Airflow login (the compose service sets them), the team's
    time zone, the workers' WORKER_CONCURRENCY."""

    host: BindHost
    port: Port = Field(8090, validation_alias="DASHBOARD_PORT")
    # Prometheus under its route prefix (http://prometheus:9090/prometheus), the webhook's status page
    prometheus_url: str = Field(validation_alias="PROMETHEUS_URL")
    webhook_url: str = Field(validation_alias="WEBHOOK_URL")
    airflow_url: str = Field(validation_alias="AIRFLOW_API_URL")
    # a Viewer account airflow-init makes (stackctl/init.py): reads runs and tasks, changes nothing
    airflow_username: str = Field(validation_alias="DASHBOARD_AIRFLOW_USERNAME")
    airflow_password: str = Field(validation_alias="DASHBOARD_AIRFLOW_PASSWORD", repr=False, min_length=1)
    # days and hours on the charts are the team's (the same default as dagutils.team's, for the DAGs)
    timezone: TeamTimezone
    timeout: float = Field(5.0, gt=0, le=60, validation_alias="DASHBOARD_SOURCE_TIMEOUT")
    # task slots per Celery worker (the workers' own setting): open worker slots = this x workers online - busy
    worker_concurrency: int = Field(ge=1, validation_alias="WORKER_CONCURRENCY")

    @field_validator("prometheus_url", "webhook_url", "airflow_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL, got {url!r}")
        return url

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"must be a time zone name such as America/Chicago, got {name!r}") from None
        return name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
