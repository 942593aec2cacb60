"""Typed settings for the native stack, built once from the process environment over `.env` over the generated
secrets file (stacksettings.layered) and checked once (Variables)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, create_model, field_validator, model_validator

import stacksettings
from stackctl.credentials import GENERATED_SECRETS, KNOWN_DEFAULTS
from stacksettings import PROJECT_DIR, EnvSettings, Port, SettingsError, layered, read_env_file, with_env_file
from stacksettings.variables import Environment, StateDir

__all__ = ["GENERATED_SECRETS", "PORT_DEFAULTS", "PROJECT_DIR", "Settings", "SettingsError", "check_production",
           "load", "production_problem", "read_env_file", "state_dir", "with_env_file"]

# Default ports of the native stack. Every one can be set by its variable; STACK_PORT_OFFSET shifts all the
# defaults at once so a second stack can run beside the first with one setting.
PORT_DEFAULTS = {
    "PUBLIC_AIRFLOW_PORT": 8080,
    "PUBLIC_WEBHOOK_PORT": 8081,
    "PUBLIC_FLOWER_PORT": 8082,
    "PUBLIC_DIAGNOSTICS_PORT": 8083,
    "PUBLIC_STATS_PORT": 8084,
    "AIRFLOW_API_PORT": 28080,
    "WEBHOOK_PORT": 28000,
    "FLOWER_PORT": 25555,
    "DIAGNOSTICS_PORT": 28083,
    "POSTGRES_PORT": 25432,
    "REDIS_PORT": 26379,
    "FAKE_ONEPASSWORD_PORT": 28090,
    "FAKE_SLACK_PORT": 28091,
    "FIXTURE_SERVER_PORT": 28092,
    # the `monitoring` profile (documentation/monitoring.md)
    "PUBLIC_MONITORING_PORT": 8088,
    "PROMETHEUS_PORT": 29090,
    "ALERTMANAGER_PORT": 29093,
    "DASHBOARD_PORT": 28095,
    "STATSD_PORT": 29125,
    "STATSD_EXPORTER_PORT": 29102,
    "HAPROXY_METRICS_PORT": 28405,
    "BLACKBOX_EXPORTER_PORT": 29115,
}

# Natively every program listens on loopback; each of these can be set.
DEFAULTS = {
    "BIND_HOST": "127.0.0.1",
    "HAPROXY_BIND": "127.0.0.1",
    "AIRFLOW_API_HOST": "127.0.0.1",
    "WEBHOOK_HOST": "127.0.0.1",
    "FLOWER_HOST": "127.0.0.1",
    "DIAGNOSTICS_HOST": "127.0.0.1",
    "POSTGRES_HOST": "127.0.0.1",
    "REDIS_HOST": "127.0.0.1",
    "PROMETHEUS_HOST": "127.0.0.1",
    "ALERTMANAGER_HOST": "127.0.0.1",
    "DASHBOARD_HOST": "127.0.0.1",
    "HAPROXY_METRICS_BIND": "127.0.0.1",  # HAProxy's metrics listener (haproxy.cfg), never public
}  # every other default is compose's (compose.defaults.env): Settings[name] reads it

_Ports = create_model("_Ports", __base__=EnvSettings,
                      **{name: (Port | None, Field(None, validation_alias=name)) for name in PORT_DEFAULTS})


class Variables(_Ports):
    """The variables the native stack checks before it starts anything; every other one is handed on as is."""

    environment: Environment
    port_offset: int = Field(0, ge=-8000, le=30000, validation_alias="STACK_PORT_OFFSET")
    state_dir: StateDir
    venv_dir: Path = Field(PROJECT_DIR / ".venv", validation_alias="STACK_VENV")
    dags_folder: Path = Field(PROJECT_DIR / "dags", validation_alias="STACK_DAGS_FOLDER")
    # where Airflow reads DAGs: the working tree (development) or the deploy webhook's mirror (GitOps)
    dag_source: Literal["worktree", "gitops"] | None = Field(None, validation_alias="DAG_SOURCE")
    deploy_repo_url: str = Field("", validation_alias="DEPLOY_REPO_URL")
    worker_concurrency: int | None = Field(None, ge=1, validation_alias="WORKER_CONCURRENCY")  # default: compose's

    @field_validator("state_dir", "dags_folder")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        return path.resolve()

    @property
    def ports(self) -> dict[str, int]:
        """Every port: its variable, else its default moved by STACK_PORT_OFFSET."""
        return {name: getattr(self, name) or default + self.port_offset for name, default in PORT_DEFAULTS.items()}

    @property
    def source(self) -> str:
        return self.dag_source or ("gitops" if self.environment == "production" else "worktree")

    @model_validator(mode="after")
    def _consistent(self) -> Variables:
        if self.source == "gitops" and not self.deploy_repo_url:
            raise SettingsError("DEPLOY_REPO_URL", "must be set when DAG_SOURCE=gitops (the repository the webhook "
                                "deploys)")
        seen: dict[int, str] = {}
        for name, port in self.ports.items():
            if port in seen:
                raise SettingsError(name, f"is {port}, the port of {seen[port]}")
            seen[port] = name
        return self


_ASKED: set[str] = set()  # names Settings[name] is asking compose for


@dataclass(frozen=True)
class Settings:
    """Everything the native stack needs, validated."""

    environment: str
    project_dir: Path
    state_dir: Path
    venv_dir: Path
    dags_folder: Path
    ports: dict[str, int]
    values: dict[str, str] = field(repr=False)

    def __getitem__(self, name: str) -> str:
        """The value set here, else compose's default (compose.defaults.env holds each default once)."""
        if name in self.values:
            return self.values[name]
        if name in _ASKED:  # deriving the stack asked for it again: no value anywhere
            raise KeyError(name)
        from stackctl import services  # services reads these settings

        _ASKED.add(name)
        try:
            return services.given(self, name)
        except services.compose.ComposeError:
            raise KeyError(name) from None
        finally:
            _ASKED.discard(name)

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / stacksettings.SECRETS_FILE

    def public_url(self, port_name: str) -> str:
        return f"http://{self.values['HAPROXY_BIND']}:{self.ports[port_name]}"

    def bin(self, program: str) -> str:
        return str(self.venv_dir / "bin" / program)


def state_dir(environ: Mapping[str, str]) -> Path:
    """The state folder, also when STACK_STATE_DIR is set only in `.env`."""
    return stacksettings.state_dir(with_env_file(environ))


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment, `.env` and the secrets file; raise SettingsError naming the first
    bad variable."""
    values = layered(os.environ if environ is None else environ)
    checked = Variables.from_env(values)
    ports = checked.ports
    values.update({name: str(port) for name, port in ports.items()})
    values.update({name: value for name, value in DEFAULTS.items() if not values.get(name)})
    values["ENVIRONMENT"] = checked.environment
    values["DAG_SOURCE"] = checked.source
    if values.get("_AIRFLOW_WWW_USER_USERNAME"):  # natively Flower's login follows the admin's (both: compose's)
        values.setdefault("FLOWER_USERNAME", values["_AIRFLOW_WWW_USER_USERNAME"])
    values.setdefault("DIAGNOSTICS_DIR", str(checked.state_dir / "diagnostics"))
    development = checked.environment == "development"
    if development and not values.get("OP_CONNECT"):
        # the local fake Connect server (devtools/fake_onepassword.py), so development works offline
        values["OP_CONNECT"] = f"http://127.0.0.1:{ports['FAKE_ONEPASSWORD_PORT']}"
        values.setdefault("OP_API_TOKEN", "development-only-token")
        values.setdefault("OP_VAULT_ID", "airflowdevelopmentvault001")  # the example vault's id
        # the webhook's and relay's own token, for the infrastructure vault only
        values.setdefault("OP_INFRA_TOKEN", "development-only-infra-token")
        values.setdefault("OP_INFRA_VAULT_ID", "airflowinfrastructurevault")
    if development and not values.get("NWS_BASE_URL"):
        # the local NWS and traffic-camera fixtures (devtools/fixture_server.py): weather-checker runs offline
        fixtures = f"http://127.0.0.1:{ports['FIXTURE_SERVER_PORT']}"
        values["NWS_BASE_URL"] = fixtures
        values.setdefault("CAMERA_URL_PATTERN", fixtures + "/image/{id}.jpg")
    values.setdefault("HAPROXY_STATS_URL", f"http://{values['HAPROXY_BIND']}:{ports['PUBLIC_STATS_PORT']}/;csv")
    settings = Settings(checked.environment, PROJECT_DIR, checked.state_dir, checked.venv_dir, checked.dags_folder,
                        ports, values)
    if settings.production:
        check_production(settings)
    return settings


# Host names of the compose `dev` profile's fakes: a production setting pointing at one is a leftover.
DEVELOPMENT_HOSTS = ("fake-onepassword", "fake-slack", "fixture-server")
DEVELOPMENT_URL_SETTINGS = ("OP_CONNECT", "NWS_BASE_URL", "CAMERA_URL_PATTERN")


def production_error(values: Mapping[str, str]) -> SettingsError | None:
    """Why these settings may not start a production stack, naming the variable, or None.

    The one check for both modes: the native `up` and compose's airflow-init call it before anything starts.
    """
    if values.get("WEBHOOK_KEY"):
        return SettingsError("WEBHOOK_KEY", "is set; production reads the webhook key from 1Password (remove it)")
    for name in GENERATED_SECRETS:
        if name == "WEBHOOK_KEY":
            continue
        value = values.get(name) or ""
        if value.strip().lower() in KNOWN_DEFAULTS:
            state = "is not set" if not value else "is a well-known default"
            return SettingsError(name, f"{state}; set a strong value")
        if len(value) < 12:
            return SettingsError(name, "is shorter than 12 characters")
    if values.get("FLOWER_USERNAME") == values.get("FLOWER_PASSWORD"):
        return SettingsError("FLOWER_PASSWORD", "equals FLOWER_USERNAME")
    return _onepassword_error(values) or _development_address_error(values)


def production_problem(values: Mapping[str, str]) -> str | None:
    """production_error as a sentence, or None."""
    error = production_error(values)
    return str(error) if error else None


def _onepassword_error(values: Mapping[str, str]) -> SettingsError | None:
    """Tasks' token and the webhook's must be two tokens for two vaults, and deploys need the webhook's."""
    if values.get("DEPLOY_REPO_URL"):
        for name in ("OP_CONNECT", "OP_INFRA_TOKEN", "OP_INFRA_VAULT_ID"):
            if not values.get(name):
                return SettingsError(name, "is not set; the webhook reads its key from 1Password's infrastructure "
                                     "vault")
    if values.get("OP_INFRA_TOKEN") and values.get("OP_INFRA_TOKEN") == values.get("OP_API_TOKEN"):
        return SettingsError("OP_INFRA_TOKEN", "equals OP_API_TOKEN; tasks must not hold the infrastructure vault's "
                             "token")
    if values.get("OP_INFRA_VAULT_ID") and values.get("OP_INFRA_VAULT_ID") == values.get("OP_VAULT_ID"):
        return SettingsError("OP_INFRA_VAULT_ID", "equals OP_VAULT_ID; infrastructure items need a vault of their own")
    return None


def _development_address_error(values: Mapping[str, str]) -> SettingsError | None:
    for name in DEVELOPMENT_URL_SETTINGS:
        if any(f"//{host}:" in (values.get(name) or "") for host in DEVELOPMENT_HOSTS):
            return SettingsError(name, f"points at a development fake ({values[name]}); set the real service's "
                                 "address")
    return None


def check_production(values: Settings | Mapping[str, str]) -> None:
    """With ENVIRONMENT=production, refuse any missing or well-known credential, naming the variable."""
    values = values.values if isinstance(values, Settings) else values
    if values.get("ENVIRONMENT") != "production":
        return
    error = production_error(values)
    if error:
        raise SettingsError(error.variable, f"{error.problem} (ENVIRONMENT=production refuses to start)")
