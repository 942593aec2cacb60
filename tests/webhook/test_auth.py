"""Authentication of POST /webhook: a per-request key value, timestamp window, replay store, generic refusals."""

from __future__ import annotations

import logging
import os
import time

import pytest

from tests.webhook.conftest import KEY, signed
from webhook import create_app
from webhook.signing import request_key

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def history_ids(app) -> list[str]:
    from webhook.deploy.history import History
    return list(History(app.extensions["state"]).deploys())


def mutate(headers: dict, change: str) -> dict:
    """One way of getting the headers wrong, by name (the table below)."""
    headers = dict(headers)
    now = int(time.time())
    if change == "no key":
        del headers["X-Webhook-Key"]
    elif change == "empty key":
        headers["X-Webhook-Key"] = ""
    elif change == "the long-lived key itself":
        headers["X-Webhook-Key"] = KEY
    elif change == "value for another commit":
        headers["X-Webhook-Key"] = request_key(KEY, "deploy", "f" * 40, headers["Webhook-Id"],
                                               headers["Webhook-Timestamp"])
    elif change == "value for another endpoint":
        headers["X-Webhook-Key"] = request_key(KEY, "rollback", COMMIT, headers["Webhook-Id"],
                                               headers["Webhook-Timestamp"])
    elif change == "value for another delivery id":
        headers["Webhook-Id"] = "another-delivery-id"
    elif change == "value for another time":
        headers["Webhook-Timestamp"] = str(int(headers["Webhook-Timestamp"]) + 1)
    elif change == "value with another key":
        headers["X-Webhook-Key"] = request_key("another-key-0123456789", "deploy", COMMIT, headers["Webhook-Id"],
                                               headers["Webhook-Timestamp"])
    elif change == "scheme v1":
        headers["X-Webhook-Key"] = headers["X-Webhook-Key"].replace("v2,", "v1,")
    elif change == "truncated value":
        headers["X-Webhook-Key"] = headers["X-Webhook-Key"][:-1]
    elif change == "no delivery id":
        del headers["Webhook-Id"]
    elif change == "no timestamp":
        del headers["Webhook-Timestamp"]
    elif change == "timestamp too old":
        headers.update(signed(COMMIT, timestamp=now - 301))
    elif change == "timestamp in the future":
        headers.update(signed(COMMIT, timestamp=now + 301))
    elif change == "timestamp not a number":
        headers["Webhook-Timestamp"] = "yesterday"
    elif change == "short delivery id":
        headers.update(signed(COMMIT, delivery_id="abc"))
    elif change == "delivery id with spaces":
        headers.update(signed(COMMIT, delivery_id="an id with spaces"))
    return headers


@pytest.mark.parametrize(("change", "status"), [
    ("no key", 401),
    ("empty key", 401),
    ("the long-lived key itself", 403),
    ("value for another commit", 403),
    ("value for another endpoint", 403),
    ("value for another delivery id", 403),
    ("value for another time", 403),
    ("value with another key", 403),
    ("scheme v1", 403),
    ("truncated value", 403),
    ("no delivery id", 401),
    ("no timestamp", 401),
    ("timestamp too old", 403),
    ("timestamp in the future", 403),
    ("timestamp not a number", 403),
    ("short delivery id", 403),
    ("delivery id with spaces", 403),
])
def test_refused_requests_get_a_generic_answer_and_queue_nothing(app, client, change, status, caplog):
    caplog.set_level(logging.WARNING, logger="webhook")
    response = client.post("/webhook", json={"commit": COMMIT}, headers=mutate(signed(COMMIT), change))
    assert response.status_code == status
    assert response.json["error"] in ("unauthorized", "forbidden")
    # The reason is in the log, never in the answer.
    assert "event=auth_failed" in caplog.text
    assert history_ids(app) == []


def test_a_valid_request_is_accepted_fast(client):
    started = time.perf_counter()
    response = client.post("/webhook", json={"commit": COMMIT, "pr": 12}, headers=signed(COMMIT))
    elapsed = time.perf_counter() - started
    assert response.status_code == 202
    assert response.json["state"] == "queued" and response.json["commit"] == COMMIT
    assert response.headers["Location"] == response.json["status_url"]
    assert elapsed < 0.1


def test_a_replayed_delivery_is_refused(app, client):
    headers = signed(COMMIT)
    assert client.post("/webhook", json={"commit": COMMIT}, headers=headers).status_code == 202
    again = client.post("/webhook", json={"commit": COMMIT}, headers=headers)
    assert again.status_code == 403
    assert len(history_ids(app)) == 1


def test_the_replay_store_is_shared_by_all_workers(make_app):
    """Two app instances (as two gunicorn workers) on one state folder."""
    first, second = make_app().test_client(), make_app().test_client()
    headers = signed(COMMIT)
    assert first.post("/webhook", json={"commit": COMMIT}, headers=headers).status_code == 202
    assert second.post("/webhook", json={"commit": COMMIT}, headers=headers).status_code == 403


def test_a_failed_check_does_not_burn_the_delivery_id(client):
    headers = signed(COMMIT)
    other = request_key(KEY, "deploy", "e" * 40, headers["Webhook-Id"], headers["Webhook-Timestamp"])
    bad = {**headers, "X-Webhook-Key": other}
    assert client.post("/webhook", json={"commit": COMMIT}, headers=bad).status_code == 403
    assert client.post("/webhook", json={"commit": COMMIT}, headers=headers).status_code == 202


def test_a_captured_deploy_request_cannot_roll_back(client, origin):
    # the finding: a signature captured from a deploy of C was accepted by POST /rollback {"to": C}
    commit = origin.head()
    captured = signed(commit)
    assert client.post("/webhook", json={"commit": commit}, headers=captured).status_code == 202
    fresh_id = {**captured, "Webhook-Id": "a-fresh-delivery-id"}
    for headers in (captured, fresh_id):
        assert client.post("/rollback", json={"to": commit}, headers=headers).status_code == 403
    assert client.post("/rollback", json={"to": commit},
                       headers=signed(commit, endpoint="rollback")).status_code != 403


def test_the_long_lived_key_is_never_in_a_request(client):
    headers = signed(COMMIT)
    assert KEY not in "".join(headers.values())


def test_two_keys_are_accepted_during_a_rotation(make_app):
    new_key = "the-new-webhook-key-0123456789"
    client = make_app(webhook_key=new_key, webhook_previous_key=KEY).test_client()
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=KEY)).status_code == 202
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=new_key)).status_code == 202
    assert client.post("/webhook", json={"commit": COMMIT},
                       headers=signed(COMMIT, key="a-third-key-0123456789")).status_code == 403


def test_the_value_survives_reserialisation_of_the_body(client):
    """smee-client re-serialises the JSON body: whitespace and key order must not matter."""
    body = '{ "pr" : 3,\n  "commit" :"' + COMMIT + '" }'
    response = client.post("/webhook", data=body, content_type="application/json", headers=signed(COMMIT))
    assert response.status_code == 202


@pytest.mark.parametrize(("body", "status"), [
    ("not json", 400),
    ("[1, 2]", 400),
    ('{"commit": "abc"}', 400),
    ('{"commit": 42}', 400),
    ('{}', 400),
    ('{"commit": "' + COMMIT + '", "pr": "twelve"}', 400),
    ('{"commit": "' + COMMIT + '", "pr": "\u00b9"}', 400),
])
def test_bad_bodies_are_400_after_the_key_check(client, body, status):
    response = client.post("/webhook", data=body, content_type="application/json", headers=signed(COMMIT))
    assert response.status_code == status
    # Without the key the same bodies are refused as unauthenticated first.
    anonymous = client.post("/webhook", data=body, content_type="application/json")
    assert anonymous.status_code == 401


def test_oversized_body_is_413(make_app):
    client = make_app(max_body_bytes=1024).test_client()
    body = {"commit": COMMIT, "padding": "x" * 2000}
    assert client.post("/webhook", json=body, headers=signed(COMMIT)).status_code == 413


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(client, method):
    response = client.open("/webhook", method=method)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_auth_failures_are_counted_in_metrics(client):
    client.post("/webhook", json={"commit": COMMIT}, headers={"X-Webhook-Key": "nope"})
    client.post("/webhook", json={"commit": COMMIT})
    client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key="not-the-key-0123456789"))
    text = client.get("/metrics").data.decode()
    # coarse in public (tests/haproxy/test_haproxy_webhook.py); the exact reason is in the log
    assert 'webhook_auth_failures_total{reason="bad_request"} 2.0' in text
    assert 'webhook_auth_failures_total{reason="unauthorized"} 1.0' in text


# ---- the key from 1Password (fake Connect server) ------------------------------------------------------

DEV_KEY = "development-webhook-key-not-secret"  # the example vault's "Airflow Webhook" password


@pytest.fixture
def onepassword_app(tmp_path, origin, connect_env):
    from webhook import infra_vault
    infra_vault.clear_cache()
    yield create_app({"state_dir": tmp_path / "state", "repo_url": origin.url, "start_runner": False})
    infra_vault.clear_cache()


def test_key_is_read_from_1password_when_no_development_key(onepassword_app):
    client = onepassword_app.test_client()
    ok = client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY))
    assert ok.status_code == 202
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT)).status_code == 403


def test_the_key_is_in_a_vault_the_dag_token_cannot_read(onepassword_app):
    """Tasks hold OP_API_TOKEN (DAG secrets); the webhook key sits in the infrastructure vault, out of its reach."""
    from opconnect import secrets
    from opconnect.errors import ConnectError, SecretNotFoundError
    from opconnect.settings import DagVault, from_env
    from webhook.infra_vault import WEBHOOK_ITEM
    with pytest.raises(SecretNotFoundError):
        secrets.get_secret(WEBHOOK_ITEM, "password", from_env(DagVault))
    infra_vault_with_dag_token = from_env(DagVault, vault=os.environ["OP_INFRA_VAULT_ID"])
    with pytest.raises(ConnectError, match="403"):
        secrets.get_secret(WEBHOOK_ITEM, "password", infra_vault_with_dag_token)


def test_the_webhook_without_the_infrastructure_token_has_no_key(tmp_path, origin, connect_env, monkeypatch):
    monkeypatch.delenv("OP_INFRA_TOKEN")
    app = create_app({"state_dir": tmp_path / "state", "repo_url": origin.url, "start_runner": False})
    response = app.test_client().post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY))
    assert response.status_code == 503


def test_1password_down_is_503_never_200(onepassword_app, connect_env):
    connect_env.fail_next(500, times=50)
    response = onepassword_app.test_client().post("/webhook", json={"commit": COMMIT},
                                                  headers=signed(COMMIT, key=DEV_KEY))
    assert response.status_code == 503
    assert response.json["error"] == "authentication unavailable"


def test_the_key_is_cached_not_read_per_request(onepassword_app, connect_env):
    client = onepassword_app.test_client()
    for _ in range(5):
        client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY))
    item_reads = [r for r in connect_env.requests if "/items" in r[1]]
    assert 1 <= len(item_reads) <= 2


def test_a_key_rotated_in_1password_is_picked_up_on_the_next_request(onepassword_app, monkeypatch):
    from webhook import infra_vault, keys
    monkeypatch.setattr(keys, "REFRESH_AFTER_FAILURE_SECONDS", 0.0)
    client = onepassword_app.test_client()

    def post(key: str) -> int:
        return client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=key)).status_code

    assert post(DEV_KEY) == 202
    rotated = "rotated-webhook-key-0123456789abcdef"
    infra_vault.set_secret("Airflow Webhook", "password", rotated)
    assert post(rotated) == 202
    # ...and the old key stops working at once.
    assert post(DEV_KEY) == 403


def test_rolling_key_makes_a_used_key_worthless(tmp_path, origin, connect_env):
    from webhook import infra_vault
    infra_vault.clear_cache()
    app = create_app({"state_dir": tmp_path / "state", "repo_url": origin.url, "start_runner": False,
                      "rolling_key": True})
    client = app.test_client()
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY)).status_code == 202
    rolled = infra_vault.get_secret("Airflow Webhook", "password")
    assert rolled != DEV_KEY and len(rolled) >= 32
    # A captured key cannot make a new request, even with a fresh delivery id and signature...
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY)).status_code == 403
    # ...while the sender, reading 1Password again, can; and another worker sees the new key at once.
    other = create_app({"state_dir": tmp_path / "state", "repo_url": origin.url, "start_runner": False,
                        "rolling_key": True}).test_client()
    assert other.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=rolled)).status_code == 202
    infra_vault.clear_cache()


def test_rolling_key_needs_1password():
    from webhook.settings import SettingsError, from_env
    with pytest.raises(SettingsError, match="WEBHOOK_ROLLING_KEY"):
        from_env({"WEBHOOK_ROLLING_KEY": "true", "WEBHOOK_KEY": "x" * 20})
