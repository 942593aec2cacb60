"""docker-compose.yaml is the one definition: every service becomes a native program, or says why it has none.

The native runner reads the file through Compose's own parser (stackctl/compose.py); these tests check what it
derives, value by value, against what Compose says the service is.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from stackctl import compose, health, services, supervisor
from stackctl.settings import GENERATED_SECRETS, load

NAMES = sorted(compose.config({name: "x" for name in GENERATED_SECRETS})["services"])
COMPOSE_HOSTS = [name for name in services.HOSTS if name != "localhost"]


def settings_for(tmp_path: Path, **extra: str):
    return load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", "STACK_VENV": sys.prefix,
                 **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS}, **extra})


@pytest.fixture
def settings(tmp_path):
    return settings_for(tmp_path, SMEE_URL="https://smee.io/channel")


@pytest.fixture
def stack(settings):
    return services.load(settings)


@pytest.fixture
def config(settings):
    return compose.config(settings.values)


@pytest.mark.parametrize("name", NAMES)
def test_every_compose_service_is_a_native_program_or_says_why_not(stack, name):
    assert (name in stack.programs) != (name in stack.without), name
    if name in stack.without:
        assert stack.without[name]


def test_the_reasons(tmp_path):
    development = services.load(settings_for(tmp_path))
    # a command; SMEE_URL is not set; COMPOSE_PROFILES does not name `monitoring`; TLS_CERT_PATH is not set
    assert set(development.without) - MONITORING == {"airflow-cli", "smee-relay", "blackbox-exporter"}
    assert MONITORING <= set(development.without)
    assert "SMEE_URL" in development.without["smee-relay"]
    assert "TLS_CERT_PATH" in development.without["blackbox-exporter"]
    production = services.load(settings_for(
        tmp_path, ENVIRONMENT="production", DAG_SOURCE="worktree", OP_API_TOKEN="dag-token-0123456789",
        WEBHOOK_KEY=""))
    assert set(production.without) - MONITORING == {"airflow-cli", "smee-relay", "fake-onepassword", "fake-slack",
                                                    "fixture-server", "blackbox-exporter"}
    monitored = services.load(settings_for(tmp_path, COMPOSE_PROFILES="dev,monitoring"))
    assert MONITORING <= set(monitored.programs)
    assert "blackbox-exporter" in monitored.without
    certificate = services.load(settings_for(tmp_path, COMPOSE_PROFILES="dev,monitoring", TLS_CERT_PATH="site.pem"))
    assert "blackbox-exporter" in certificate.programs


# the `monitoring` profile's services of stackctl/monitoring.py (the dashboard's and Alertmanager's among them)
MONITORING = {name for name, service in compose.config(
    {k: "x" for k in ("POSTGRES_PASSWORD",)}, lenient=True)["services"].items()
    if "monitoring" in (service.get("profiles") or ())}


@pytest.mark.parametrize("name", ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                                  "airflow-triggerer", "airflow-worker"])
def test_airflow_programs_run_the_airflow_cli_the_image_entrypoint_would(stack, config, settings, name):
    assert stack.programs[name].argv == [settings.bin("airflow"), *config["services"][name]["command"]]


@pytest.mark.parametrize("name", ["airflow-init", "webhook", "diagnostics", "smee-relay", "haproxy", "redis",
                                  "postgres", "fake-slack", "flower"])
def test_other_programs_run_compose_s_command_from_here(stack, config, name):
    argv, command = stack.programs[name].argv, config["services"][name]["command"]
    assert os.path.basename(argv[0]) == os.path.basename(command[0])
    assert os.path.isabs(argv[0]) and os.access(argv[0], os.X_OK), argv[0]
    assert len(argv) >= len(command)
    for ours, theirs in zip(argv[1:], command[1:], strict=False):  # postgres: data folders follow
        if ours != theirs:  # only what the table maps: addresses, the fakes' port, a config's path
            assert theirs in ("0.0.0.0", "8080", "/usr/local/etc/redis/redis.conf"), (ours, theirs)


def test_values_are_compose_s_with_this_machine_s_addresses(stack, config, settings):
    for name, program in stack.programs.items():
        theirs = config["services"][name].get("environment") or {}
        assert set(theirs) - set(program.env) <= set(services.COMPOSE_ONLY), name
        for key, value in program.env.items():
            assert "/opt/airflow" not in value, (name, key, value)
            assert not any(f"//{host}:" in value or f"@{host}:" in value for host in COMPOSE_HOSTS), (name, key)
    worker = stack.programs["airflow-worker"].env
    assert worker["AIRFLOW__CELERY__BROKER_URL"] == (
        f"redis://:{settings['REDIS_PASSWORD']}@127.0.0.1:{settings['REDIS_PORT']}/0")
    assert worker["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        f"http://127.0.0.1:{settings['AIRFLOW_API_PORT']}/execution/")
    assert worker["OP_CONNECT"] == f"http://127.0.0.1:{settings['FAKE_ONEPASSWORD_PORT']}"
    assert worker["AIRFLOW__API__HOST"] == worker["BIND_HOST"] == "127.0.0.1"
    assert worker["DIAGNOSTICS_DIR"] == settings["DIAGNOSTICS_DIR"]
    assert worker["AIRFLOW__CORE__DAGS_FOLDER"] == str(settings.dags_folder)
    assert stack.programs["haproxy"].env["HAPROXY_BIND"] == settings["HAPROXY_BIND"]


@pytest.mark.parametrize("environment", ["development", "production"])
def test_new_dags_start_paused_by_one_value_in_both_modes(tmp_path, environment):
    """It used to be False natively in production and True under compose, for the same settings."""
    extra = {"ENVIRONMENT": environment, "DAG_SOURCE": "worktree", "OP_API_TOKEN": "dag-token-0123456789",
             "WEBHOOK_KEY": ""}
    settings = settings_for(tmp_path, **extra)
    native = services.load(settings).programs["airflow-scheduler"].env
    theirs = compose.config(settings.values)["services"]["airflow-scheduler"]["environment"]
    paused = "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"
    assert native[paused] == theirs[paused] == "True"
    chosen = settings_for(tmp_path, **extra, **{paused: "False"})
    assert services.load(chosen).programs["airflow-scheduler"].env[paused] == "False"


def test_the_dag_bundle_is_compose_s_for_gitops_and_the_working_tree_otherwise(tmp_path):
    gitops = settings_for(tmp_path, DAG_SOURCE="gitops", DEPLOY_REPO_URL="https://github.com/example/a.git",
                          DEPLOY_BRANCH="main")
    bundles = json.loads(services.load(gitops).programs["airflow-dag-processor"].env[
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert [b["name"] for b in bundles] == ["gitops"]
    assert bundles[0]["kwargs"]["repo_url"] == str(tmp_path / "deploy" / "mirror.git")
    assert bundles[0]["kwargs"]["tracking_ref"] == "main"
    worktree = services.load(settings_for(tmp_path, STACK_EXTRA_DAGS_FOLDER="/tmp/more"))
    env = worktree.programs["airflow-dag-processor"].env
    assert env["DAG_SOURCE"] == "worktree"
    bundles = json.loads(env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert [b["name"] for b in bundles] == ["dags-folder", "extra-dags"]


def test_start_order_follows_depends_on(stack, config):
    order = list(stack.programs)
    for name, program in stack.programs.items():
        assert program.depends_on == {k: v["condition"] for k, v in
                                      (config["services"][name].get("depends_on") or {}).items()}
        for needed in program.depends_on:
            assert order.index(needed) < order.index(name), (needed, name)


def test_restart_policy_and_one_shots(stack, settings):
    assert [p.name for p in stack.programs.values() if p.oneshot] == ["airflow-init"]
    assert all(p.restart for p in stack.supervised())
    rendered = supervisor.render(settings)
    assert rendered.count("autorestart=true") == len(stack.supervised())
    assert "[program:airflow-init]" not in rendered
    # the worker's stop_grace_period: its running tasks get two minutes to finish
    worker = rendered[rendered.index("[program:airflow-worker]"):]
    assert "stopwaitsecs=120" in worker.split("\n\n")[0]


def test_every_healthcheck_is_asked_natively_but_the_relay_s(stack, settings):
    checks = health.checks(settings)
    assert {p.name for p in stack.supervised()} - set(checks) == {"smee-relay"}
    for name in ("airflow-apiserver", "webhook", "diagnostics", "fake-onepassword", "flower"):
        url = stack.programs[name].healthcheck[-1]
        assert url.startswith("http://127.0.0.1:"), url
    assert stack.programs["fake-onepassword"].healthcheck[-1] == (
        f"http://127.0.0.1:{settings['FAKE_ONEPASSWORD_PORT']}/heartbeat")


def test_credential_groups_come_from_compose(stack, config):
    assert stack.credentials == {group: tuple(env) for group, env in config["x-credentials"].items()}
    assert "database" in stack.credentials and "stats-reader" in stack.credentials


def test_a_missing_required_variable_is_compose_s_sentence(tmp_path):
    settings = settings_for(tmp_path, POSTGRES_PASSWORD="")
    with pytest.raises(compose.ComposeError, match=r"required variable POSTGRES_PASSWORD is missing a value: "
                                                   r"set POSTGRES_PASSWORD \(see .env.example\)"):
        services.load(settings)
    bare = load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": ""})
    assert "airflow-worker" in services.load(bare, lenient=True).programs  # `status` needs no secret


def test_only_the_dag_processor_runs_without_fab_s_auth_manager_in_both_modes(stack, config):
    """With FAB's auth manager Airflow's DAG processor imports Flask and FAB for good to sync per-DAG
    permissions (documentation/benchmarks.md); every other Airflow program keeps FAB's."""
    option = "AIRFLOW__CORE__AUTH_MANAGER"
    simple = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    fab = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    assert stack.programs["airflow-dag-processor"].env[option] == simple
    assert config["services"]["airflow-dag-processor"]["environment"][option] == simple
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-triggerer", "airflow-worker"):
        assert stack.programs[name].env[option] == config["services"][name]["environment"][option] == fab, name
