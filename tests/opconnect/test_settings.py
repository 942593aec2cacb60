"""The OP_* variables: one reading for the DAG vault and one for the infrastructure vault, errors naming them."""

from __future__ import annotations

import pytest

from opconnect.settings import DagVault, InfraVault, configured, from_env
from stacksettings import SettingsError

URL = "http://127.0.0.1:8089"


def test_each_access_reads_its_own_token_and_vault():
    env = {"OP_CONNECT": URL + "/", "OP_API_TOKEN": "dag-token", "OP_VAULT_ID": "Airflow",
           "OP_INFRA_TOKEN": "infra-token", "OP_INFRA_VAULT_ID": "Airflow Infrastructure"}
    dag, infra = from_env(DagVault, env), from_env(InfraVault, env)
    assert (dag.url, dag.token, dag.vault) == (URL, "dag-token", "Airflow")
    assert (infra.url, infra.token, infra.vault) == (URL, "infra-token", "Airflow Infrastructure")


def test_the_sdk_names_are_aliases_and_ours_win():
    env = {"OP_CONNECT_HOST": "http://sdk:1", "OP_CONNECT_TOKEN": "sdk-token", "OP_VAULT": "V"}
    assert (from_env(DagVault, env).url, from_env(DagVault, env).token) == ("http://sdk:1", "sdk-token")
    env.update(OP_CONNECT="http://ours:2", OP_API_TOKEN="our-token")
    assert (from_env(DagVault, env).url, from_env(DagVault, env).token) == ("http://ours:2", "our-token")


def test_the_infrastructure_vault_never_falls_back_to_the_dag_token():
    env = {"OP_CONNECT": URL, "OP_API_TOKEN": "dag-token", "OP_VAULT_ID": "Airflow", "OP_INFRA_VAULT_ID": "I"}
    assert configured(DagVault, env) and not configured(InfraVault, env)
    with pytest.raises(SettingsError, match="^OP_INFRA_TOKEN is not set$"):
        from_env(InfraVault, env)


@pytest.mark.parametrize(("env", "message"), [
    ({}, "OP_CONNECT, OP_API_TOKEN, OP_VAULT_ID are not set"),
    ({"OP_CONNECT": URL, "OP_VAULT": "v"}, "OP_API_TOKEN is not set"),
    ({"OP_CONNECT": "127.0.0.1:8080", "OP_API_TOKEN": "t", "OP_VAULT_ID": "v"},
     "OP_CONNECT must be an http(s) URL, got '127.0.0.1:8080'"),
    ({"OP_CONNECT": URL, "OP_API_TOKEN": "t", "OP_VAULT_ID": "v", "OP_CONNECT_CLIENT_REQ_TIMEOUT": "soon"},
     "OP_CONNECT_CLIENT_REQ_TIMEOUT must be a number, got 'soon'"),
])
def test_bad_settings_are_named(env, message):
    with pytest.raises(SettingsError) as raised:
        from_env(DagVault, env)
    assert str(raised.value) == message


def test_timeout_and_vault_override_and_the_token_is_never_shown():
    env = {"OP_CONNECT": URL, "OP_API_TOKEN": "s3cret-token", "OP_VAULT_ID": "Airflow",
           "OP_CONNECT_CLIENT_REQ_TIMEOUT": "12"}
    settings = from_env(DagVault, env, vault="Other")
    assert (settings.timeout, settings.vault) == (12.0, "Other")
    assert "s3cret-token" not in repr(settings) + repr(DagVault.from_env(env))
