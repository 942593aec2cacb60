"""Weather-checker settings, read from the environment once per task and validated with clear errors."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CAMERA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
AGENT = "gitops-airflow-weather-checker/1.0"


class SettingsError(ValueError):
    """A weather-checker setting is invalid; the message names the variable."""


@dataclass(frozen=True)
class WeatherSettings:
    """Everything the diagnostic needs; one environment variable per field (see from_env)."""

    environment: str = "development"
    latitude: float = 30.2672
    longitude: float = -97.7431
    nws_base_url: str = "https://api.weather.gov"
    nws_contact: str = "airflow-admin@localhost"
    camera_id: str = "533"
    camera_url_pattern: str = "https://cctv.austinmobility.io/image/{id}.jpg"
    camera_label: str = "38th & Duval"
    placeholder_digests: tuple[str, ...] = ()
    timezone: str = "America/Chicago"
    diagnostics_dir: Path = Path(".state/diagnostics")
    history_size: int = 20
    timeout: float = 10.0
    check_timeout: float = 3.0
    airflow_api_url: str = "http://airflow-apiserver:8080"
    redis_host: str = "redis"
    redis_port: int = 6379
    webhook_url: str = "http://webhook:8000/"
    haproxy_stats_url: str = "http://haproxy:8084/;csv"
    stats_username: str = ""
    stats_password: str = field(default="", repr=False)
    stack_version: str = ""

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


def _float(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def _url(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value


def _host_port(env: dict[str, str], host_name: str, port_name: str, host: str, port: int) -> tuple[str, int]:
    return env.get(host_name, "").strip() or host, int(_float(env, port_name, port, 1, 65535))


def from_env(env: dict[str, str] | None = None) -> WeatherSettings:
    """Build settings from environment variables; raise SettingsError naming the first bad one."""
    env = dict(os.environ if env is None else env)
    environment = env.get("ENVIRONMENT", "").strip() or "development"
    if environment not in ("development", "production"):
        raise SettingsError(f"ENVIRONMENT must be development or production, got {environment!r}")
    camera_id = env.get("CAMERA_ID", "").strip() or WeatherSettings.camera_id
    if not CAMERA_ID_RE.match(camera_id):
        raise SettingsError(f"CAMERA_ID must be letters, digits, '-' or '_', got {camera_id!r}")
    pattern = _url(env, "CAMERA_URL_PATTERN", WeatherSettings.camera_url_pattern)
    if "{id}" not in pattern:
        raise SettingsError(f"CAMERA_URL_PATTERN must contain {{id}}, got {pattern!r}")
    timezone = env.get("TEAM_TIMEZONE", "").strip() or WeatherSettings.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"TEAM_TIMEZONE is not a known time zone: {timezone!r}") from None
    raw_digests = env.get("CAMERA_PLACEHOLDER_SHA256", "").split(",")
    digests = tuple(d.strip().lower() for d in raw_digests if d.strip())
    for digest in digests:
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise SettingsError(f"CAMERA_PLACEHOLDER_SHA256 must be comma-separated SHA-256 hex digests, "
                                f"got {digest!r}")
    state_dir = env.get("STACK_STATE_DIR", "").strip() or ".state"
    api_host, api_port = _host_port(env, "AIRFLOW_API_HOST", "AIRFLOW_API_PORT", "airflow-apiserver", 8080)
    redis_host, redis_port = _host_port(env, "REDIS_HOST", "REDIS_PORT", "redis", 6379)
    hook_host, hook_port = _host_port(env, "WEBHOOK_HOST", "WEBHOOK_PORT", "webhook", 8000)
    stats_port = int(_float(env, "PUBLIC_STATS_PORT", 8084, 1, 65535))
    return WeatherSettings(
        environment=environment,
        latitude=_float(env, "WEATHER_LATITUDE", WeatherSettings.latitude, -90, 90),
        longitude=_float(env, "WEATHER_LONGITUDE", WeatherSettings.longitude, -180, 180),
        nws_base_url=_url(env, "NWS_BASE_URL", WeatherSettings.nws_base_url).rstrip("/"),
        nws_contact=env.get("NWS_CONTACT", "").strip() or WeatherSettings.nws_contact,
        camera_id=camera_id,
        camera_url_pattern=pattern,
        camera_label=env.get("CAMERA_LABEL", "").strip() or WeatherSettings.camera_label,
        placeholder_digests=digests,
        timezone=timezone,
        diagnostics_dir=Path(env.get("DIAGNOSTICS_DIR", "").strip() or Path(state_dir) / "diagnostics"),
        history_size=int(_float(env, "WEATHER_HISTORY_SIZE", 20, 1, 500)),
        timeout=_float(env, "WEATHER_HTTP_TIMEOUT", 10.0, 0.5, 120),
        check_timeout=_float(env, "WEATHER_CHECK_TIMEOUT", 3.0, 0.2, 60),
        airflow_api_url=f"http://{api_host}:{api_port}",
        redis_host=redis_host,
        redis_port=redis_port,
        webhook_url=f"http://{hook_host}:{hook_port}/",
        haproxy_stats_url=_url(env, "HAPROXY_STATS_URL", f"http://haproxy:{stats_port}/;csv"),
        # the stats page's read-only login (HAProxy's `stats` user), never Flower's
        stats_username="stats" if env.get("HAPROXY_STATS_PASSWORD") else "",
        stats_password=env.get("HAPROXY_STATS_PASSWORD", ""),
        stack_version=env.get("STACK_VERSION", "").strip(),
    )
