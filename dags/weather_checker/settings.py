"""Weather-checker settings, read from the environment once per task and validated with clear errors."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from stacksettings import EnvSettings, Port, SettingsError
from stacksettings.variables import AirflowApiHost, AirflowApiPort, Environment, StateDir, TeamTimezone, WebhookPort

__all__ = ["SettingsError", "WeatherSettings", "from_env"]
AGENT = "gitops-airflow-weather-checker/1.0"


@dataclass(frozen=True)
class WeatherSettings:
    """Everything the diagnostic needs, some of it derived from several variables: from_env builds it (the
    defaults are the variables', in Variables)."""

    environment: str
    latitude: float
    longitude: float
    nws_base_url: str
    nws_contact: str
    camera_id: str
    camera_url_pattern: str
    camera_label: str
    placeholder_digests: tuple[str, ...]
    timezone: str
    diagnostics_dir: Path
    history_size: int
    timeout: float
    check_timeout: float
    airflow_api_url: str
    redis_host: str
    redis_port: int
    webhook_url: str
    haproxy_stats_url: str
    stats_username: str
    stats_password: str = field(repr=False)
    stack_version: str
    profiles: tuple[str, ...] = ()

    @property
    def user_agent(self) -> str:
        """NWS refuses anonymous clients: name the stack and a contact."""
        return f"{AGENT} ({self.nws_contact})"

    @property
    def camera_url(self) -> str:
        return self.camera_url_pattern.replace("{id}", self.camera_id)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def secret_field(self) -> str:
        return f"{self.environment}.demonstration secret"


class Variables(EnvSettings):
    """The variables the diagnostic reads: one field each, with its default and bounds."""

    environment: Environment
    latitude: float = Field(30.2672, ge=-90, le=90, validation_alias="WEATHER_LATITUDE")
    longitude: float = Field(-97.7431, ge=-180, le=180, validation_alias="WEATHER_LONGITUDE")
    nws_base_url: str = Field("https://api.weather.gov", validation_alias="NWS_BASE_URL")
    nws_contact: str = Field("airflow-admin@localhost", validation_alias="NWS_CONTACT")
    camera_id: str = Field("533", validation_alias="CAMERA_ID")
    camera_url_pattern: str = Field("https://cctv.austinmobility.io/image/{id}.jpg",
                                    validation_alias="CAMERA_URL_PATTERN")
    camera_label: str = Field("38th & Duval", validation_alias="CAMERA_LABEL")
    placeholder_digests: str = Field("", validation_alias="CAMERA_PLACEHOLDER_SHA256")
    timezone: TeamTimezone
    state_dir: StateDir
    diagnostics_dir: Path | None = Field(None, validation_alias="DIAGNOSTICS_DIR")
    history_size: int = Field(20, ge=1, le=500, validation_alias="WEATHER_HISTORY_SIZE")
    timeout: float = Field(10.0, ge=0.5, le=120, validation_alias="WEATHER_HTTP_TIMEOUT")
    check_timeout: float = Field(3.0, ge=0.2, le=60, validation_alias="WEATHER_CHECK_TIMEOUT")
    api_host: AirflowApiHost
    api_port: AirflowApiPort
    redis_host: str = Field("redis", validation_alias="REDIS_HOST")
    redis_port: Port = Field(6379, validation_alias="REDIS_PORT")
    webhook_host: str = Field("webhook", validation_alias="WEBHOOK_HOST")
    webhook_port: WebhookPort
    # HAProxy's stats page on the compose network (natively the runner sets the URL)
    haproxy_stats_url: str = Field("http://haproxy:8084/;csv", validation_alias="HAPROXY_STATS_URL")
    # the stats page's read-only login (HAProxy's `stats` user), never Flower's
    stats_password: str = Field("", repr=False, validation_alias="HAPROXY_STATS_PASSWORD")
    stack_version: str = Field("", validation_alias="STACK_VERSION")
    # the compose profiles running (their HAProxy backends are judged only then)
    profiles: str = Field("", validation_alias="COMPOSE_PROFILES")

    @field_validator("nws_base_url", "camera_url_pattern", "haproxy_stats_url")
    @classmethod
    def _http(cls, value: str | None, info) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            name = cls.model_fields[info.field_name].validation_alias
            raise SettingsError(name, f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("camera_id")
    @classmethod
    def _camera_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value):
            raise SettingsError("CAMERA_ID", f"must be letters, digits, '-' or '_' (at most 40), got {value!r}")
        return value

    @field_validator("camera_url_pattern")
    @classmethod
    def _has_id(cls, value: str) -> str:
        if "{id}" not in value:
            raise SettingsError("CAMERA_URL_PATTERN", f"must contain {{id}}, got {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("TEAM_TIMEZONE", f"is not a known time zone: {value!r}") from None
        return value

    @field_validator("placeholder_digests")
    @classmethod
    def _digests(cls, value: str) -> str:
        for digest in filter(None, (d.strip() for d in value.split(","))):
            if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
                raise SettingsError("CAMERA_PLACEHOLDER_SHA256",
                                    f"must be comma-separated SHA-256 hex digests, got {digest!r}")
        return value


def from_env(env: Mapping[str, str] | None = None) -> WeatherSettings:
    """Build settings from environment variables (os.environ by default); raise SettingsError naming the first
    bad one."""
    v = Variables.from_env(env)
    return WeatherSettings(
        environment=v.environment, latitude=v.latitude, longitude=v.longitude,
        nws_base_url=v.nws_base_url.rstrip("/"), nws_contact=v.nws_contact, camera_id=v.camera_id,
        camera_url_pattern=v.camera_url_pattern, camera_label=v.camera_label,
        placeholder_digests=tuple(d.strip().lower() for d in v.placeholder_digests.split(",") if d.strip()),
        timezone=v.timezone, diagnostics_dir=v.diagnostics_dir or v.state_dir / "diagnostics",
        history_size=v.history_size, timeout=v.timeout, check_timeout=v.check_timeout,
        airflow_api_url=f"http://{v.api_host}:{v.api_port}", redis_host=v.redis_host, redis_port=v.redis_port,
        webhook_url=f"http://{v.webhook_host}:{v.webhook_port}/",
        haproxy_stats_url=v.haproxy_stats_url,
        stats_username="stats" if v.stats_password else "", stats_password=v.stats_password,
        stack_version=v.stack_version,
        profiles=tuple(p.strip() for p in v.profiles.split(",") if p.strip()))
