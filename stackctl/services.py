"""The one definition of the stack: its services, their commands and the environment they share.

docker-compose.yaml describes the same services; tests/stackctl/test_one_definition.py fails when they drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.settings import GENERATED_SECRETS, Settings

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


@dataclass(frozen=True)
class Service:
    """A long-running program (or a one-shot step) of the stack."""

    name: str
    command: tuple[str, ...]
    airflow_env: bool = False  # receives the shared (secret-free) Airflow environment
    secrets: tuple[str, ...] = ()  # the credential groups it needs (CREDENTIALS below), and no others
    env: tuple[str, ...] = ()  # further variables it reads
    oneshot: bool = False  # runs to completion before the others start
    infra: bool = False  # an upstream image under compose; its native command is not compared
    optional_setting: str = ""  # started only when this variable is set

    @property
    def program(self) -> str:
        return self.command[0]


# Least privilege: which credentials each component gets. Why each one needs what it has, with the Airflow
# source it rests on, is in documentation/security.md ("What each component holds").
AIRFLOW_CORE = ("database", "fernet")
SERVICES: tuple[Service, ...] = (
    Service("postgres", ("postgres",), infra=True, env=("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")),
    Service("redis", ("redis-server",), infra=True),
    # Checks every credential before anything starts (production), so it sees them all; creates the result
    # backend's role; publishes the first deploy. It runs no task and exits.
    Service("airflow-init", ("python", "-m", "stackctl.init"), airflow_env=True, oneshot=True,
            secrets=(*AIRFLOW_CORE, "results", "infra-vault"),
            env=(*GENERATED_SECRETS, "_AIRFLOW_WWW_USER_USERNAME", "FLOWER_USERNAME", "OP_API_TOKEN",
                 "DEPLOY_REPO_URL", "DEPLOY_BRANCH")),
    Service("airflow-apiserver", ("airflow", "api-server", "--proxy-headers"), airflow_env=True,
            secrets=(*AIRFLOW_CORE, "api-secret", "jwt", "dag-vault")),
    Service("airflow-scheduler", ("airflow", "scheduler"), airflow_env=True,
            secrets=(*AIRFLOW_CORE, "jwt", "broker", "results")),
    Service("airflow-dag-processor", ("airflow", "dag-processor"), airflow_env=True,
            secrets=(*AIRFLOW_CORE, "dag-vault")),
    Service("airflow-triggerer", ("airflow", "triggerer", "--skip-serve-logs"), airflow_env=True,
            secrets=(*AIRFLOW_CORE, "dag-vault")),
    # Tasks run here: the broker, their results, DAG secrets and the read-only stats login, nothing else.
    Service("airflow-worker", ("airflow", "celery", "worker", "--skip-serve-logs"), airflow_env=True,
            secrets=("broker", "results", "dag-vault", "stats-reader")),
    Service("flower", ("airflow", "celery", "flower"), airflow_env=True, secrets=("broker", "results", "flower")),
    Service("webhook", ("gunicorn", "--config", "webhook/gunicorn.conf.py", "webhook:create_app()"),
            airflow_env=True, secrets=("dag-vault", "infra-vault"),
            env=("WEBHOOK_PORT", "WEBHOOK_KEY", "_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD",
                 "DEPLOY_REPO_URL", "DEPLOY_BRANCH")),
    Service("smee-relay", ("relay/run",), secrets=("infra-vault",),
            env=("SMEE_URL", "PUBLIC_WEBHOOK_PORT", "OP_CONNECT"), optional_setting="SMEE_URL"),
    Service("diagnostics", ("python", "-m", "diagnostics"),
            env=("BIND_HOST", "DIAGNOSTICS_PORT", "DIAGNOSTICS_DIR")),
    Service("haproxy", ("haproxy", "-W", "-db", "-f", "haproxy/haproxy.cfg"), infra=True,
            env=("HAPROXY_BIND", "AIRFLOW_API_HOST", "AIRFLOW_API_PORT", "WEBHOOK_HOST", "WEBHOOK_PORT",
                 "FLOWER_HOST", "FLOWER_PORT", "DIAGNOSTICS_HOST", "DIAGNOSTICS_PORT", "FLOWER_USERNAME",
                 "FLOWER_PASSWORD", "HAPROXY_STATS_PASSWORD", "PUBLIC_AIRFLOW_PORT", "PUBLIC_WEBHOOK_PORT",
                 "PUBLIC_FLOWER_PORT", "PUBLIC_DIAGNOSTICS_PORT", "PUBLIC_STATS_PORT")),
)

# `docker compose run --rm airflow-cli ...`, natively `./stack airflow ...`: an operator's tool that tests DAGs
# in-process (`dags test` runs tasks, the weather-checker's stack checks included), so it holds what the
# scheduler and the api-server hold together, plus the stats login; never the webhook's or Flower's.
CLI = Service("airflow-cli", ("airflow",), airflow_env=True, oneshot=True,
              secrets=(*AIRFLOW_CORE, "api-secret", "jwt", "broker", "results", "dag-vault", "stats-reader"))

PUBLIC_PORTS = ("PUBLIC_AIRFLOW_PORT", "PUBLIC_WEBHOOK_PORT", "PUBLIC_FLOWER_PORT", "PUBLIC_DIAGNOSTICS_PORT",
                "PUBLIC_STATS_PORT")


def by_name(name: str) -> Service:
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(f"no service named {name!r}; known: {', '.join(s.name for s in SERVICES)}")


LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"
GIT_BUNDLE = "airflow.providers.git.bundles.git.GitDagBundle"


def gitops_bundle(mirror: str, branch: str) -> dict:
    """The deployed DAGs: the webhook moves `branch` of its local mirror only after validating a commit."""
    return {"name": "gitops", "classpath": GIT_BUNDLE,
            "kwargs": {"repo_url": mirror, "tracking_ref": branch, "subdir": "dags", "refresh_interval": 60}}


def dag_bundles(settings: Settings) -> list[dict]:
    """Where Airflow reads DAGs: the working tree or the deploy mirror; extra folders (tests) when configured."""
    if settings["DAG_SOURCE"] == "gitops":
        mirror = str(settings.state_dir / "deploy" / "mirror.git")
        bundles = [gitops_bundle(mirror, settings.get("DEPLOY_BRANCH") or "production")]
    else:
        bundles = [{"name": "dags-folder", "classpath": LOCAL_BUNDLE,
                    "kwargs": {"path": str(settings.dags_folder), "refresh_interval": 5}}]
    extra = settings.get("STACK_EXTRA_DAGS_FOLDER")
    if extra:
        bundles.append({"name": "extra-dags", "classpath": LOCAL_BUNDLE,
                        "kwargs": {"path": extra, "refresh_interval": 5}})
    return bundles


def broker_url(settings: Settings) -> str:
    """Redis, with its password (generated URL-safe, so it needs no quoting)."""
    return f"redis://:{settings['REDIS_PASSWORD']}@{settings['REDIS_HOST']}:{settings['REDIS_PORT']}/0"


RESULTS_ROLE = "celery_results"  # the Celery result backend's own role and database (stackctl/celery_results.py)


def results_url(settings: Settings) -> str:
    s = settings
    return (f"db+postgresql+psycopg2://{RESULTS_ROLE}:{s['CELERY_RESULTS_PASSWORD']}@{s['POSTGRES_HOST']}:"
            f"{s['POSTGRES_PORT']}/{RESULTS_ROLE}")


# Each credential group a service may be given (Service.secrets) and the variables that carry it. None of them
# is in the shared environment (tests/stackctl/test_isolation.py).
CREDENTIAL_GROUPS: dict[str, tuple[str, ...]] = {
    "database": ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",),
    "fernet": ("AIRFLOW__CORE__FERNET_KEY",),
    "api-secret": ("AIRFLOW__API__SECRET_KEY",),
    "jwt": ("AIRFLOW__API_AUTH__JWT_SECRET",),
    "broker": ("AIRFLOW__CELERY__BROKER_URL",),
    "results": ("AIRFLOW__CELERY__RESULT_BACKEND",),
    "flower": ("AIRFLOW__CELERY__FLOWER_BASIC_AUTH",),
    "dag-vault": ("OP_API_TOKEN",),
    "infra-vault": ("OP_INFRA_TOKEN", "OP_INFRA_VAULT_ID"),
    "stats-reader": ("HAPROXY_STATS_PASSWORD",),
}
CREDENTIAL_VARIABLES = frozenset(name for names in CREDENTIAL_GROUPS.values() for name in names)


def credential_values(settings: Settings) -> dict[str, str]:
    """The value of every credential variable for these settings."""
    s = settings
    db = f"{s['POSTGRES_USER']}:{s['POSTGRES_PASSWORD']}@{s['POSTGRES_HOST']}:{s['POSTGRES_PORT']}/{s['POSTGRES_DB']}"
    values = {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
        "AIRFLOW__CELERY__BROKER_URL": broker_url(s),
        "AIRFLOW__CELERY__RESULT_BACKEND": results_url(s),
        "AIRFLOW__CELERY__FLOWER_BASIC_AUTH": f"{s['FLOWER_USERNAME']}:{s['FLOWER_PASSWORD']}",
    }
    # the others are settings of the same name
    return {name: values[name] if name in values else s.get(name) for name in CREDENTIAL_VARIABLES}


def service_credentials(service: Service, settings: Settings) -> dict[str, str]:
    values = credential_values(settings)
    return {name: values[name] for group in service.secrets for name in CREDENTIAL_GROUPS[group]}


def airflow_env(settings: Settings) -> dict[str, str]:
    """The secret-free environment every Airflow component, the webhook and airflow-init share (compose:
    x-airflow-common-env). Credentials come per service: service_credentials()."""
    s = settings
    api = f"http://{s['AIRFLOW_API_HOST']}:{s['AIRFLOW_API_PORT']}"
    return {
        "ENVIRONMENT": s.environment,
        "DAG_SOURCE": s["DAG_SOURCE"],
        "BIND_HOST": s["BIND_HOST"],
        "TEAM_TIMEZONE": s["TEAM_TIMEZONE"],
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # "fail to safe": a DAG that appears on a development machine waits to be switched on
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False" if s.production else "True",
        # workers talk to the api-server directly: HAProxy refuses /execution/ from outside
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        # re-serialise a changed DAG at once instead of skipping changes for 30 s
        "AIRFLOW__CORE__MIN_SERIALIZED_DAG_UPDATE_INTERVAL": "0",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": s["WORKER_CONCURRENCY"],
        "AIRFLOW__CELERY__FLOWER_HOST": s["BIND_HOST"],
        "AIRFLOW__CELERY__FLOWER_PORT": s["FLOWER_PORT"],
        "AIRFLOW__API__HOST": s["BIND_HOST"],
        "AIRFLOW__API__PORT": s["AIRFLOW_API_PORT"],
        "AIRFLOW__API__BASE_URL": s.get("AIRFLOW__API__BASE_URL") or s.public_url("PUBLIC_AIRFLOW_PORT"),
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
        # loop again after 0.2 s instead of 1 s when idle: trigger-to-success p50 2.3 s -> 0.7 s (benchmarks.md)
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        # a task whose worker died is failed (and retried) 60 s after its last heartbeat instead of 300 s
        # (documentation/reliability.md: what that costs)
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": s["BIND_HOST"],
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": s["SCHEDULER_HEALTH_PORT"],
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__BUNDLE_REFRESH_CHECK_INTERVAL": "1",
        # connections (the Slack one too) and variables may live in 1Password: connections/<id>, variables/<key>
        "AIRFLOW__SECRETS__BACKEND": "opconnect.backend.OnePasswordBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": '{"connections_prefix": "connections", "variables_prefix": "variables"}',
        "OP_CONNECT": s.get("OP_CONNECT"),
        "OP_VAULT_ID": s.get("OP_VAULT_ID"),
        "DIAGNOSTICS_DIR": s["DIAGNOSTICS_DIR"],
        # weather-checker: where it reads the forecast and the camera, and the stack it checks
        "NWS_BASE_URL": s.get("NWS_BASE_URL"),
        "NWS_CONTACT": s.get("NWS_CONTACT"),
        "CAMERA_URL_PATTERN": s.get("CAMERA_URL_PATTERN"),
        "HAPROXY_STATS_URL": s["HAPROXY_STATS_URL"],
        "WEBHOOK_PORT": s["WEBHOOK_PORT"],
        "AIRFLOW_API_HOST": s["AIRFLOW_API_HOST"],
        "AIRFLOW_API_PORT": s["AIRFLOW_API_PORT"],
        "REDIS_HOST": s["REDIS_HOST"],
        "REDIS_PORT": s["REDIS_PORT"],
        "WEBHOOK_HOST": s["WEBHOOK_HOST"],
    }
