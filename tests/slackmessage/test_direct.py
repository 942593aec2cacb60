"""slackmessage.send_slack_message without Airflow, against the fake Slack and the fake Connect."""

from __future__ import annotations

import json
import logging
import socket

import pytest

import slackmessage
from opconnect import lookup, masking
from opconnect.client import clear_cache
from slackmessage import send_slack_message

TEXT = ":white_check_mark: *Deployed*\n*Commit:* abc123"


@pytest.fixture(autouse=True)
def quick_and_clean(monkeypatch):
    """No waiting between retries, no warnings remembered, nothing masked or cached from earlier tests."""
    monkeypatch.setattr(slackmessage, "RETRY_BACKOFF", 0.001)
    monkeypatch.setattr(slackmessage, "_warned_missing", set())
    for name in ("AIRFLOW_CONN_SLACK", "AIRFLOW__SECRETS__BACKEND", "AIRFLOW__SECRETS__BACKEND_KWARGS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(lookup, "_configured", {})
    masking.reset()
    clear_cache()
    yield
    masking.reset()
    clear_cache()


@pytest.fixture
def slack_webhook(fake_slack, monkeypatch):
    conn = {"conn_type": "slackwebhook", "password": f"{fake_slack.url}/services/T0/B0/secret-part"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    return fake_slack


def send() -> bool:
    return send_slack_message("Deployed", [("Commit", "abc123")], "success")


def test_the_webhook_connection_from_the_environment(slack_webhook):
    assert send() is True
    [message] = slack_webhook.snapshot()
    assert (message["kind"], message["path"], message["text"]) == ("webhook", "/services/T0/B0/secret-part", TEXT)


def test_the_connection_from_1password_as_the_secrets_backend_reads_it(connect_env, fake_slack, monkeypatch):
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "opconnect.backend.OnePasswordBackend")
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND_KWARGS", '{"connections_prefix": "connections"}')
    assert send() is True
    [message] = fake_slack.snapshot()
    assert (message["path"], message["text"]) == ("/services/T0DEMO/B0DEMO/development-not-secret", TEXT)


def test_1password_comes_before_the_environment_as_in_airflow(connect_env, fake_slack, monkeypatch):
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "opconnect.backend.OnePasswordBackend")
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps({"conn_type": "slackwebhook",
                                                         "password": f"{fake_slack.url}/services/T0/B0/env"}))
    assert send() is True
    assert fake_slack.snapshot()[0]["path"].endswith("/development-not-secret")


def test_another_backend_is_not_asked_and_the_environment_still_is(slack_webhook, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "airflow.providers.hashicorp.secrets.vault.VaultBackend")
    assert send() is True
    assert "only opconnect.backend.OnePasswordBackend is read outside Airflow" in caplog.text


def test_the_api_connection_type_posts_to_its_channel_as_slack_notifier(fake_slack, monkeypatch):
    conn = {"conn_type": "slack", "password": "xoxb-test",
            "extra": {"base_url": f"{fake_slack.url}/api/", "channel": "#data-alerts"}}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    assert send() is True
    [message] = fake_slack.snapshot()
    assert (message["kind"], message["channel"], message["text"]) == ("api", "#data-alerts", TEXT)
    assert message["payload"]["username"] == "Airflow"


def test_a_token_and_host_make_the_url_as_the_hook_makes_it(fake_slack, monkeypatch):
    host = fake_slack.url.removeprefix("http://")
    conn = {"conn_type": "slackwebhook", "host": f"{host}/services", "schema": "http", "password": "T0/B0/tok"}
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps(conn))
    assert send() is True
    assert fake_slack.snapshot()[0]["path"] == "/services/T0/B0/tok"


def test_without_a_connection_it_warns_once(fake_slack, caplog):
    with caplog.at_level(logging.WARNING):
        assert send() is False
        assert send() is False
    assert caplog.text.count("Slack connection 'slack' is not defined") == 1
    assert fake_slack.posts == 0


def test_a_transient_failure_is_retried_into_one_message(slack_webhook):
    slack_webhook.fail_next(500, times=2)
    assert send() is True
    assert slack_webhook.posts == 3
    assert len(slack_webhook.snapshot()) == 1


def test_slack_down_is_logged_without_the_webhook_url(slack_webhook, caplog):
    slack_webhook.fail_next(503, times=5)
    assert send() is False
    assert slack_webhook.posts == 3
    assert "Slack message 'Deployed' not sent after 3 attempt(s)" in caplog.text
    assert "secret-part" not in caplog.text


def test_a_permanent_error_is_not_retried(slack_webhook, caplog):
    slack_webhook.fail_next(404, "no_service", times=3)
    assert send() is False
    assert slack_webhook.posts == 1
    assert "no_service" in caplog.text


def test_unreachable_slack_is_retried_without_logging_the_webhook_url(monkeypatch, caplog, capfd):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # bound but not listening: connection refused
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/services/T0/B0/secret-part"
        monkeypatch.setenv("AIRFLOW_CONN_SLACK", json.dumps({"conn_type": "slackwebhook", "password": url}))
        with caplog.at_level(logging.DEBUG):
            assert send_slack_message("Deploy failed", [], "failure") is False
    assert "not sent after 3 attempt(s): URLError" in caplog.text
    printed = capfd.readouterr()
    assert "secret-part" not in caplog.text + printed.out + printed.err


def test_secrets_this_process_read_are_redacted(slack_webhook):
    masking.mask("hunter2-database-password")
    send_slack_message("Deploy failed", [("Detail", "login failed for hunter2-database-password"),
                                         ("URL", f"{slack_webhook.url}/services/T0/B0/secret-part")], "failure")
    text = slack_webhook.snapshot()[0]["text"]
    assert "*Detail:* login failed for ***" in text
    assert "secret-part" not in text and "*URL:* ***" in text  # the connection's password is a secret too
