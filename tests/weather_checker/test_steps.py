"""The steps end to end without Airflow: bad input becomes a failed check and the page still renders."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from dagutils.onepassword import get_secret
from PIL import Image
from weather_checker import steps
from weather_checker.session import make_session

from tests.weather_checker.samples import CAMERA_URL, POINT_URL, flat_jpeg, nws_fixture, street_jpeg

NOW = datetime(2026, 10, 20, 18, 5, 3, tzinfo=UTC)
SECRET = "development demonstration value"


def quick():
    return make_session("test (t@example.org)", retries=0)


def test_forecast_step_passes_with_a_readable_detail(nws_ok, settings):
    result = steps.forecast_step(settings, "w1", quick())
    assert result["check"] == {"name": "forecast", "status": "pass",
                               "detail": "This Afternoon: Slight Chance Showers And Thunderstorms "
                                         "(Austin, TX, grid EWX/156,91)"}
    assert result["forecast"]["text"].startswith("A slight chance")
    json.dumps(result)  # it travels through XCom


def test_forecast_step_turns_a_404_into_a_failed_check(responses_mock, settings):
    responses_mock.get(POINT_URL, status=404, json=nws_fixture("problem_invalid_point.json"))
    result = steps.forecast_step(settings, "w1", quick())
    assert result["forecast"] is None
    assert result["check"]["status"] == "fail" and result["check"]["transient"] is False
    assert "Data Unavailable For Requested Point" in result["check"]["detail"]


def test_forecast_step_survives_an_unexpected_shape(responses_mock, settings):
    points = nws_fixture("points_austin.json")
    points["properties"]["relativeLocation"] = "Austin"
    responses_mock.get(POINT_URL, json=points)
    responses_mock.get(points["properties"]["forecast"], json=nws_fixture("forecast_austin.json"))
    result = steps.forecast_step(settings, "w1", quick())
    assert result["check"]["status"] == "fail"
    assert result["check"]["detail"].startswith("AttributeError: ")


def test_camera_step_reports_an_unwritable_folder(responses_mock, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    responses_mock.get(CAMERA_URL, body=street_jpeg(), content_type="image/jpeg")
    result = steps.camera_step(replace(settings, diagnostics_dir=blocker), "run-1", "w1", quick(), now=NOW)
    assert result["check"]["status"] == "fail"
    assert "not-a-folder" in result["check"]["detail"]


def test_camera_step_writes_the_annotated_image(responses_mock, settings):
    responses_mock.get(CAMERA_URL, body=street_jpeg(), content_type="binary/octet-stream")
    result = steps.camera_step(settings, "run-1", "w1", quick(), now=NOW)
    assert result["check"]["status"] == "pass"
    camera = result["camera"]
    assert camera["image"] == "images/run-1.jpg"
    assert camera["taken_local"] == "10/20/2026 13:05:03 CDT"
    with Image.open(settings.diagnostics_dir / camera["image"]) as image:
        assert image.format == "JPEG" and image.size == (camera["width"], camera["height"]) == (640, 480)


def test_camera_step_warns_about_an_offline_camera(responses_mock, settings):
    responses_mock.get(CAMERA_URL, body=flat_jpeg(), content_type="binary/octet-stream")
    result = steps.camera_step(settings, "run-1", "w1", quick(), now=NOW)
    assert result["check"]["status"] == "warn"
    assert "camera 533: image is almost one flat colour" in result["check"]["detail"]
    assert result["camera"]["offline"]


@pytest.mark.parametrize(("body", "detail"), [
    (b"<!DOCTYPE html><html>oops</html>", "not an image"),
    (street_jpeg()[:3000], "truncated or corrupt"),
])
def test_camera_step_fails_on_bad_bytes_and_writes_nothing(responses_mock, settings, body, detail):
    responses_mock.get(CAMERA_URL, body=body, content_type="text/html")
    result = steps.camera_step(settings, "run-1", "w1", quick(), now=NOW)
    assert result["check"]["status"] == "fail" and detail in result["check"]["detail"]
    assert "image" not in result["camera"]
    assert not (settings.diagnostics_dir / "images").exists()


def test_secret_step_reads_through_the_real_utility(connect_env, settings):
    outcome, value = steps.secret_step(settings, get_secret)
    assert outcome["status"] == "pass" and value == SECRET
    assert SECRET not in json.dumps(outcome)


def test_secret_step_names_a_missing_field(connect_env, settings):
    # The example vault has development and production sections only.
    outcome, value = steps.secret_step(replace(settings, environment="staging"), get_secret)
    assert value is None and outcome["status"] == "fail"
    assert outcome["detail"].startswith(
        "could not read item 'Diagnostic ETL (Weather)', field 'staging.demonstration secret': ")


def test_secret_step_reports_a_missing_item(connect_env, settings):
    outcome, value = steps.secret_step(settings, lambda item, field: get_secret("No Such Item", field))
    assert value is None and outcome["status"] == "fail"
    assert "No Such Item" in outcome["detail"]


def test_secret_step_rejects_an_empty_value(settings):
    outcome, value = steps.secret_step(settings, lambda item, field: "")
    assert value is None and outcome["detail"].endswith("is empty")


def run_once(settings, forecast, camera, *, secret=SECRET, run_id="manual__1"):
    stack = {"checks": [{"name": "redis", "status": "pass", "detail": "PONG"}], "info": {"commit": "abc"},
             "host": "w1"}
    secret_check = {"name": "secret", "status": "pass" if secret else "fail", "detail": "read"}
    record = steps.build_record(settings, dag_id="weather-checker", run_id=run_id, host="w1",
                                airflow_version="3.3.2", forecast=forecast, camera_result=camera, stack=stack,
                                secret_check=secret_check, now=NOW)
    steps.publish_step(settings, record, secret)
    return record


def test_publish_writes_page_record_history_and_assets_without_the_secret(nws_ok, settings):
    forecast = steps.forecast_step(settings, "w1", quick())
    nws_ok.get(CAMERA_URL, body=street_jpeg(), content_type="image/jpeg")
    camera = steps.camera_step(settings, "run-1", "w1", quick(), now=NOW)
    record = run_once(settings, forecast, camera)
    folder = settings.diagnostics_dir
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "favicon.png", "history.json", "images", "index.html", "latest.json", "page.css"]
    assert record["verdict"] == "pass" and record["failed"] == []
    assert record["stack_version"] == "0.1.0"  # from pyproject.toml beside dags/, as the webhook gave none
    assert json.loads((folder / "latest.json").read_text())["run_id"] == "manual__1"
    assert SECRET in (folder / "index.html").read_text()
    for name in ("latest.json", "history.json"):
        assert SECRET not in (folder / name).read_text()
    assert 'src="images/run-1.jpg"' in (folder / "index.html").read_text()


def test_forecast_failure_still_renders_everything_else(responses_mock, settings):
    responses_mock.get(POINT_URL, status=503, json=nws_fixture("problem_unavailable.json"))
    responses_mock.get(CAMERA_URL, body=street_jpeg(), content_type="image/jpeg")
    forecast = steps.forecast_step(settings, "w1", quick())
    camera = steps.camera_step(settings, "run-1", "w1", quick(), now=NOW)
    record = run_once(settings, forecast, camera)
    html = (settings.diagnostics_dir / "index.html").read_text()
    assert record["failed"] == ["forecast"]
    assert '<tr class="fail"><th scope="row">forecast</th>' in html
    assert "NWS point answered 503" in html
    assert 'src="images/run-1.jpg"' in html and SECRET in html


def test_missing_task_results_are_failed_checks(settings):
    forecast = {"check": steps.missing("forecast", "fetch_forecast")}
    camera = {"check": steps.missing("camera", "snapshot_camera")}
    record = run_once(settings, forecast, camera, secret=None)
    assert record["failed"] == ["forecast", "camera", "secret"]
    html = (settings.diagnostics_dir / "index.html").read_text()
    assert "task fetch_forecast reported no result" in html


def test_image_written_on_another_host_is_a_failed_camera_check(settings):
    forecast = {"check": {"name": "forecast", "status": "pass", "detail": "ok"}, "forecast": None}
    camera = {"check": {"name": "camera", "status": "pass", "detail": "ok"}, "host": "w2",
              "camera": {"camera_id": "533", "label": "x", "image": "images/elsewhere.jpg"}}
    record = run_once(settings, forecast, camera)
    assert record["failed"] == ["camera"]
    [check] = [c for c in record["checks"] if c["name"] == "camera"]
    assert "written by w2 but is missing on w1: DIAGNOSTICS_DIR must be shared" in check["detail"]
    assert "<img" not in (settings.diagnostics_dir / "index.html").read_text()


def test_history_keeps_the_newest_runs_and_their_images(responses_mock, settings):
    settings = replace(settings, history_size=3)
    forecast = {"check": {"name": "forecast", "status": "pass", "detail": "ok"}, "forecast": None}
    for i in range(5):
        responses_mock.get(CAMERA_URL, body=street_jpeg(), content_type="image/jpeg")
        camera = steps.camera_step(settings, f"run-{i}", "w1", quick(), now=NOW)
        run_once(settings, forecast, camera, run_id=f"manual__{i}")
    history = json.loads((settings.diagnostics_dir / "history.json").read_text())
    assert [h["run_id"] for h in history] == ["manual__4", "manual__3", "manual__2"]
    html = (settings.diagnostics_dir / "index.html").read_text()
    assert "<h2>Last 3 runs</h2>" in html and "manual__1" not in html
