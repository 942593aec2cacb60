"""Typed webhook settings, read once from the environment and validated at start-up (stacksettings)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from flask import Flask
from pydantic import Field, field_validator, model_validator

from stacksettings import EnvSettings, SettingsError, compose_default
from stacksettings.variables import AirflowApiHost, AirflowApiPort, BindHost, Environment, StateDir, WebhookPort

__all__ = ["Settings", "SettingsError", "from_env", "get", "init_app"]

GITHUB_KNOWN_HOSTS = Path(__file__).resolve().parent / "deploy" / "known_hosts.github"
BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class Settings(EnvSettings):
    """Everything the webhook and the deploy pipeline need; one environment variable per field."""

    environment: Environment
    state_dir: StateDir
    # derived when unset; .get: a field that failed is missing, and its own error is the one reported
    deploy_dir: Path = Field(default_factory=lambda given: Path(given.get("state_dir", ".")) / "deploy",
                             validation_alias="DEPLOY_DIR")
    repo_url: str = Field("", validation_alias="DEPLOY_REPO_URL")
    # the branch the DAG bundle tracks: compose.defaults.env's, where the bundle's JSON reads it
    branch: str = Field(default_factory=lambda: compose_default("DEPLOY_BRANCH"), validation_alias="DEPLOY_BRANCH")
    bundle_name: str = Field("gitops", validation_alias="DEPLOY_BUNDLE_NAME")
    dags_subdir: str = "dags"
    bind_host: BindHost
    port: WebhookPort
    workers: int = Field(1, ge=1, le=64, validation_alias="WEBHOOK_WORKERS")  # gunicorn's, gthread 4 threads each
    log_level: Literal["debug", "info", "warning", "error", "critical"] = Field("info",
                                                                              validation_alias="WEBHOOK_LOG_LEVEL")
    webhook_key: str = Field("", validation_alias="WEBHOOK_KEY", repr=False)
    webhook_previous_key: str = Field("", validation_alias="WEBHOOK_PREVIOUS_KEY", repr=False)
    key_cache_seconds: float = Field(60.0, ge=0, le=3600, validation_alias="WEBHOOK_KEY_CACHE_SECONDS")
    signature_tolerance: int = Field(300, ge=10, le=3600, validation_alias="WEBHOOK_SIGNATURE_TOLERANCE")
    max_body_bytes: int = Field(65536, ge=256, le=10_485_760, validation_alias="WEBHOOK_MAX_BODY_BYTES")
    poll_interval: float = Field(60.0, ge=0, le=3600, validation_alias="DEPLOY_POLL_INTERVAL")
    git_timeout: float = Field(60.0, ge=1, le=3600, validation_alias="DEPLOY_GIT_TIMEOUT")
    validate_timeout: float = Field(300.0, ge=1, le=3600, validation_alias="DEPLOY_VALIDATE_TIMEOUT")
    visible_timeout: float = Field(60.0, ge=1, le=3600, validation_alias="DEPLOY_VISIBLE_TIMEOUT")
    airflow_api_host: AirflowApiHost
    airflow_api_port: AirflowApiPort
    airflow_url: str = Field(default_factory=lambda given: f"http://{given.get('airflow_api_host')}:"
                                                           f"{given.get('airflow_api_port')}")
    airflow_username: str = Field("", validation_alias="_AIRFLOW_WWW_USER_USERNAME")
    airflow_password: str = Field("", validation_alias="_AIRFLOW_WWW_USER_PASSWORD", repr=False)
    start_runner: bool = Field(True, validation_alias="DEPLOY_RUNNER")
    rolling_key: bool = Field(False, validation_alias="WEBHOOK_ROLLING_KEY")
    # "auto": an ssh origin is fetched with the deploy key, an https one with the token; "none": a public origin.
    deploy_credentials: Literal["auto", "none"] = Field("auto", validation_alias="DEPLOY_CREDENTIALS")
    deploy_key_item: str = Field("Airflow Deploy Key", validation_alias="DEPLOY_KEY_ITEM")
    deploy_key_field: str = Field("private key", validation_alias="DEPLOY_KEY_FIELD")
    deploy_key_file: Path | None = Field(None, validation_alias="DEPLOY_KEY_FILE")
    deploy_token_item: str = Field("Airflow Deploy Token", validation_alias="DEPLOY_TOKEN_ITEM")
    deploy_token_field: str = Field("token", validation_alias="DEPLOY_TOKEN_FIELD")
    deploy_token_username: str = Field("x-access-token", validation_alias="DEPLOY_TOKEN_USERNAME")
    known_hosts: Path = Field(GITHUB_KNOWN_HOSTS, validation_alias="DEPLOY_KNOWN_HOSTS")

    @field_validator("state_dir", "deploy_dir", "deploy_key_file", "known_hosts")
    @classmethod
    def _absolute(cls, path: Path | None) -> Path | None:
        return path.resolve() if path else path

    @field_validator("branch")
    @classmethod
    def _plain_branch(cls, branch: str) -> str:
        if not BRANCH_RE.match(branch) or ".." in branch:
            raise ValueError("must be a plain branch name")
        return branch

    @field_validator("webhook_key")
    @classmethod
    def _long_key(cls, key: str) -> str:
        if key and len(key) < 16:
            raise ValueError("must be at least 16 characters long")
        return key

    @model_validator(mode="after")
    def _keys_where_they_belong(self) -> Settings:
        if self.production and self.webhook_key:
            raise SettingsError("WEBHOOK_KEY", "is for development only; production reads the key from 1Password")
        if self.webhook_previous_key and not self.webhook_key:
            raise SettingsError("WEBHOOK_PREVIOUS_KEY", "is accepted during a rotation of WEBHOOK_KEY; set WEBHOOK_KEY")
        if self.rolling_key and self.webhook_key:
            raise SettingsError("WEBHOOK_ROLLING_KEY", "needs the key in 1Password; unset WEBHOOK_KEY")
        if self.production and self.deploy_key_file:
            raise SettingsError("DEPLOY_KEY_FILE", "is for development only; production reads the deploy key from "
                                "1Password (DEPLOY_KEY_ITEM, DEPLOY_KEY_FIELD)")
        return self

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def deploys_configured(self) -> bool:
        """Deploys need a repository to fetch; the key is checked separately (it may live in 1Password)."""
        return bool(self.repo_url)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from environment variables (os.environ by default); raise SettingsError naming a bad one."""
    return Settings.from_env(env)


def init_app(app: Flask, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings (environment first, then test overrides) and attach them to the app."""
    settings = from_env()
    if overrides:
        overrides = dict(overrides)
        if "state_dir" in overrides and "deploy_dir" not in overrides:
            overrides["deploy_dir"] = Path(overrides["state_dir"]) / "deploy"
        settings = settings.replace(**overrides)
    app.extensions["settings"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    return settings


def get(app: Flask) -> Settings:
    """The settings attached to an app."""
    return app.extensions["settings"]
