"""NWS forecast: /points then the forecast URL it names, and every bad answer as a clear failed step."""

from __future__ import annotations

import pytest
import requests
from responses import matchers
from weather_checker import nws
from weather_checker.results import StepFailed
from weather_checker.session import make_session

from tests.weather_checker.samples import BASE, FORECAST_URL, POINT_URL, nws_fixture

AGENT = "gitops-airflow-weather-checker/1.0 (ops@example.org)"


def fetch(lat=30.2672, lon=-97.7431, retries=0):
    return nws.fetch_forecast(make_session(AGENT, retries=retries, backoff=0), BASE, lat, lon, timeout=2)


@pytest.mark.parametrize(("lat", "lon", "path"), [
    (30.2672, -97.7431, "/points/30.2672,-97.7431"),
    (30.26721999, -97.74309, "/points/30.2672,-97.7431"),
    (30.0, -97.5, "/points/30,-97.5"),
])
def test_point_path_sends_at_most_four_decimals(lat, lon, path):
    assert nws.point_path(lat, lon) == path


def test_forecast_follows_the_url_the_point_names(responses_mock):
    points = nws_fixture("points_austin.json")
    # A grid no code could have hard-coded: the forecast must come from whatever /points says.
    other = f"{BASE}/gridpoints/EWX/155,90/forecast"
    points["properties"]["forecast"] = other
    responses_mock.get(POINT_URL, json=points, match=[matchers.header_matcher({"User-Agent": AGENT})])
    responses_mock.get(other, json=nws_fixture("forecast_austin.json"))

    result = fetch()

    assert result["period"] == "This Afternoon"
    assert result["text"].startswith("A slight chance of showers and thunderstorms.")
    assert result["temperature"] == "84°F"
    assert result["place"] == "Austin, TX"
    assert result["forecast_url"] == other
    assert result["redirected"] is False
    assert [c.request.url for c in responses_mock.calls] == [POINT_URL, other]


def test_every_request_names_the_stack_and_a_contact(nws_ok):
    fetch()
    for call in nws_ok.calls:
        assert call.request.headers["User-Agent"] == AGENT
        assert call.request.headers["Accept"] == "application/geo+json"


def test_point_outside_the_us_is_a_permanent_failure_quoting_nws(responses_mock):
    url = f"{BASE}/points/51.5074,-0.1278"
    responses_mock.get(url, status=404, json=nws_fixture("problem_invalid_point.json"),
                       content_type="application/problem+json")
    with pytest.raises(StepFailed) as caught:
        fetch(51.5074, -0.1278)
    assert caught.value.transient is False
    message = str(caught.value)
    assert "404" in message and "51.5074,-0.1278" in message
    assert "Data Unavailable For Requested Point" in message


def test_503_is_transient_and_says_so(responses_mock):
    responses_mock.get(POINT_URL, status=503, json=nws_fixture("problem_unavailable.json"),
                       content_type="application/problem+json")
    with pytest.raises(StepFailed) as caught:
        fetch()
    assert caught.value.transient is True
    assert "503" in str(caught.value) and "currently unavailable" in str(caught.value)


def test_503_is_retried_before_giving_up(responses_mock):
    responses_mock.get(POINT_URL, status=503, json=nws_fixture("problem_unavailable.json"))
    responses_mock.get(POINT_URL, status=503, json=nws_fixture("problem_unavailable.json"))
    responses_mock.get(POINT_URL, json=nws_fixture("points_austin.json"))
    responses_mock.get(FORECAST_URL, json=nws_fixture("forecast_austin.json"))
    assert fetch(retries=2)["period"] == "This Afternoon"
    assert [c.response.status_code for c in responses_mock.calls][:3] == [503, 503, 200]


def test_malformed_json_names_the_document(responses_mock):
    responses_mock.get(POINT_URL, body='{"type": "Feature", "properties": {"forecast": ',
                       content_type="application/geo+json")
    with pytest.raises(StepFailed, match=r"NWS point answer is malformed JSON") as caught:
        fetch()
    assert caught.value.transient is False


def test_redirect_to_truncated_coordinates_is_followed(responses_mock):
    short = f"{BASE}/points/30.267,-97.743"
    responses_mock.get(POINT_URL, status=301, headers={"Location": short})
    responses_mock.get(short, json=nws_fixture("points_austin.json"))
    responses_mock.get(FORECAST_URL, json=nws_fixture("forecast_austin.json"))
    result = fetch()
    assert result["redirected"] is True
    assert result["point_url"] == short


def test_timeout_is_transient(responses_mock):
    responses_mock.get(POINT_URL, body=requests.Timeout("read timed out"))
    with pytest.raises(StepFailed, match="timed out") as caught:
        fetch()
    assert caught.value.transient is True


@pytest.mark.parametrize(("points_props", "forecast_props", "message"), [
    ({"forecast": None}, None, "no forecast URL"),
    ({}, {"periods": []}, "no periods"),
    ({}, {"periods": [{"name": "Tonight"}]}, "no text"),
])
def test_answers_missing_pieces_are_named(responses_mock, points_props, forecast_props, message):
    points, forecast = nws_fixture("points_austin.json"), nws_fixture("forecast_austin.json")
    points["properties"].update(points_props)
    forecast["properties"].update(forecast_props or {})
    responses_mock.get(POINT_URL, json=points)
    responses_mock.get(FORECAST_URL, json=forecast)
    with pytest.raises(StepFailed, match=message):
        fetch()


def test_403_without_user_agent_is_reported_with_the_body(responses_mock):
    responses_mock.get(POINT_URL, status=403, body="<html><body>Access Denied</body></html>",
                       content_type="text/html")
    with pytest.raises(StepFailed, match=r"answered 403: <html><body>Access Denied"):
        fetch()
