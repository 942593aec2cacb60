"""Weather settings: defaults for Austin, and a sentence naming the variable for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from weather_checker.settings import SettingsError, from_env

from stacksettings import PROJECT_DIR


def test_defaults_are_austin_camera_533_and_compose_addresses():
    s = from_env({})
    assert (s.latitude, s.longitude) == (30.2672, -97.7431)
    assert s.nws_base_url == "https://api.weather.gov"
    assert s.camera_url == "https://cctv.austinmobility.io/image/533.jpg"
    assert s.timezone == "America/Chicago"
    assert s.diagnostics_dir == PROJECT_DIR / ".state" / "diagnostics"
    assert s.airflow_api_url == "http://airflow-apiserver:8080"
    assert s.webhook_url == "http://webhook:8000/"
    assert s.haproxy_stats_url == "http://haproxy:8084/;csv"
    assert s.secret_field == "development.demonstration secret"
    assert "(airflow-admin@localhost)" in s.user_agent


def test_native_values_are_read():
    s = from_env({
        "ENVIRONMENT": "production", "WEATHER_LATITUDE": "40.7128", "WEATHER_LONGITUDE": "-74.006",
        "NWS_BASE_URL": "http://127.0.0.1:9000/", "NWS_CONTACT": "ops@city.example", "CAMERA_ID": "105",
        "CAMERA_URL_PATTERN": "http://127.0.0.1:9000/image/{id}.jpg", "TEAM_TIMEZONE": "America/New_York",
        "STACK_STATE_DIR": "/srv/state", "AIRFLOW_API_HOST": "127.0.0.1", "AIRFLOW_API_PORT": "28080",
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": "26379",
        "WEBHOOK_HOST": "127.0.0.1", "WEBHOOK_PORT": "28000",
        "HAPROXY_STATS_URL": "http://127.0.0.1:18084/;csv", "FLOWER_USERNAME": "admin", "FLOWER_PASSWORD": "pw",
        "HAPROXY_STATS_PASSWORD": "reader-pw",
    })
    assert s.secret_field == "production.demonstration secret"
    assert s.nws_base_url == "http://127.0.0.1:9000"
    assert s.camera_url == "http://127.0.0.1:9000/image/105.jpg"
    assert s.diagnostics_dir == Path("/srv/state/diagnostics")
    assert s.airflow_api_url == "http://127.0.0.1:28080"
    assert (s.redis_host, s.redis_port) == ("127.0.0.1", 26379)
    assert s.webhook_url == "http://127.0.0.1:28000/"
    assert s.haproxy_stats_url == "http://127.0.0.1:18084/;csv"
    assert s.user_agent.endswith("(ops@city.example)")
    # the stats page's read-only login, never Flower's (tasks do not hold FLOWER_PASSWORD)
    assert (s.stats_username, s.stats_password) == ("stats", "reader-pw")


def test_the_stats_password_is_not_in_the_repr():
    assert "hunter2" not in repr(from_env({"HAPROXY_STATS_PASSWORD": "hunter2"}))


@pytest.mark.parametrize(("env", "message"), [
    ({"ENVIRONMENT": "staging"}, "ENVIRONMENT must be one of 'development' or 'production'"),
    ({"WEATHER_LATITUDE": "north"}, "WEATHER_LATITUDE must be a number"),
    ({"WEATHER_LONGITUDE": "-200"}, "WEATHER_LONGITUDE must be at least -180"),
    ({"NWS_BASE_URL": "api.weather.gov"}, "NWS_BASE_URL must be an http:// or https:// URL"),
    ({"CAMERA_ID": "533/../1"}, "CAMERA_ID must be letters, digits"),
    ({"CAMERA_URL_PATTERN": "https://cams.example/533.jpg"}, "CAMERA_URL_PATTERN must contain {id}"),
    ({"TEAM_TIMEZONE": "Mars/Olympus"}, "TEAM_TIMEZONE is not a known time zone"),
    ({"CAMERA_PLACEHOLDER_SHA256": "abc"}, "CAMERA_PLACEHOLDER_SHA256 must be comma-separated SHA-256"),
    ({"REDIS_PORT": "70000"}, "REDIS_PORT must be at most 65535"),
    ({"WEATHER_HISTORY_SIZE": "0"}, "WEATHER_HISTORY_SIZE must be at least 1"),
])
def test_bad_values_name_their_variable(env, message):
    with pytest.raises(SettingsError, match=message.replace("{", r"\{").replace("}", r"\}")):
        from_env(env)
