"""Fixtures that run the fake 1Password Connect and fake Slack servers on free ports, stopped at teardown."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools.fake_onepassword import FakeConnect
from devtools.fake_slack import FakeSlack
from devtools.onepassword_store import Store

EXAMPLE_ITEMS = Path(__file__).resolve().parents[1] / "devtools" / "onepassword-items.example.json"
TOKEN = "test-connect-token"
VAULT_ID = "airflowdevelopmentvault001"
VAULT_NAME = "Airflow"
INFRA_TOKEN = "test-infra-connect-token"
INFRA_VAULT_ID = "airflowinfrastructurevault"


@pytest.fixture
def fake_slack():
    """A fake Slack; its URL is what connections and the example vault point at."""
    with FakeSlack() as server:
        yield server


@pytest.fixture
def fake_connect(fake_slack, monkeypatch):
    """A fake Connect serving the committed example vaults, each token reaching only its own vault
    (the Slack connection points at fake_slack)."""
    monkeypatch.setenv("FAKE_SLACK_URL", fake_slack.url)
    tokens = {TOKEN: frozenset({VAULT_ID}), INFRA_TOKEN: frozenset({INFRA_VAULT_ID})}
    with FakeConnect(Store.from_file(EXAMPLE_ITEMS), tokens) as server:
        yield server


@pytest.fixture
def connect_env(fake_connect, monkeypatch):
    """OP_* variables pointing at fake_connect, the way every component is configured."""
    for name in ("OP_CONNECT_HOST", "OP_CONNECT_TOKEN", "OP_VAULT", "OP_CONNECT_CLIENT_REQ_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OP_CONNECT", fake_connect.url)
    monkeypatch.setenv("OP_API_TOKEN", TOKEN)
    monkeypatch.setenv("OP_VAULT_ID", VAULT_ID)
    monkeypatch.setenv("OP_INFRA_TOKEN", INFRA_TOKEN)
    monkeypatch.setenv("OP_INFRA_VAULT_ID", INFRA_VAULT_ID)
    return fake_connect
