"""Fixtures for the weather-checker tests: settings in a temp folder and `responses` with NWS fixtures."""

from __future__ import annotations

from dataclasses import replace

import pytest
from weather_checker.settings import WeatherSettings, from_env

from tests.weather_checker.samples import FORECAST_URL, POINT_URL, nws_fixture


@pytest.fixture
def settings(tmp_path) -> WeatherSettings:
    """Default settings (Austin, camera 533) writing into a fresh temporary diagnostics folder."""
    return replace(from_env({}), diagnostics_dir=tmp_path / "diagnostics", check_timeout=1.0,
                   timeout=2.0)


@pytest.fixture
def nws_ok(responses_mock):
    """NWS answering the real-shaped point and forecast fixtures."""
    geo = "application/geo+json"
    responses_mock.get(POINT_URL, json=nws_fixture("points_austin.json"), content_type=geo)
    responses_mock.get(FORECAST_URL, json=nws_fixture("forecast_austin.json"), content_type=geo)
    return responses_mock


@pytest.fixture
def responses_mock():
    """`responses` intercepting every requests call; unmatched URLs raise ConnectionError."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
