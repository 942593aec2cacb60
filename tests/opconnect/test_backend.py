"""OnePasswordBackend, the forgiving interface, against the fake Connect: directly and configured into Airflow."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devtools.fake_onepassword import FakeConnect
from devtools.onepassword_store import Store
from opconnect.backend import OnePasswordBackend
from stacktest.vaults import TOKEN, VAULT_ID

PROJECT = Path(__file__).resolve().parents[2]


def serve(items: list[dict], monkeypatch) -> FakeConnect:
    """A fake Connect holding only these items, with OP_* pointing at it (use as a context manager)."""
    server = FakeConnect(Store({"vaults": [{"id": VAULT_ID, "name": "A", "items": items}]}), TOKEN)
    monkeypatch.setenv("OP_CONNECT", server.url)
    monkeypatch.setenv("OP_API_TOKEN", TOKEN)
    monkeypatch.setenv("OP_VAULT_ID", VAULT_ID)
    return server


def test_connection_comes_from_the_conn_field_of_its_item(connect_env, fake_slack):
    conn = OnePasswordBackend().get_connection("slack")
    assert conn.conn_type == "slackwebhook"
    assert conn.password.startswith(f"{fake_slack.url}/services/")


def test_team_name_is_accepted_as_airflow_3_2_passes_it(connect_env):
    assert OnePasswordBackend().get_conn_value("slack", team_name=None).startswith("{")


def test_variable_comes_from_the_value_field(connect_env):
    assert OnePasswordBackend().get_variable("diagnostic_greeting") == "hello from the development vault"


def test_missing_entries_return_none_and_the_miss_is_cached(connect_env):
    backend = OnePasswordBackend()
    assert backend.get_conn_value("postgres_default") is None
    assert backend.get_variable("nope") is None
    requests_after_first_lookups = len(connect_env.requests)
    assert backend.get_conn_value("postgres_default") is None
    assert len(connect_env.requests) == requests_after_first_lookups


def test_found_items_are_cached(connect_env):
    backend = OnePasswordBackend()
    backend.get_conn_value("slack")
    count = len(connect_env.requests)
    for _ in range(5):
        backend.get_conn_value("slack")
    assert len(connect_env.requests) == count


def test_prefixes_gate_every_lookup(connect_env):
    backend = OnePasswordBackend(connections_prefix=None, variables_prefix="vars")
    assert backend.get_conn_value("slack") is None
    assert backend.get_config("sql_alchemy_conn") is None  # config_prefix is off by default
    assert backend.get_variable("diagnostic_greeting") is None  # looked up as vars/diagnostic_greeting
    assert [path for _, path in connect_env.requests] == [
        f"/v1/vaults/{VAULT_ID}/items?filter=title+eq+%22vars%2Fdiagnostic_greeting%22"]


def test_not_configured_returns_none_without_any_request(fake_connect, monkeypatch):
    for name in ("OP_CONNECT", "OP_CONNECT_HOST", "OP_API_TOKEN", "OP_CONNECT_TOKEN", "OP_VAULT_ID",
                 "OP_VAULT"):
        monkeypatch.delenv(name, raising=False)
    backend = OnePasswordBackend()
    assert backend.get_conn_value("slack") is None
    assert backend.get_variable("diagnostic_greeting") is None
    assert fake_connect.requests == []


def test_unreachable_connect_answers_none_quickly_then_pauses(monkeypatch, caplog):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))  # bound but not listening: connection refused
        monkeypatch.setenv("OP_CONNECT", f"http://127.0.0.1:{probe.getsockname()[1]}")
        monkeypatch.setenv("OP_API_TOKEN", TOKEN)
        monkeypatch.setenv("OP_VAULT_ID", VAULT_ID)
        backend = OnePasswordBackend(timeout=1)
        started = time.monotonic()
        assert backend.get_conn_value("slack") is None
        assert backend.get_conn_value("other") is None
        assert time.monotonic() - started < 1
    assert caplog.text.count("secrets backend answers None for 30 s") == 1


def test_a_failing_connect_is_not_asked_again_during_the_pause(connect_env):
    connect_env.fail_next(500, "<html>oops</html>", "text/html")
    backend = OnePasswordBackend(pause_after_failure="0.2")  # per-key env overrides arrive as strings
    assert backend.get_conn_value("slack") is None
    assert backend.get_conn_value("slack") is None
    assert len(connect_env.requests) == 1
    time.sleep(0.25)
    assert backend.get_conn_value("slack") is not None


def test_a_wrong_token_answers_none_with_a_warning(connect_env, monkeypatch, caplog):
    monkeypatch.setenv("OP_API_TOKEN", "wrong")
    assert OnePasswordBackend().get_conn_value("slack") is None
    assert "HTTP 401" in caplog.text


def test_duplicate_titles_are_ignored_with_a_warning(monkeypatch, caplog):
    twin = {"title": "connections/db", "fields": [{"label": "uri", "value": "postgresql://u:p@h/db"}]}
    with serve([twin, twin], monkeypatch):
        assert OnePasswordBackend().get_conn_value("db") is None
    assert "2 items are titled 'connections/db'" in caplog.text
    assert "u:p@" not in caplog.text


def test_uri_field_and_items_without_a_value_field(monkeypatch, caplog):
    items = [{"title": "connections/db", "fields": [{"label": "uri", "value": "postgresql://u:pw@db:5432/x"}]},
             {"title": "connections/empty", "fields": [{"label": "notes", "value": "n/a"}]}]
    with serve(items, monkeypatch):
        backend = OnePasswordBackend()
        conn = backend.get_connection("db")
        assert (conn.conn_type, conn.host, conn.port, conn.login) == ("postgres", "db", 5432, "u")
        with caplog.at_level(logging.WARNING):
            assert backend.get_conn_value("empty") is None
    assert "1Password item 'connections/empty' has no 'conn' or 'uri' field" in caplog.text


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"connection_prefix": "c"}, "unknown backend_kwargs connection_prefix"),
    ({"cache_ttl": "5 min"}, "backend_kwargs cache_ttl must be a number of seconds, got '5 min'"),
])
def test_bad_backend_kwargs_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OnePasswordBackend(**kwargs)


def test_airflow_uses_it_when_configured_by_environment(connect_env, fake_slack):
    """As every component is configured: AIRFLOW__SECRETS__BACKEND(_KWARGS) and OP_*; no task context."""
    code = (
        "from airflow.sdk import BaseHook, Variable\n"
        "from dagutils.notifications import send_slack_message\n"
        "print(BaseHook.get_connection('slack').conn_type)\n"
        "print(Variable.get('diagnostic_greeting'))\n"
        "print(send_slack_message('Deployed', [('Commit', 'abc123')], 'success'))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
    env.update(AIRFLOW__SECRETS__BACKEND="opconnect.backend.OnePasswordBackend",
               AIRFLOW__SECRETS__BACKEND_KWARGS=json.dumps({"connections_prefix": "connections",
                                                            "variables_prefix": "variables"}),
               PYTHONPATH=os.pathsep.join([str(PROJECT), str(PROJECT / "dags")]))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[:1] == ["slackwebhook"]
    assert "hello from the development vault\nTrue" in result.stdout
    [message] = fake_slack.snapshot()
    assert message["text"] == ":white_check_mark: *Deployed*\n*Commit:* abc123"
