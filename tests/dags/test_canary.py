"""The canary with dag.test(), offline: the fixture server as NWS, stand-ins for the api-server's health and the
webhook's status, a real redis-server, a fake Slack. The deadline firing for real (scheduler and Celery worker)
is in tests/integration/test_canary_stack.py."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.fake_slack import FakeSlack
from devtools.fixture_server import FixtureServer
from stacktest.airflow_home import slack_connection, sqlite_airflow_env
from stacktest.net import free_port
from tests.weather_checker.fakes import FakeStack, redis_server

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary")
    with FixtureServer() as fixtures, FakeSlack() as slack, FakeStack() as stack, redis_server() as redis_port:
        env = sqlite_airflow_env(
            root, ("dagutils", "canary", "weather_checker"), AIRFLOW_CONN_SLACK=slack_connection(slack.url),
            NWS_BASE_URL=fixtures.nws_base_url, REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis_port),
            ENVIRONMENT="development", TEAM_TIMEZONE="UTC", **stack.env())
        yield {"env": env, "slack": slack, "fixtures": fixtures}


def run(world, logical_date: datetime, **env) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("pipeline_run.py")), "canary",
                             logical_date.isoformat()], env={**world["env"], **env}, cwd=PROJECT,
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"dag.test() printed no result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(lines[0].removeprefix("RESULT "))


def test_a_healthy_run_is_green_and_silent(world):
    world["slack"].clear()
    result = run(world, datetime(2026, 3, 1, 12, 5, tzinfo=UTC))
    assert result["state"] == "success", result
    assert result["tasks"] == {"check_source": "success", "check_stack": "success", "late_demo": "success"}
    assert world["slack"].snapshot() == []


def test_every_check_failing_fails_the_run_and_posts_one_message(world):
    """The API unreachable, NWS answering 404 and a typo in the demo switch: three failed tasks, one message."""
    world["slack"].clear()
    world["fixtures"].set_scenario({"nws": "404"})
    try:
        result = run(world, datetime(2026, 3, 1, 12, 10, tzinfo=UTC), AIRFLOW_API_PORT=str(free_port()),
                     AIRFLOW_VAR_CANARY_LATE_DEMO="yes")
    finally:
        world["fixtures"].set_scenario({"nws": "ok"})
    assert result["state"] == "failed", result
    assert result["tasks"] == {"check_source": "failed", "check_stack": "failed", "late_demo": "failed"}
    [message] = world["slack"].snapshot()
    assert message["text"].startswith(":red_circle: *DAG run failed*"), message
    assert "*DAG:* canary" in message["text"] and result["run_id"] in message["text"]


def test_the_demo_switch_makes_the_run_end_after_its_deadline(world):
    """`always` makes this run's late_demo task sleep past the deadline (dag.test() runs no scheduler to fire
    the alert: tests/integration/test_canary_stack.py has that)."""
    from canary.dag import DEADLINE

    due = datetime.now(UTC).replace(microsecond=0) - DEADLINE + timedelta(seconds=5)
    result = run(world, due, AIRFLOW_VAR_CANARY_LATE_DEMO="always")
    assert result["state"] == "success", result
    assert datetime.fromisoformat(result["end_date"]) > due + DEADLINE
