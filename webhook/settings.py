"""Typed webhook settings, read once from the environment and validated at start-up."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from flask import Flask

ENVIRONMENTS = ("development", "production")
# "auto": an ssh origin is fetched with the deploy key, an https one with the token; "none": a public origin.
DEPLOY_CREDENTIALS = ("auto", "none")
GITHUB_KNOWN_HOSTS = Path(__file__).resolve().parent / "deploy" / "known_hosts.github"
BRANCH_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the webhook and the deploy pipeline need; one environment variable per field."""

    environment: str = "development"
    state_dir: Path = Path(".state")
    deploy_dir: Path = Path(".state/deploy")
    repo_url: str = ""
    branch: str = "production"
    bundle_name: str = "gitops"
    dags_subdir: str = "dags"
    webhook_key: str = ""
    webhook_previous_key: str = ""
    key_cache_seconds: float = 60.0
    signature_tolerance: int = 300
    max_body_bytes: int = 65536
    poll_interval: float = 60.0
    git_timeout: float = 60.0
    validate_timeout: float = 300.0
    visible_timeout: float = 60.0
    airflow_url: str = "http://airflow-apiserver:8080"
    airflow_username: str = ""
    airflow_password: str = ""
    start_runner: bool = True
    rolling_key: bool = False
    deploy_credentials: str = "auto"
    deploy_key_item: str = "Airflow Deploy Key"
    deploy_key_field: str = "private key"
    deploy_key_file: Path | None = None
    deploy_token_item: str = "Airflow Deploy Token"
    deploy_token_field: str = "token"
    deploy_token_username: str = "x-access-token"
    known_hosts: Path = GITHUB_KNOWN_HOSTS

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def deploys_configured(self) -> bool:
        """Deploys need a repository to fetch; the key is checked separately (it may live in 1Password)."""
        return bool(self.repo_url)


def _number(env: dict[str, str], name: str, default: float, kind: type, low: float, high: float):
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def from_env(env: dict[str, str] | None = None) -> Settings:
    """Build settings from environment variables; raise SettingsError naming the first bad one."""
    env = dict(os.environ if env is None else env)
    environment = env.get("ENVIRONMENT", "development") or "development"
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    state_dir = Path(env.get("STACK_STATE_DIR") or ".state").resolve()
    branch = env.get("DEPLOY_BRANCH") or "production"
    if not BRANCH_RE.match(branch) or ".." in branch:
        raise SettingsError(f"DEPLOY_BRANCH must be a plain branch name, got {branch!r}")
    airflow_host = env.get("AIRFLOW_API_HOST") or "airflow-apiserver"
    airflow_port = int(_number(env, "AIRFLOW_API_PORT", 8080, int, 1, 65535))
    key = env.get("WEBHOOK_KEY", "")
    if key and len(key) < 16:
        raise SettingsError("WEBHOOK_KEY must be at least 16 characters long")
    if environment == "production" and key:
        raise SettingsError("WEBHOOK_KEY is for development only; production reads the key from 1Password")
    previous = env.get("WEBHOOK_PREVIOUS_KEY", "")
    if previous and not key:
        raise SettingsError("WEBHOOK_PREVIOUS_KEY is accepted during a rotation of WEBHOOK_KEY; set WEBHOOK_KEY")
    rolling = _flag(env, "WEBHOOK_ROLLING_KEY", False)
    if rolling and key:
        raise SettingsError("WEBHOOK_ROLLING_KEY needs the key in 1Password; unset WEBHOOK_KEY")
    credentials = env.get("DEPLOY_CREDENTIALS") or Settings.deploy_credentials
    if credentials not in DEPLOY_CREDENTIALS:
        raise SettingsError(f"DEPLOY_CREDENTIALS must be one of {', '.join(DEPLOY_CREDENTIALS)}, got {credentials!r}")
    key_file = env.get("DEPLOY_KEY_FILE", "")
    if key_file and environment == "production":
        raise SettingsError("DEPLOY_KEY_FILE is for development only; production reads the deploy key from "
                            "1Password (DEPLOY_KEY_ITEM, DEPLOY_KEY_FIELD)")
    return Settings(
        environment=environment,
        state_dir=state_dir,
        deploy_dir=Path(env.get("DEPLOY_DIR") or state_dir / "deploy").resolve(),
        repo_url=env.get("DEPLOY_REPO_URL", ""),
        branch=branch,
        bundle_name=env.get("DEPLOY_BUNDLE_NAME") or "gitops",
        webhook_key=key,
        webhook_previous_key=previous,
        key_cache_seconds=_number(env, "WEBHOOK_KEY_CACHE_SECONDS", 60.0, float, 0, 3600),
        signature_tolerance=_number(env, "WEBHOOK_SIGNATURE_TOLERANCE", 300, int, 10, 3600),
        max_body_bytes=_number(env, "WEBHOOK_MAX_BODY_BYTES", 65536, int, 256, 10_485_760),
        poll_interval=_number(env, "DEPLOY_POLL_INTERVAL", 60.0, float, 0, 3600),
        git_timeout=_number(env, "DEPLOY_GIT_TIMEOUT", 60.0, float, 1, 3600),
        validate_timeout=_number(env, "DEPLOY_VALIDATE_TIMEOUT", 300.0, float, 1, 3600),
        visible_timeout=_number(env, "DEPLOY_VISIBLE_TIMEOUT", 60.0, float, 1, 3600),
        airflow_url=f"http://{airflow_host}:{airflow_port}",
        airflow_username=env.get("_AIRFLOW_WWW_USER_USERNAME", ""),
        airflow_password=env.get("_AIRFLOW_WWW_USER_PASSWORD", ""),
        start_runner=_flag(env, "DEPLOY_RUNNER", True),
        rolling_key=rolling,
        deploy_credentials=credentials,
        deploy_key_item=env.get("DEPLOY_KEY_ITEM") or Settings.deploy_key_item,
        deploy_key_field=env.get("DEPLOY_KEY_FIELD") or Settings.deploy_key_field,
        deploy_key_file=Path(key_file).resolve() if key_file else None,
        deploy_token_item=env.get("DEPLOY_TOKEN_ITEM") or Settings.deploy_token_item,
        deploy_token_field=env.get("DEPLOY_TOKEN_FIELD") or Settings.deploy_token_field,
        deploy_token_username=env.get("DEPLOY_TOKEN_USERNAME") or Settings.deploy_token_username,
        known_hosts=Path(env.get("DEPLOY_KNOWN_HOSTS") or GITHUB_KNOWN_HOSTS).resolve(),
    )


def init_app(app: Flask, overrides: dict | None = None) -> Settings:
    """Build the settings (environment first, then test overrides) and attach them to the app."""
    settings = from_env()
    if overrides:
        names = {f.name for f in fields(Settings)}
        unknown = set(overrides) - names
        if unknown:
            raise SettingsError(f"unknown setting override(s): {', '.join(sorted(unknown))}")
        merged = {**settings.__dict__, **overrides}
        if "state_dir" in overrides and "deploy_dir" not in overrides:
            merged["deploy_dir"] = Path(overrides["state_dir"]) / "deploy"
        settings = Settings(**merged)
    app.extensions["settings"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    return settings


def get(app: Flask) -> Settings:
    """The settings attached to an app."""
    return app.extensions["settings"]
