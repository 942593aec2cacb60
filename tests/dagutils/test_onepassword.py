"""dagutils.onepassword, the DAG-facing API: the seed system's names, read with OP_API_TOKEN from the DAG vault only.

The client behind it (retries, cache, errors) is tested in tests/opconnect.
"""

from __future__ import annotations

import pytest
from airflow.sdk._shared.secrets_masker import redact, reset_secrets_masker
from dagutils import onepassword
from dagutils.onepassword import (
    SecretNotFoundError,
    get_item_by_title,
    get_secret,
    load_dict,
)

from stacksettings import SettingsError
from stacktest.vaults import TOKEN, VAULT_NAME

WEATHER = "Diagnostic ETL (Weather)"
INFRA_ITEM = "Airflow Webhook"  # in the infrastructure vault of the example data
OP_VARIABLES = ("OP_CONNECT", "OP_CONNECT_HOST", "OP_API_TOKEN", "OP_CONNECT_TOKEN", "OP_VAULT_ID", "OP_VAULT")


@pytest.fixture(autouse=True)
def fresh_state():
    """Each test starts with no cached items and an empty secrets masker."""
    onepassword.clear_cache()
    reset_secrets_masker()
    yield
    onepassword.clear_cache()
    reset_secrets_masker()


def test_the_seed_names_read_the_dag_vault_from_the_environment(connect_env):
    assert get_secret(WEATHER, "production.demonstration secret") == "production demonstration value"
    assert load_dict({"DEV": {"opitem": WEATHER, "opfield": "development.demonstration secret"}}) == \
        {"DEV": "development demonstration value"}
    item = get_item_by_title(WEATHER)
    assert {f.label for f in item.fields} == {"demonstration secret"}
    assert redact(item.fields[0].value) == "***"


def test_the_sdk_names_and_a_vault_name_work_too(connect_env, monkeypatch):
    for name in ("OP_CONNECT", "OP_API_TOKEN", "OP_VAULT_ID"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("OP_CONNECT_HOST", connect_env.url)
    monkeypatch.setenv("OP_CONNECT_TOKEN", TOKEN)
    monkeypatch.setenv("OP_VAULT", VAULT_NAME)
    assert get_secret(WEATHER, "production.demonstration secret") == "production demonstration value"


def test_tasks_never_use_the_infrastructure_token(connect_env, monkeypatch):
    """With OP_INFRA_TOKEN in the environment too, the DAG API still reads only the DAG vault with OP_API_TOKEN."""
    with pytest.raises(SecretNotFoundError, match=f"no item titled '{INFRA_ITEM}' in vault "):
        get_secret(INFRA_ITEM, "password")
    monkeypatch.delenv("OP_API_TOKEN")
    with pytest.raises(SettingsError, match="^OP_API_TOKEN is not set$"):
        get_secret(WEATHER, "production.demonstration secret")
    assert not any(path.startswith("/v1/vaults/airflowinfrastructurevault") for _, path in connect_env.requests)


def test_missing_configuration_names_the_variable(monkeypatch):
    for name in OP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OP_CONNECT", "http://127.0.0.1:1")
    monkeypatch.setenv("OP_API_TOKEN", "t")
    with pytest.raises(SettingsError, match="^OP_VAULT_ID is not set$"):
        get_secret(WEATHER, "production.demonstration secret")
