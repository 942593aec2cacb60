"""Fixtures shared by the whole suite; area-specific ones live in each folder's conftest.py."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Unit tests that import Airflow get a private, throw-away AIRFLOW_HOME (never ~/airflow) and no examples.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest

from devtools.fake_onepassword import FakeConnect
from devtools.fake_slack import FakeSlack
from devtools.onepassword_store import Store
from stacktest.gitrepo import Origin, good_dag
from stacktest.native import NativeStack
from stacktest.vaults import EXAMPLE_ITEMS, INFRA_TOKEN, INFRA_VAULT_ID, TOKEN, VAULT_ID

INTEGRATION_DAGS = Path(__file__).parent / "integration" / "dags"


@pytest.fixture(scope="session")
def native_stack() -> NativeStack:
    """One native stack for the integration tests, started from nothing in a temporary folder."""
    # with the `monitoring` profile on (tests/monitoring, tests/dashboard, tests/alerting read it)
    env = {"STACK_EXTRA_DAGS_FOLDER": str(INTEGRATION_DAGS), "COMPOSE_PROFILES": "monitoring"}
    with NativeStack.running(env) as stack:
        yield stack


@pytest.fixture
def origin(tmp_path) -> Origin:
    """A bare origin whose production branch holds one valid DAG (tests/webhook has its own, with a README)."""
    repo = Origin(tmp_path / "git")
    repo.commit({"dags/hello.py": good_dag("hello")}, "Initial DAGs (#1)")
    return repo


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


def pytest_collection_modifyitems(items):
    """The compose layer runs after the native layers (it is the slowest and needs the most set-up)."""
    items.sort(key=lambda item: item.get_closest_marker("compose") is not None)
