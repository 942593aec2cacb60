"""docker-compose.yaml and the native stack describe one stack: same services, commands, ports, variables.

Compose cannot run on our machines, so this is what keeps the file our users run honest.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from stackctl import devservices, native, services
from stackctl.settings import load

COMPOSE = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yaml").read_text())["services"]

# Only one side has these, on purpose.
COMPOSE_ONLY_SERVICES = {"airflow-cli"}  # `docker compose run --rm airflow-cli ...`; natively `./stack airflow ...`
NATIVE_ONLY_ENV = {
    "PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR",  # process basics the image sets itself
    "AIRFLOW_HOME",  # the image's /opt/airflow
    "AIRFLOW__LOGGING__BASE_LOG_FOLDER",  # the image's default under AIRFLOW_HOME
    "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH",  # the default (/tmp/airflow) is private to each container
}
COMPOSE_ONLY_ENV = {
    "DUMB_INIT_SETSID",  # the image's init: let Celery's worker handle signals itself
    "FORWARDED_ALLOW_IPS",  # uvicorn/gunicorn trust HAProxy's X-Forwarded-* across the compose network
    "RELAY_TARGET",  # the relay reaches HAProxy by service name; natively relay/run defaults to loopback
}


def settings(tmp_path):
    return load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", "FLOWER_PASSWORD": "p",
                 "AIRFLOW__CORE__FERNET_KEY": "k", "AIRFLOW__API__SECRET_KEY": "s",
                 "AIRFLOW__API_AUTH__JWT_SECRET": "j", "POSTGRES_PASSWORD": "d", "_AIRFLOW_WWW_USER_PASSWORD": "a",
                 "REDIS_PASSWORD": "r", "CELERY_RESULTS_PASSWORD": "c", "HAPROXY_STATS_PASSWORD": "h",
                 "WEBHOOK_KEY": "w", "SMEE_URL": "https://smee.io/x", "DAG_SOURCE": "gitops",
                 "DEPLOY_REPO_URL": "https://github.com/example/airflow.git"})


def test_same_services():
    development = {name for name, spec in COMPOSE.items() if "dev" in spec.get("profiles", [])}
    assert set(COMPOSE) - COMPOSE_ONLY_SERVICES - development == {s.name for s in services.SERVICES}


def test_the_dev_profile_runs_the_native_development_fakes(tmp_path):
    development = {name: spec for name, spec in COMPOSE.items() if "dev" in spec.get("profiles", [])}
    native_fakes = devservices.dev_programs(settings(tmp_path))
    assert set(development) == set(native_fakes)
    for name, (argv, _env) in native_fakes.items():
        assert development[name]["command"][:3] == ["python", "-m", argv[2]], name


@pytest.mark.parametrize("service", [s for s in services.SERVICES if not s.infra], ids=lambda s: s.name)
def test_same_command(service):
    compose = COMPOSE[service.name]["command"]
    expected = list(service.command[1:] if service.program == "airflow" else service.command)
    assert compose == expected


@pytest.mark.parametrize("service", [s for s in services.SERVICES if s.infra], ids=lambda s: s.name)
def test_infrastructure_runs_the_same_program(service):
    assert COMPOSE[service.name]["command"][0] == service.program


@pytest.mark.parametrize("service", services.SERVICES, ids=lambda s: s.name)
def test_same_environment_names(service, tmp_path):
    compose = set(COMPOSE[service.name].get("environment") or {})
    ours = set(native.environment(service, settings(tmp_path)))
    if service.infra:
        # upstream images read their own variables; we only require ours to be passed
        assert set(service.env) <= compose
        return
    assert ours - NATIVE_ONLY_ENV - {"STACK_STATE_DIR", "PYTHONPATH"} <= compose, "compose lacks these"
    assert compose - COMPOSE_ONLY_ENV - {"STACK_STATE_DIR", "PYTHONPATH", "AIRFLOW__CORE__DAGS_FOLDER"} <= ours | set(
        service.env), "native lacks these"


def test_only_haproxy_publishes_and_on_the_public_port_names():
    publishing = {name for name, spec in COMPOSE.items() if spec.get("ports")}
    assert publishing == {"haproxy"}
    names = {re.match(r"\$\{(\w+)", port).group(1) for port in COMPOSE["haproxy"]["ports"]}
    assert set(services.PUBLIC_PORTS) <= names
    assert all(name.startswith("PUBLIC_") for name in names)


def test_compose_reads_the_same_gitops_bundle():
    compose = json.loads(COMPOSE["airflow-scheduler"]["environment"]["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert compose == [services.gitops_bundle("/opt/airflow/state/deploy/mirror.git", "production")]
    assert COMPOSE["airflow-scheduler"]["environment"]["DAG_SOURCE"] == "gitops"
