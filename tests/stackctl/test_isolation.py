"""Least privilege, as configured: which credentials each component receives, under compose and so natively."""

from __future__ import annotations

import pytest

from stackctl import compose, services
from stackctl.settings import GENERATED_SECRETS, load
from stacktest.isolation import FORBIDDEN

# The credential groups (compose's x-credentials) each component holds; documentation/security.md ("What each
# component holds") says why, with the Airflow source each need rests on.
HOLDS = {
    # checks every credential before anything starts (production), creates the result backend's role, publishes
    # the first deploy; it runs no task and exits
    "airflow-init": {"database", "fernet", "api-secret", "jwt", "results", "dag-vault", "infra-vault",
                     "stats-reader"},
    "airflow-apiserver": {"database", "fernet", "api-secret", "jwt", "dag-vault"},
    "airflow-scheduler": {"database", "fernet", "jwt", "broker", "results"},
    "airflow-dag-processor": {"database", "fernet", "dag-vault"},
    "airflow-triggerer": {"database", "fernet", "dag-vault"},
    # tasks run here: the broker, their results, DAG secrets and the read-only stats login, nothing else
    "airflow-worker": {"broker", "results", "dag-vault", "stats-reader"},
    "flower": {"flower"},  # the broker URL and its own login, as Celery's and Flower's variables
    "webhook": {"dag-vault", "infra-vault"},
    "smee-relay": {"infra-vault"},
    "haproxy": {"stats-reader"},
    "diagnostics": set(), "postgres": set(), "redis": set(), "fake-slack": set(), "fixture-server": set(),
    "fake-onepassword": {"dag-vault", "infra-vault"},  # the development stand-in serves both vaults
    # `./stack airflow ...`: what the scheduler and the api-server hold together, plus the stats login (dags test
    # runs tasks, the weather-checker's stack checks included); never the webhook's or Flower's
    "airflow-cli": {"database", "fernet", "api-secret", "jwt", "broker", "results", "dag-vault", "stats-reader"},
}


@pytest.fixture
def settings(tmp_path):
    return load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", "SMEE_URL": "https://smee.io/channel",
                 **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}})


@pytest.fixture
def stack(settings):
    return services.load(settings)


def environments(stack) -> dict[str, dict[str, str]]:
    return {**{name: p.env for name, p in stack.programs.items()}, "airflow-cli": stack.cli.env}


def groups(stack, environment: dict) -> set[str]:
    return {group for group, names in stack.credentials.items() if set(names) <= set(environment)}


def credential_names(stack, environment: dict) -> set[str]:
    variables = {name for names in stack.credentials.values() for name in names}
    return set(environment) & (variables | set(GENERATED_SECRETS))


def test_every_component_is_in_the_table(stack):
    assert set(environments(stack)) == set(HOLDS)


@pytest.mark.parametrize("name", sorted(HOLDS))
def test_each_component_holds_its_groups_and_no_part_of_another(stack, settings, name):
    native = environments(stack)[name]
    theirs = compose.config(settings.values)["services"][name].get("environment") or {}
    assert groups(stack, native) == groups(stack, theirs) == HOLDS[name]
    allowed = {n for group in HOLDS[name] for n in stack.credentials[group]}
    variables = {n for names in stack.credentials.values() for n in names}
    assert variables & set(native) == allowed  # no stray credential (one of a group's two, or from .env)


def test_the_shared_environment_carries_no_credential(stack, settings):
    common = compose.config(settings.values)["x-airflow-common-env"]
    assert not credential_names(stack, common)
    secrets = {settings[name] for name in GENERATED_SECRETS}
    assert not [k for k, v in common.items() if any(s in (v or "") for s in secrets)]


def test_a_credential_set_in_env_does_not_reach_every_component(settings, stack):
    """`.env` options reach every Airflow program, except credentials (they used to reach the worker that way)."""
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in settings.values
    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in stack.programs["airflow-worker"].env


@pytest.mark.parametrize("name", ["airflow-worker", "airflow-dag-processor", "airflow-triggerer"])
def test_processes_running_dag_code_hold_no_signing_key_or_infrastructure_secret(stack, name):
    forbidden = {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "WEBHOOK_KEY", "OP_INFRA_TOKEN",
                 "_AIRFLOW_WWW_USER_PASSWORD", "AIRFLOW__CELERY__FLOWER_BASIC_AUTH", "FLOWER_BASIC_AUTH",
                 "FLOWER_PASSWORD"}
    assert not forbidden & set(stack.programs[name].env)


def test_the_worker_holds_only_the_broker_its_results_dag_secrets_and_the_stats_login(stack, settings):
    worker = stack.programs["airflow-worker"].env
    assert credential_names(stack, worker) == {"AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
                                               "OP_API_TOKEN", "HAPROXY_STATS_PASSWORD"}
    assert not set(FORBIDDEN) & set(worker)  # what no process running DAG code may hold
    assert settings["POSTGRES_PASSWORD"] not in worker["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert worker["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://celery_results:")


def test_only_the_webhook_relay_and_init_hold_the_infrastructure_token(stack):
    holders = {name for name, env in environments(stack).items() if "OP_INFRA_TOKEN" in env}
    # init: the first deploy may need the deploy key; the fake: development's stand-in for 1Password itself
    assert holders == {"webhook", "smee-relay", "airflow-init", "fake-onepassword"}
