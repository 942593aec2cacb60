"""The app's small parts: settings, health, the Alertmanager receiver's route, chart scales."""

from __future__ import annotations

import pytest

from dashboard import charts, create_app
from dashboard.settings import Settings
from stacksettings import SettingsError

GOOD = {"PROMETHEUS_URL": "http://prometheus:9090/prometheus", "WEBHOOK_URL": "http://webhook:8000",
        "AIRFLOW_API_URL": "http://airflow-apiserver:8080", "DASHBOARD_AIRFLOW_USERNAME": "dashboard",
        "DASHBOARD_AIRFLOW_PASSWORD": "s3cret-viewer", "TEAM_TIMEZONE": "America/Chicago",
        "WORKER_CONCURRENCY": "4"}


@pytest.mark.parametrize(("change", "message"), [
    ({"PROMETHEUS_URL": None}, "PROMETHEUS_URL is not set"),
    ({"WEBHOOK_URL": "webhook:8000"}, "WEBHOOK_URL must be an http:// or https:// URL, got 'webhook:8000'"),
    ({"TEAM_TIMEZONE": "Mars/Olympus"}, "TEAM_TIMEZONE must be a time zone name such as America/Chicago, "
                                        "got 'Mars/Olympus'"),
    ({"DASHBOARD_PORT": "x"}, "DASHBOARD_PORT must be a whole number, got 'x'"),
    ({"DASHBOARD_AIRFLOW_PASSWORD": None}, "DASHBOARD_AIRFLOW_PASSWORD is not set"),
    ({"DASHBOARD_SOURCE_TIMEOUT": "0"}, "DASHBOARD_SOURCE_TIMEOUT must be more than 0"),
])
def test_bad_settings_name_the_variable(change, message):
    env = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_defaults_and_the_password_never_shown():
    config = Settings.from_env(GOOD)
    assert (config.host, config.port, config.timeout) == ("127.0.0.1", 8090, 5.0)
    assert "s3cret-viewer" not in repr(config)


def test_health_answers_without_asking_any_source():
    client = create_app(Settings.from_env({**GOOD, "PROMETHEUS_URL": "http://127.0.0.1:1/prometheus"})).test_client()
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_alertmanager_receiver_is_served_by_the_same_app():
    client = create_app(Settings.from_env(GOOD)).test_client()
    response = client.post("/hooks/alertmanager", json={"version": "3"})
    assert response.status_code == 400  # the receiver's own validation, not a 404: the route is there


@pytest.mark.parametrize(("value", "top"), [(0, 1), (3, 4), (7, 8), (12, 20), (328, 400), (0.3, 0.4)])
def test_axis_tops_are_round_numbers_at_or_above_the_largest_value(value, top):
    assert charts.nice_top(value) == pytest.approx(top)
