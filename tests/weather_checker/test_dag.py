"""weather-checker as Airflow sees it: its shape, and two real runs with dag.test() against local fakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag
from PIL import Image

from devtools.fixture_server import FixtureServer
from stacktest.airflow_home import slack_connection, sqlite_airflow_env
from tests.weather_checker.fakes import FakeStack, celery_worker, redis_server

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
PACKAGE = DAGS / "weather_checker"
DAG_FILE = PACKAGE / "dag.py"
PRODUCERS = ("fetch_forecast", "snapshot_camera", "check_stack")


def parse(monkeypatch, environment: str):
    monkeypatch.setenv("ENVIRONMENT", environment)
    monkeypatch.syspath_prepend(str(DAGS))
    bag = DagBag(dag_folder=str(DAG_FILE), bundle_path=DAGS, safe_mode=False)
    assert bag.import_errors == {}
    return bag.dags["weather-checker"]


@pytest.fixture
def dag(monkeypatch):
    return parse(monkeypatch, "development")


def test_runs_on_demand_in_development_and_every_five_minutes_in_production(monkeypatch, dag):
    assert dag.schedule is None
    assert parse(monkeypatch, "production").schedule == "*/5 * * * *"


def test_dag_settings(dag):
    from weather_checker import dag as module

    assert dag.catchup is False and dag.max_active_runs == 1
    assert dag.dagrun_timeout.total_seconds() == 240
    assert set(dag.tags) == {"diagnostic", "weather"}
    assert dag.doc_md == module.__doc__


def test_shape_trigger_rules_and_retries(dag):
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {*PRODUCERS, "publish_page", "verdict"}
    assert tasks["publish_page"].upstream_task_ids == set(PRODUCERS)
    assert tasks["verdict"].upstream_task_ids == {"publish_page"}
    # The page renders and the verdict runs whatever happened upstream.
    assert tasks["publish_page"].trigger_rule == "all_done"
    assert tasks["verdict"].trigger_rule == "all_done"
    retries = {t: tasks[t].retries for t in tasks}
    assert retries == {"fetch_forecast": 2, "snapshot_camera": 2, "check_stack": 0, "publish_page": 1,
                       "verdict": 0}
    for task in tasks.values():
        assert task.owner == "data-platform"
        assert 0 < task.execution_timeout.total_seconds() <= 90


def test_failures_alert_slack_but_the_verdict_does_not_repeat_them(dag):
    from dagutils.notifications import task_fail_slack_alert
    from weather_checker.verdict import alert_unless_reported

    def callbacks(task):
        value = task.on_failure_callback
        return value if isinstance(value, list) else [value]

    tasks = {t.task_id: t for t in dag.tasks}
    for task_id in (*PRODUCERS, "publish_page"):
        assert callbacks(tasks[task_id]) == [task_fail_slack_alert]
    assert callbacks(tasks["verdict"]) == [alert_unless_reported]


def run_dag(env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("dag_run.py"))], env=env,
                            cwd=PROJECT, capture_output=True, text=True, timeout=240)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"dag.test() printed no result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(lines[0].removeprefix("RESULT "))


@pytest.fixture
def dag_env(tmp_path, connect_env, fake_slack):  # noqa: F811 - pytest fixtures imported above
    """Environment for dag.test(): a migrated SQLite home, a folder with only this DAG's package, fakes for the
    rest."""
    return sqlite_airflow_env(
        tmp_path, (PACKAGE.name,), import_from=DAGS,
        AIRFLOW_CONN_SLACK=slack_connection(fake_slack.url),
        ENVIRONMENT="development", DIAGNOSTICS_DIR=str(tmp_path / "diagnostics"))


@pytest.mark.timeout(420)
def test_two_runs_end_to_end(tmp_path, dag_env, fake_slack):  # noqa: F811
    """A healthy run is green with no alert; a run with bad NWS and camera answers still publishes a page,
    ends failed, and alerts once per failed task (the verdict does not add a third message)."""
    folder = Path(dag_env["DIAGNOSTICS_DIR"])
    with FixtureServer() as fixtures, FakeStack() as stack, redis_server() as redis_port:
        env = {**dag_env, **stack.env(), "NWS_BASE_URL": fixtures.nws_base_url,
               "CAMERA_URL_PATTERN": fixtures.camera_url_pattern, "REDIS_HOST": "127.0.0.1",
               "REDIS_PORT": str(redis_port), "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0"}
        with celery_worker(env, tmp_path / "celery.log"):
            first = run_dag(env)
            record = json.loads((folder / "latest.json").read_text())
            page = (folder / "index.html").read_text()
            assert first["state"] == "success", record["checks"]
            assert set(first["tasks"].values()) == {"success"}
            statuses = {c["name"]: c["status"] for c in record["checks"]}
            assert statuses.pop("relay") == "warn"  # no smee event in this test
            assert set(statuses.values()) == {"pass"}, record["checks"]
            assert "development demonstration value" in page
            assert "development demonstration value" not in (folder / "latest.json").read_text()
            with Image.open(folder / record["camera"]["image"]) as image:
                assert image.size == (640, 480)
            assert fake_slack.snapshot() == []
            assert fixtures.stats()["user_agents"][0].startswith("gitops-airflow-weather-checker/1.0 (")

            fixtures.set_scenario({"nws": "404", "camera": "html"})
            second = run_dag(env)
        assert second["state"] == "failed"
        assert second["tasks"] == {"fetch_forecast": "failed", "snapshot_camera": "failed",
                                   "check_stack": "success", "publish_page": "success", "verdict": "failed"}
        record = json.loads((folder / "latest.json").read_text())
        page = (folder / "index.html").read_text()
        assert record["failed"] == ["forecast", "camera"]
        assert "Unable to provide data for requested point" in page and "not an image" in page
        assert "development demonstration value" in page  # the rest of the page still renders
        assert len(json.loads((folder / "history.json").read_text())) == 2
        texts = [m.get("text", "") for m in fake_slack.snapshot()]
        assert len(texts) == 2, texts
        assert any("fetch_forecast" in t for t in texts) and any("snapshot_camera" in t for t in texts)
