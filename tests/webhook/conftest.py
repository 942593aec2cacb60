"""Fixtures for the webhook tests: a real origin repository, the app, signed requests, a fake Airflow."""

from __future__ import annotations

import secrets
import time

import pytest

from stacktest.fake_airflow import FakeAirflow
from stacktest.gitrepo import Origin, good_dag
from tests.webhook.ssh import sshd  # noqa: F401 - a fixture
from webhook import create_app, settings
from webhook.auth import signed_headers
from webhook.deploy.pipeline import Context
from webhook.deploy.runner import Runner
from webhook.deploy.validation import Validator

KEY = "test-webhook-key-0123456789abcdef"
ENV_NAMES = ("ENVIRONMENT", "WEBHOOK_KEY", "DEPLOY_REPO_URL", "STACK_STATE_DIR", "DEPLOY_DIR", "STACK_COMMIT",
             "OP_CONNECT", "OP_CONNECT_HOST", "OP_API_TOKEN", "OP_CONNECT_TOKEN", "OP_VAULT_ID",
             "_AIRFLOW_WWW_USER_USERNAME", "_AIRFLOW_WWW_USER_PASSWORD", "DEPLOY_RUNNER",
             "OP_INFRA_TOKEN", "OP_INFRA_VAULT_ID", "DEPLOY_CREDENTIALS", "DEPLOY_KEY_ITEM", "DEPLOY_KEY_FIELD",
             "DEPLOY_KEY_FILE", "DEPLOY_TOKEN_ITEM", "DEPLOY_TOKEN_FIELD", "DEPLOY_TOKEN_USERNAME",
             "DEPLOY_KNOWN_HOSTS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Tests never inherit the developer's stack settings."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def origin(tmp_path) -> Origin:
    """A bare origin whose production branch holds one valid DAG."""
    repo = Origin(tmp_path / "git")
    repo.commit({"dags/hello.py": good_dag("hello"), "README.md": "demo\n"}, "Initial DAGs (#1)")
    return repo


def signed(target: str, key: str = KEY, delivery_id: str | None = None, timestamp: int | None = None,
           endpoint: str = "deploy", **extra) -> dict:
    """Headers the GitHub Action's script would send for this target (a commit, or a rollback target)."""
    delivery_id = delivery_id or f"test-{secrets.token_hex(8)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {**signed_headers(key, endpoint, target, delivery_id, timestamp), **extra}


def read_status(client, deploy_id: str, key: str = KEY) -> dict:
    """GET /deploys/<id> signed for endpoint "status": the whole record, DAG messages included."""
    response = client.get(f"/deploys/{deploy_id}", headers=signed(deploy_id, key=key, endpoint="status"))
    assert response.status_code == 200, response.data
    return response.json


@pytest.fixture
def make_app(tmp_path, origin):
    """Build apps on the same state folder (a second call is a 'restarted' webhook)."""
    def build(**overrides):
        config = {"state_dir": tmp_path / "state", "repo_url": origin.url, "webhook_key": KEY,
                  "start_runner": False, "poll_interval": 0.0, "visible_timeout": 5.0, **overrides}
        return create_app(config)
    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runners():
    """Runners built by a test are stopped (and their warm validator killed) at teardown."""
    made: list[Runner] = []
    yield made
    for runner in made:
        runner.stop()


@pytest.fixture(scope="session")
def validator():
    """One validation server for the session: it forks a fresh child per check, so tests stay isolated."""
    shared = Validator(timeout=120, bundle_name="gitops")
    yield shared
    shared.close()


@pytest.fixture
def make_runner(runners, validator):
    """Runners for an app, sharing the session's validator; stopped at teardown."""
    def build(app, **context) -> Runner:
        made = Runner(settings.get(app), Context.build(settings.get(app), validator=validator, **context))
        runners.append(made)
        return made
    return build


@pytest.fixture
def runner(app, make_runner) -> Runner:
    """The deploy runner for `app`, driven synchronously by the test (run_pending / poll)."""
    return make_runner(app)


@pytest.fixture
def airflow(tmp_path):
    """A fake Airflow API whose 'DAG processor' reads the mirror's published branch."""
    with FakeAirflow(tmp_path / "state" / "deploy" / "mirror.git") as fake:
        yield fake


@pytest.fixture
def airflow_app(make_app, airflow):
    return make_app(airflow_url=airflow.url, airflow_username=airflow.username,
                    airflow_password=airflow.password)


@pytest.fixture
def airflow_runner(airflow_app, airflow, make_runner) -> Runner:
    """A runner wired to the fake Airflow, with the initial commit already deployed and parsed."""
    made = make_runner(airflow_app)
    tip = made.ctx.mirror.fetch()
    made.ctx.mirror.publish(tip, None)
    airflow.parse()
    return made
