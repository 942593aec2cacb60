"""Least privilege, as configured: which credentials each component receives, natively and under compose."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackctl import native, services
from stackctl.settings import GENERATED_SECRETS, load
from stacktest.isolation import FORBIDDEN

COMPOSE = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yaml").read_text())["services"]

@pytest.fixture
def settings(tmp_path):
    return load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "",
                 **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}})


def credential_names(environment: dict) -> set[str]:
    return set(environment) & (services.CREDENTIAL_VARIABLES | set(GENERATED_SECRETS))


def test_the_shared_environment_carries_no_credential(settings):
    assert not credential_names(services.airflow_env(settings))
    secrets = {settings[name] for name in GENERATED_SECRETS}
    assert not [k for k, v in services.airflow_env(settings).items() if any(s in (v or "") for s in secrets)]


def test_a_credential_set_in_env_does_not_reach_every_component(tmp_path):
    """`.env` options reach every component, except credentials (they used to reach the worker that way)."""
    settings = load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "",
                     **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}})
    worker = native.environment(services.by_name("airflow-worker"), settings)
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in settings.values and "AIRFLOW__API_AUTH__JWT_SECRET" not in worker


@pytest.mark.parametrize("name", ["airflow-worker", "airflow-dag-processor", "airflow-triggerer"])
def test_processes_running_dag_code_hold_no_signing_key_or_infrastructure_secret(settings, name):
    forbidden = {"AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "WEBHOOK_KEY", "OP_INFRA_TOKEN",
                 "_AIRFLOW_WWW_USER_PASSWORD", "AIRFLOW__CELERY__FLOWER_BASIC_AUTH", "FLOWER_PASSWORD"}
    native_env = native.environment(services.by_name(name), settings)
    assert not forbidden & set(native_env)
    assert not forbidden & set(COMPOSE[name]["environment"])


def test_the_worker_holds_only_the_broker_its_results_dag_secrets_and_the_stats_login(settings):
    worker = native.environment(services.by_name("airflow-worker"), settings)
    assert credential_names(worker) == {"AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND",
                                        "OP_API_TOKEN", "HAPROXY_STATS_PASSWORD"}
    assert not set(FORBIDDEN) & set(worker)  # what no process running DAG code may hold
    assert settings["POSTGRES_PASSWORD"] not in worker["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert worker["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://celery_results:")
    assert credential_names(COMPOSE["airflow-worker"]["environment"]) == credential_names(worker)


@pytest.mark.parametrize("service", [s for s in services.SERVICES if not s.infra], ids=lambda s: s.name)
def test_compose_gives_each_service_the_same_credentials_as_the_native_runner(settings, service):
    ours = credential_names(native.environment(service, settings))
    assert credential_names(COMPOSE[service.name].get("environment") or {}) == ours


def test_only_the_webhook_and_relay_hold_the_infrastructure_token(settings):
    holders = {s.name for s in services.SERVICES if "OP_INFRA_TOKEN" in native.environment(s, settings)}
    assert holders == {"webhook", "smee-relay", "airflow-init"}  # init: the first deploy may need the deploy key


def test_the_cli_holds_the_same_credentials_in_both_modes_and_not_the_webhooks(settings):
    ours = credential_names(native.environment(services.CLI, settings))
    assert credential_names(COMPOSE["airflow-cli"]["environment"]) == ours
    assert not {"OP_INFRA_TOKEN", "AIRFLOW__CELERY__FLOWER_BASIC_AUTH", "WEBHOOK_KEY"} & ours
