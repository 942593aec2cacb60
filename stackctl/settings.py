"""Typed settings for the native stack, built once from the environment, `.env` and the secrets file."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

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
    "SCHEDULER_HEALTH_PORT": 28974,
    "POSTGRES_PORT": 25432,
    "REDIS_PORT": 26379,
    "FAKE_ONEPASSWORD_PORT": 28090,
    "FAKE_SLACK_PORT": 28091,
    "FIXTURE_SERVER_PORT": 28092,
}

# Credentials generated on first run in development; production must provide them all.
GENERATED_SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "_AIRFLOW_WWW_USER_PASSWORD",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "CELERY_RESULTS_PASSWORD",
    "FLOWER_PASSWORD",
    "HAPROXY_STATS_PASSWORD",
    "WEBHOOK_KEY",
)

# Values published in tutorials, the official compose file or the seed system: never acceptable in production.
KNOWN_DEFAULTS = {"", "airflow", "admin", "password", "changeme", "secret", "flower"}

ENVIRONMENTS = ("development", "production")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional single or double quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _port(values: dict[str, str], name: str, offset: int) -> int:
    raw = values.get(name)
    if raw in (None, ""):
        return PORT_DEFAULTS[name] + offset
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"{name} must be a port number between 1 and 65535, got {raw!r}")
    return int(raw)


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
        return self.values[name]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.env"

    def public_url(self, port_name: str) -> str:
        return f"http://{self.values['HAPROXY_BIND']}:{self.ports[port_name]}"

    def bin(self, program: str) -> str:
        return str(self.venv_dir / "bin" / program)


def layered_values(environ: dict[str, str], state_dir: Path) -> dict[str, str]:
    """Merge, lowest first: generated secrets file, `.env`, then the process environment."""
    env_file = Path(environ.get("STACK_ENV_FILE", str(PROJECT_DIR / ".env")))
    values: dict[str, str] = {}
    values.update(read_env_file(state_dir / "secrets.env"))
    if environ.get("STACK_ENV_FILE", None) != "":
        values.update(read_env_file(env_file))
    values.update({k: v for k, v in environ.items() if v is not None})
    return values


def with_env_file(environ: dict[str, str]) -> dict[str, str]:
    """The environment with `.env`'s values beneath it, and STACK_ENV_FILE="" so nothing reads the file again:
    root reads a `.env` (often 0600) for the stack user, which may not (same layering as layered_values)."""
    if environ.get("STACK_ENV_FILE", None) == "":
        return dict(environ)
    env_file = Path(environ.get("STACK_ENV_FILE", str(PROJECT_DIR / ".env")))
    return {**read_env_file(env_file), **environ, "STACK_ENV_FILE": ""}


def load(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment; raise SettingsError naming the first bad variable."""
    environ = dict(os.environ if environ is None else environ)
    state_dir = Path(environ.get("STACK_STATE_DIR") or PROJECT_DIR / ".state").resolve()
    values = layered_values(environ, state_dir)

    environment = values.get("ENVIRONMENT", "development") or "development"
    if environment not in ENVIRONMENTS:
        raise SettingsError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")

    offset_raw = values.get("STACK_PORT_OFFSET", "0") or "0"
    if not offset_raw.lstrip("-").isdigit() or not -8000 <= int(offset_raw) <= 30000:
        raise SettingsError(f"STACK_PORT_OFFSET must be an integer between -8000 and 30000, got {offset_raw!r}")
    ports = {name: _port(values, name, int(offset_raw)) for name in PORT_DEFAULTS}
    clashes = _duplicates(ports)
    if clashes:
        raise SettingsError(f"these settings use the same port: {clashes}")
    values.update({name: str(port) for name, port in ports.items()})

    defaults = {
        "ENVIRONMENT": environment,
        "BIND_HOST": "127.0.0.1",
        "HAPROXY_BIND": "127.0.0.1",
        "AIRFLOW_API_HOST": "127.0.0.1",
        "WEBHOOK_HOST": "127.0.0.1",
        "FLOWER_HOST": "127.0.0.1",
        "DIAGNOSTICS_HOST": "127.0.0.1",
        "POSTGRES_HOST": "127.0.0.1",
        "REDIS_HOST": "127.0.0.1",
        "POSTGRES_USER": "airflow",
        "POSTGRES_DB": "airflow",
        "_AIRFLOW_WWW_USER_USERNAME": "admin",
        "TEAM_TIMEZONE": "America/Chicago",
        "WORKER_CONCURRENCY": "4",
    }
    for name, value in defaults.items():
        if not values.get(name):
            values[name] = value
    values.setdefault("FLOWER_USERNAME", values["_AIRFLOW_WWW_USER_USERNAME"])
    # where Airflow reads DAGs: the working tree (development) or the deploy webhook's mirror (GitOps)
    values["DAG_SOURCE"] = values.get("DAG_SOURCE") or ("gitops" if environment == "production" else "worktree")
    if values["DAG_SOURCE"] not in ("worktree", "gitops"):
        raise SettingsError(f"DAG_SOURCE must be worktree or gitops, got {values['DAG_SOURCE']!r}")
    if values["DAG_SOURCE"] == "gitops" and not values.get("DEPLOY_REPO_URL"):
        raise SettingsError("DEPLOY_REPO_URL must be set when DAG_SOURCE=gitops (the repository the webhook deploys)")
    values.setdefault("DIAGNOSTICS_DIR", str(state_dir / "diagnostics"))
    if environment == "development" and not values.get("OP_CONNECT"):
        # the local fake Connect server (devtools/fake_onepassword.py), so development works offline
        values["OP_CONNECT"] = f"http://127.0.0.1:{ports['FAKE_ONEPASSWORD_PORT']}"
        values.setdefault("OP_API_TOKEN", "development-only-token")
        values.setdefault("OP_VAULT_ID", "airflowdevelopmentvault001")  # the example vault's id
        # the webhook's and relay's own token, for the infrastructure vault only
        values.setdefault("OP_INFRA_TOKEN", "development-only-infra-token")
        values.setdefault("OP_INFRA_VAULT_ID", "airflowinfrastructurevault")
    if environment == "development" and not values.get("NWS_BASE_URL"):
        # the local NWS and traffic-camera fixtures (devtools/fixture_server.py): weather-checker runs offline
        fixtures = f"http://127.0.0.1:{ports['FIXTURE_SERVER_PORT']}"
        values["NWS_BASE_URL"] = fixtures
        values.setdefault("CAMERA_URL_PATTERN", fixtures + "/image/{id}.jpg")
    values.setdefault("HAPROXY_STATS_URL", f"http://{values['HAPROXY_BIND']}:{ports['PUBLIC_STATS_PORT']}/;csv")
    if not values["WORKER_CONCURRENCY"].isdigit() or int(values["WORKER_CONCURRENCY"]) < 1:
        raise SettingsError(f"WORKER_CONCURRENCY must be a positive integer, got {values['WORKER_CONCURRENCY']!r}")

    venv_dir = Path(values.get("STACK_VENV") or PROJECT_DIR / ".venv")
    dags_folder = Path(values.get("STACK_DAGS_FOLDER") or PROJECT_DIR / "dags").resolve()
    settings = Settings(environment, PROJECT_DIR, state_dir, venv_dir, dags_folder, ports, values)
    if settings.production:
        check_production(settings)
    return settings


# Host names of the compose `dev` profile's fakes: a production setting pointing at one is a leftover.
DEVELOPMENT_HOSTS = ("fake-onepassword", "fake-slack", "fixture-server")
DEVELOPMENT_URL_SETTINGS = ("OP_CONNECT", "NWS_BASE_URL", "CAMERA_URL_PATTERN")


def production_problem(values: dict[str, str]) -> str | None:
    """Why these settings may not start a production stack (naming the variable), or None.

    The one check for both modes: the native `up` and compose's airflow-init call it before anything starts.
    """
    if values.get("WEBHOOK_KEY"):
        return "WEBHOOK_KEY is set; production reads the webhook key from 1Password (remove it)"
    for name in GENERATED_SECRETS:
        if name == "WEBHOOK_KEY":
            continue
        value = values.get(name) or ""
        if value.strip().lower() in KNOWN_DEFAULTS:
            state = "is not set" if not value else "is a well-known default"
            return f"{name} {state}; set a strong value"
        if len(value) < 12:
            return f"{name} is shorter than 12 characters"
    if values.get("FLOWER_USERNAME") == values.get("FLOWER_PASSWORD"):
        return "FLOWER_PASSWORD equals FLOWER_USERNAME"
    return _onepassword_problem(values) or _development_address_problem(values)


def _onepassword_problem(values: dict[str, str]) -> str | None:
    """Tasks' token and the webhook's must be two tokens for two vaults, and deploys need the webhook's."""
    if values.get("DEPLOY_REPO_URL"):
        for name in ("OP_CONNECT", "OP_INFRA_TOKEN", "OP_INFRA_VAULT_ID"):
            if not values.get(name):
                return f"{name} is not set; the webhook reads its key from 1Password's infrastructure vault"
    if values.get("OP_INFRA_TOKEN") and values.get("OP_INFRA_TOKEN") == values.get("OP_API_TOKEN"):
        return "OP_INFRA_TOKEN equals OP_API_TOKEN; tasks must not hold the infrastructure vault's token"
    if values.get("OP_INFRA_VAULT_ID") and values.get("OP_INFRA_VAULT_ID") == values.get("OP_VAULT_ID"):
        return "OP_INFRA_VAULT_ID equals OP_VAULT_ID; infrastructure items need a vault of their own"
    return None


def _development_address_problem(values: dict[str, str]) -> str | None:
    for name in DEVELOPMENT_URL_SETTINGS:
        if any(f"//{host}:" in (values.get(name) or "") for host in DEVELOPMENT_HOSTS):
            return f"{name} points at a development fake ({values[name]}); set the real service's address"
    return None


def check_production(settings: Settings) -> None:
    """Refuse a production start with any missing or well-known credential, naming the variable."""
    problem = production_problem(settings.values)
    if problem:
        raise SettingsError(f"ENVIRONMENT=production refuses to start: {problem}")


def _duplicates(ports: dict[str, int]) -> str:
    seen: dict[int, str] = {}
    clashes = []
    for name, port in ports.items():
        if port in seen:
            clashes.append(f"{seen[port]} and {name} ({port})")
        seen[port] = name
    return ", ".join(clashes)
