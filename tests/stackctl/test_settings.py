"""Settings: defaults, the port offset, and the sentences that stop a bad start."""

from __future__ import annotations

import pytest

from stackctl import settings as settings_mod
from stackctl.init import check_environment
from stackctl.settings import SettingsError

STRONG = {
    "AIRFLOW__CORE__FERNET_KEY": "x" * 44,
    "AIRFLOW__API__SECRET_KEY": "s" * 64,
    "AIRFLOW__API_AUTH__JWT_SECRET": "j" * 64,
    "_AIRFLOW_WWW_USER_PASSWORD": "a-long-admin-password",
    "POSTGRES_PASSWORD": "a-long-db-password",
    "REDIS_PASSWORD": "a-long-redis-password",
    "FLOWER_PASSWORD": "a-long-flower-password",
    "CELERY_RESULTS_PASSWORD": "a-long-results-password",
    "WAREHOUSE_PASSWORD": "a-long-warehouse-password",
    "HAPROXY_STATS_PASSWORD": "a-long-stats-password",
    "DASHBOARD_AIRFLOW_PASSWORD": "a-long-dashboard-password",
}
# Production 1Password: one token and vault for DAG secrets, another for the webhook's items.
ONEPASSWORD = {"OP_CONNECT": "https://connect.example.org", "OP_API_TOKEN": "dag-token", "OP_VAULT_ID": "dags",
               "OP_INFRA_TOKEN": "infra-token", "OP_INFRA_VAULT_ID": "infrastructure"}
REPO = {"DEPLOY_REPO_URL": "https://github.com/example/airflow.git", **ONEPASSWORD}


def load(tmp_path, **values):
    environ = {"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", **REPO, **values}
    return settings_mod.load(environ)


def test_defaults_are_loopback_and_development(tmp_path):
    settings = load(tmp_path)
    assert settings.environment == "development"
    assert settings["BIND_HOST"] == settings["HAPROXY_BIND"] == "127.0.0.1"
    assert settings.ports["PUBLIC_AIRFLOW_PORT"] == 8080
    assert settings.public_url("PUBLIC_FLOWER_PORT") == "http://127.0.0.1:8082"


def test_port_offset_moves_every_default_but_not_explicit_ports(tmp_path):
    settings = load(tmp_path, STACK_PORT_OFFSET="1000", PUBLIC_FLOWER_PORT="9999")
    assert settings.ports["PUBLIC_AIRFLOW_PORT"] == 9080
    assert settings.ports["REDIS_PORT"] == 27379
    assert settings.ports["PUBLIC_FLOWER_PORT"] == 9999


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"PUBLIC_AIRFLOW_PORT": "eighty"}, "PUBLIC_AIRFLOW_PORT"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT"),
        ({"ENVIRONMENT": "staging"}, "ENVIRONMENT"),
        ({"STACK_PORT_OFFSET": "lots"}, "STACK_PORT_OFFSET"),
        ({"WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY"),
        ({"PUBLIC_AIRFLOW_PORT": "9000", "PUBLIC_WEBHOOK_PORT": "9000"}, "PUBLIC_WEBHOOK_PORT"),
    ],
)
def test_invalid_values_name_the_variable(tmp_path, values, named):
    with pytest.raises(SettingsError, match=named):
        load(tmp_path, **values)


def test_env_file_values_apply_and_a_bad_line_names_file_and_line(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text("# comment\nPUBLIC_AIRFLOW_PORT='9180'\nexport TEAM_TIMEZONE=UTC\n")
    settings = settings_mod.load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": str(env_file)})
    assert settings.ports["PUBLIC_AIRFLOW_PORT"] == 9180
    assert settings["TEAM_TIMEZONE"] == "UTC"
    env_file.write_text("PUBLIC_AIRFLOW_PORT 9180\n")
    with pytest.raises(SettingsError, match=r"custom.env:1"):
        settings_mod.load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": str(env_file)})


def test_state_dir_set_only_in_env_file_is_the_state_dir(tmp_path):
    # the README says `.env` is read: STACK_STATE_DIR there used to be ignored (its secrets.env is found there
    # too: tests/stacksettings/test_files.py)
    state = tmp_path / "elsewhere"
    (tmp_path / "custom.env").write_text(f"STACK_STATE_DIR={state}\n")
    environ = {"STACK_ENV_FILE": str(tmp_path / "custom.env")}
    assert settings_mod.state_dir(environ) == state
    settings = settings_mod.load(environ)
    assert (settings.state_dir, settings["DIAGNOSTICS_DIR"]) == (state, str(state / "diagnostics"))


def test_two_settings_on_one_port_name_both(tmp_path):
    with pytest.raises(SettingsError, match="^PUBLIC_WEBHOOK_PORT is 9000, the port of PUBLIC_AIRFLOW_PORT$"):
        load(tmp_path, PUBLIC_AIRFLOW_PORT="9000", PUBLIC_WEBHOOK_PORT="9000")


def test_production_accepts_strong_credentials(tmp_path):
    assert load(tmp_path, ENVIRONMENT="production", **STRONG).production


@pytest.mark.parametrize("name", sorted(STRONG))
@pytest.mark.parametrize("bad", ["", "airflow", "admin", "short"])
def test_production_refuses_missing_or_default_credentials(tmp_path, name, bad):
    with pytest.raises(SettingsError, match=name):
        load(tmp_path, ENVIRONMENT="production", **{**STRONG, name: bad})


def test_gitops_needs_the_repository_and_production_defaults_to_it(tmp_path):
    assert load(tmp_path)["DAG_SOURCE"] == "worktree"
    assert load(tmp_path, ENVIRONMENT="production", **STRONG)["DAG_SOURCE"] == "gitops"
    with pytest.raises(SettingsError, match="DEPLOY_REPO_URL"):
        load(tmp_path, DAG_SOURCE="gitops", DEPLOY_REPO_URL="")
    with pytest.raises(SettingsError, match="DAG_SOURCE"):
        load(tmp_path, DAG_SOURCE="nfs")


def test_airflow_init_refuses_defaults_in_production_by_name():
    environ = {"ENVIRONMENT": "production", **STRONG}
    check_environment(environ)
    environ["AIRFLOW__API_AUTH__JWT_SECRET"] = "secret"
    with pytest.raises(SettingsError, match="AIRFLOW__API_AUTH__JWT_SECRET"):
        check_environment(environ)


@pytest.mark.parametrize("name", sorted(STRONG))
def test_airflow_init_checks_every_credential_the_native_up_checks(name):
    # compose's airflow-init used to check 4 of them: POSTGRES_PASSWORD=airflow started a production stack
    environ = {"ENVIRONMENT": "production", **STRONG, name: "airflow"}
    with pytest.raises(SettingsError, match=name):
        check_environment(environ)


@pytest.mark.parametrize(("name", "value"), [
    ("OP_CONNECT", "http://fake-onepassword:8080"),
    ("NWS_BASE_URL", "http://fixture-server:8080"),
    ("CAMERA_URL_PATTERN", "http://fixture-server:8080/image/{id}.jpg"),
])
def test_production_refuses_the_compose_development_fakes(name, value):
    environ = {"ENVIRONMENT": "production", **STRONG, name: value}
    with pytest.raises(SettingsError, match=f"{name} points at a development fake"):
        check_environment(environ)
    check_environment({**environ, "ENVIRONMENT": "development"})


def test_production_refuses_the_development_webhook_key_before_anything_starts(tmp_path):
    # it used to start every service, and only the webhook then refused it
    with pytest.raises(SettingsError, match="WEBHOOK_KEY is set; production reads the webhook key from 1Password"):
        load(tmp_path, ENVIRONMENT="production", WEBHOOK_KEY="w" * 32, **STRONG)


@pytest.mark.parametrize(("change", "named"), [
    ({"OP_INFRA_TOKEN": ""}, "OP_INFRA_TOKEN is not set"),
    ({"OP_INFRA_VAULT_ID": ""}, "OP_INFRA_VAULT_ID is not set"),
    ({"OP_INFRA_TOKEN": "dag-token"}, "OP_INFRA_TOKEN equals OP_API_TOKEN"),
    ({"OP_INFRA_VAULT_ID": "dags"}, "OP_INFRA_VAULT_ID equals OP_VAULT_ID"),
])
def test_production_needs_a_token_and_vault_for_the_webhook_apart_from_the_tasks(tmp_path, change, named):
    with pytest.raises(SettingsError, match=named):
        load(tmp_path, ENVIRONMENT="production", **STRONG, **change)


def test_the_check_sees_every_generated_credential():
    assert set(STRONG) == set(settings_mod.GENERATED_SECRETS) - {"WEBHOOK_KEY"}


def test_root_reads_env_for_the_stack_user_with_the_same_layering(tmp_path):
    # `.env` is often 0600 root: root reads it and hands the values on, beneath the environment's
    env_file = tmp_path / "custom.env"
    env_file.write_text("PUBLIC_AIRFLOW_PORT=9180\nTEAM_TIMEZONE=UTC\n")
    environ = {"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": str(env_file), "TEAM_TIMEZONE": "Europe/Paris"}
    handed = settings_mod.with_env_file(environ)
    env_file.unlink()  # the stack user never reads it
    settings = settings_mod.load(handed)
    assert settings.ports["PUBLIC_AIRFLOW_PORT"] == 9180
    assert settings["TEAM_TIMEZONE"] == "Europe/Paris"  # the environment still wins over .env
