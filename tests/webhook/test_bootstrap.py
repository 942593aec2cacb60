"""The one-shot bootstrap that gives the mirror its branch before Airflow's DAG processor starts."""

from __future__ import annotations

import pytest

from stacktest.gitrepo import BROKEN_DAG
from webhook.deploy import bootstrap
from webhook.deploy.mirror import Mirror


@pytest.fixture
def env(monkeypatch, tmp_path, origin):
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    return Mirror(tmp_path / "state" / "deploy" / "mirror.git", origin.url, "production")


def test_first_run_publishes_the_tip_then_does_nothing(env, origin, capsys):
    assert bootstrap.main() == 0
    assert env.deployed() == origin.head()
    assert "succeeded" in capsys.readouterr().out
    assert bootstrap.main() == 0
    assert "already deployed" in capsys.readouterr().out


def test_an_invalid_tip_is_not_published(env, origin, capsys):
    origin.commit({"dags/broken.py": BROKEN_DAG})
    assert bootstrap.main() == 1
    assert env.deployed() is None
    assert "rejected" in capsys.readouterr().out


def test_without_a_repository_it_publishes_the_checkouts_dags(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path))
    assert bootstrap.main() == 0
    assert "DEPLOY_REPO_URL is not set (deploys are off)" in capsys.readouterr().out
    mirror = Mirror(tmp_path / "deploy" / "mirror.git", "", "production")
    published = mirror.deployed()
    files = mirror.git("ls-tree", "-r", "--name-only", published).split()
    assert "dags/weather_checker/dag.py" in files
    assert all(name.startswith("dags/") for name in files)
    assert bootstrap.main() == 0, "a second start keeps what is published"
    assert mirror.deployed() == published


def test_a_repository_set_later_replaces_the_checkouts_dags(monkeypatch, tmp_path, origin, capsys):
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path))
    assert bootstrap.main() == 0
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    assert bootstrap.main() == 0
    assert Mirror(tmp_path / "deploy" / "mirror.git", "", "production").deployed() == origin.head()


def test_a_broken_repository_tip_keeps_the_checkouts_dags(monkeypatch, tmp_path, origin, capsys):
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path))
    assert bootstrap.main() == 0
    mirror = Mirror(tmp_path / "deploy" / "mirror.git", "", "production")
    baked = mirror.deployed()
    origin.commit({"dags/broken.py": BROKEN_DAG})
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    assert bootstrap.main() == 1
    assert mirror.deployed() == baked
