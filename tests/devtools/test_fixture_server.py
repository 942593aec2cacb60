"""The NWS/camera fixture server, driven by the weather code itself: every scenario the DAG must survive."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from devtools.fixture_server import FixtureServer

DAGS = str(Path(__file__).resolve().parents[2] / "dags")
if DAGS not in sys.path:
    sys.path.insert(0, DAGS)

from weather_checker import camera, nws  # noqa: E402
from weather_checker.results import StepFailed  # noqa: E402
from weather_checker.session import make_session  # noqa: E402

AGENT = "gitops-airflow-weather-checker/1.0 (ops@example.org)"


@pytest.fixture
def fixture_server():
    with FixtureServer() as server:
        yield server


def forecast(server: FixtureServer, lat=30.2672, lon=-97.7431) -> dict:
    return nws.fetch_forecast(make_session(AGENT, retries=0), server.nws_base_url, lat, lon, timeout=5)


def snapshot(server: FixtureServer) -> camera.Snapshot:
    url = server.camera_url_pattern.replace("{id}", "533")
    return camera.fetch(make_session(AGENT, retries=0), url, "533", timeout=5)


def test_forecast_links_point_back_to_the_fixture_server(fixture_server):
    result = forecast(fixture_server)
    assert result["forecast_url"] == f"{fixture_server.url}/gridpoints/EWX/156,91/forecast"
    assert result["period"] == "This Afternoon"
    assert fixture_server.stats()["counts"] == {"points": 1, "forecast": 1}
    assert fixture_server.stats()["user_agents"] == [AGENT, AGENT]


def test_requests_without_a_user_agent_are_refused_like_nws(fixture_server):
    response = requests.get(fixture_server.url + "/points/30.2672,-97.7431", timeout=5)
    assert response.status_code == 403 and "Access Denied" in response.text


@pytest.mark.parametrize(("scenario", "message", "transient"), [
    ("503", r"NWS point answered 503 \(after retries\): Service Unavailable", True),
    ("404", "NWS has no point for", False),
    ("malformed", "NWS point answer is malformed JSON", False),
])
def test_nws_failures(fixture_server, scenario, message, transient):
    fixture_server.set_scenario({"nws": scenario})
    with pytest.raises(StepFailed, match=message) as caught:
        forecast(fixture_server)
    assert caught.value.transient is transient


def test_points_outside_the_us_are_404_and_extra_decimals_redirect(fixture_server):
    with pytest.raises(StepFailed, match=r"Unable to provide data for requested point 51.5074,-0.1278"):
        forecast(fixture_server, 51.5074, -0.1278)
    fixture_server.set_scenario({"nws": "redirect"})
    result = forecast(fixture_server)
    assert result["redirected"] and result["point_url"].endswith("/points/30.267,-97.743")


def test_camera_scenarios(fixture_server):
    assert (snapshot(fixture_server).width, snapshot(fixture_server).height) == (640, 480)
    fixture_server.set_scenario({"camera": "placeholder"})
    snap = snapshot(fixture_server)
    now = datetime.now(UTC)
    assert "the camera looks offline" in camera.offline_reason(snap, (), now)
    for scenario, message in (("html", "not an image"), ("truncated", "truncated or corrupt"),
                              ("404", "answered 404"), ("503", "answered 503")):
        fixture_server.set_scenario({"camera": scenario})
        with pytest.raises(StepFailed, match=message):
            snapshot(fixture_server)


def test_scenarios_switch_over_http_and_bad_ones_are_named(fixture_server):
    ok = requests.put(fixture_server.url + "/_fixture/scenario", json={"nws": "503"}, timeout=5)
    assert ok.json() == {"nws": "503", "camera": "ok", "partner": "ready"}
    bad = requests.put(fixture_server.url + "/_fixture/scenario", json={"nws": "down"}, timeout=5)
    assert bad.status_code == 400
    assert bad.json()["error"] == "nws scenario must be one of ok, 503, 404, malformed, redirect, got 'down'"
    assert requests.get(fixture_server.url + "/_fixture/scenario", timeout=5).json()["nws"] == "503"


def test_command_line_prints_the_settings_to_use():
    command = [sys.executable, "-m", "devtools.fixture_server", "--port", "0"]
    with subprocess.Popen(command, cwd=Path(DAGS).parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            lines = [proc.stdout.readline().strip() for _ in range(3)]
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
    assert lines[0].startswith("fixture server on http://127.0.0.1:")
    base = lines[0].rsplit(" ", 1)[1]
    assert lines[1:] == [f"NWS_BASE_URL={base}", f"CAMERA_URL_PATTERN={base}/image/{{id}}.jpg"]
