"""Settings are read once from the environment; a bad one stops start-up with its name in the message."""

from __future__ import annotations

import pytest

from webhook import create_app
from webhook.settings import SettingsError, from_env


def test_defaults_need_nothing_configured(tmp_path):
    cfg = from_env({"STACK_STATE_DIR": str(tmp_path)})
    assert cfg.environment == "development"
    assert cfg.branch == "production"
    assert cfg.deploy_dir == tmp_path / "deploy"
    assert cfg.deploys_configured is False
    assert cfg.airflow_url == "http://airflow-apiserver:8080"


def test_native_addresses_come_from_the_shared_names(tmp_path):
    cfg = from_env({"AIRFLOW_API_HOST": "127.0.0.1", "AIRFLOW_API_PORT": "28080",
                    "DEPLOY_REPO_URL": "/srv/origin.git", "_AIRFLOW_WWW_USER_USERNAME": "admin"})
    assert cfg.airflow_url == "http://127.0.0.1:28080"
    assert cfg.deploys_configured and cfg.airflow_username == "admin"


@pytest.mark.parametrize(("name", "value"), [
    ("ENVIRONMENT", "staging"),
    ("DEPLOY_BRANCH", "main;rm -rf /"),
    ("DEPLOY_BRANCH", "a..b"),
    ("AIRFLOW_API_PORT", "99999"),
    ("AIRFLOW_API_PORT", "http"),
    ("WEBHOOK_SIGNATURE_TOLERANCE", "5"),
    ("WEBHOOK_MAX_BODY_BYTES", "lots"),
    ("DEPLOY_POLL_INTERVAL", "-1"),
    ("DEPLOY_GIT_TIMEOUT", "0"),
    ("DEPLOY_RUNNER", "maybe"),
    ("WEBHOOK_KEY", "short"),
    ("DEPLOY_CREDENTIALS", "agent"),
])
def test_a_bad_setting_is_named(name, value):
    with pytest.raises(SettingsError, match=name):
        from_env({name: value})


def test_production_refuses_the_development_key():
    with pytest.raises(SettingsError, match="WEBHOOK_KEY"):
        from_env({"ENVIRONMENT": "production", "WEBHOOK_KEY": "x" * 32})


def test_production_refuses_a_deploy_key_file():
    with pytest.raises(SettingsError, match="DEPLOY_KEY_FILE is for development only"):
        from_env({"ENVIRONMENT": "production", "DEPLOY_KEY_FILE": "/run/secrets/deploy_key"})


def test_deploy_credentials_default_to_the_1password_items_and_the_pinned_github_keys(tmp_path):
    cfg = from_env({})
    assert (cfg.deploy_key_item, cfg.deploy_key_field) == ("Airflow Deploy Key", "private key")
    assert (cfg.deploy_token_item, cfg.deploy_token_field) == ("Airflow Deploy Token", "token")
    assert cfg.known_hosts.name == "known_hosts.github" and cfg.known_hosts.is_file()
    assert from_env({"DEPLOY_KNOWN_HOSTS": str(tmp_path / "hosts")}).known_hosts == tmp_path / "hosts"


def test_a_bad_setting_stops_the_app_factory(monkeypatch, tmp_path):
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("DEPLOY_POLL_INTERVAL", "soon")
    with pytest.raises(SettingsError, match="DEPLOY_POLL_INTERVAL"):
        create_app()


def test_unknown_test_override_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="no_such_setting"):
        create_app({"state_dir": tmp_path, "no_such_setting": 1})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DEPLOY_BRANCH", "a..b", "DEPLOY_BRANCH must be a plain branch name, got 'a..b'"),
    ("WEBHOOK_SIGNATURE_TOLERANCE", "5", "WEBHOOK_SIGNATURE_TOLERANCE must be at least 10, got '5'"),
    ("DEPLOY_CREDENTIALS", "agent", "DEPLOY_CREDENTIALS must be one of 'auto' or 'none', got 'agent'"),
    ("WEBHOOK_KEY", "short-secret", "WEBHOOK_KEY must be at least 16 characters long"),  # never the key itself
])
def test_the_message_says_what_is_wrong(name, value, message):
    with pytest.raises(SettingsError) as caught:
        from_env({name: value})
    assert str(caught.value) == message
