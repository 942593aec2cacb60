"""The webhook key cache with a rolling key: refused requests never turn into 1Password reads."""

from __future__ import annotations

import secrets
import time

import pytest

from tests.webhook.conftest import signed
from webhook import create_app, infra_vault

COMMIT = "0123456789abcdef0123456789abcdef01234567"
DEV_KEY = "development-webhook-key-not-secret"  # the example vault's "Airflow Webhook" password


@pytest.fixture
def rolling_app(tmp_path, origin, connect_env):
    """Webhook workers (apps on one state folder) with a rolling key in the fake Connect."""
    infra_vault.clear_cache()

    def build():
        return create_app({"state_dir": tmp_path / "state", "repo_url": origin.url, "start_runner": False,
                           "rolling_key": True})

    yield build
    infra_vault.clear_cache()


def reads(connect) -> int:
    """Requests the fake 1Password Connect has served so far."""
    return len(connect.requests)


def flood(client, count: int = 40) -> None:
    """Unauthenticated requests: made-up keys with well-formed headers, and broken headers."""
    for n in range(count):
        forged = signed(COMMIT, key=secrets.token_urlsafe(32))
        if n % 4 == 1:
            forged["Webhook-Timestamp"] = str(int(time.time()) - 3600)
        elif n % 4 == 2:
            forged["Webhook-Id"] = "bad id!"
        elif n % 4 == 3:
            del forged["Webhook-Timestamp"]
        assert client.post("/webhook", json={"commit": COMMIT}, headers=forged).status_code in (401, 403)


def test_an_unauthenticated_flood_is_not_a_flood_of_1password_reads(rolling_app, connect_env):
    client = rolling_app().test_client()
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY)).status_code == 202
    before = reads(connect_env)
    flood(client)
    assert reads(connect_env) == before, "refused requests read 1Password"
    rolled = infra_vault.get_secret(infra_vault.WEBHOOK_ITEM, "password")
    assert client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=rolled)).status_code == 202


def test_a_key_rolled_by_another_worker_is_read_once(rolling_app, connect_env):
    first, second = rolling_app().test_client(), rolling_app().test_client()
    flood(second, 4)  # the second worker has read (and cached) the key before it is rolled
    assert first.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=DEV_KEY)).status_code == 202
    rolled = infra_vault.get_secret(infra_vault.WEBHOOK_ITEM, "password")
    before = reads(connect_env)
    assert second.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=rolled)).status_code == 202
    after_accept = reads(connect_env)
    assert after_accept > before, "the second worker must re-read the rolled key"
    assert second.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key=rolled)).status_code == 403
    flood(second)
    # its own roll after accepting is a write; nothing is read again for the flood
    assert reads(connect_env) == after_accept


def test_after_a_failed_check_the_key_is_re_read_at_most_once_per_interval(rolling_app, connect_env,
                                                                            monkeypatch):
    from webhook import keys
    client = rolling_app().test_client()
    flood(client, 4)
    with monkeypatch.context() as patched:
        patched.setattr(keys, "REFRESH_AFTER_FAILURE_SECONDS", 0.0)
        before = reads(connect_env)
        client.post("/webhook", json={"commit": COMMIT}, headers=signed(COMMIT, key="made-up-key-0123456789"))
        assert reads(connect_env) > before, "a well-formed request that failed re-reads once the interval passed"
    before = reads(connect_env)
    flood(client)
    assert reads(connect_env) == before
