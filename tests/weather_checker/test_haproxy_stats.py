"""HAProxy stats CSV (captured from the real haproxy/haproxy.cfg) judged backend by backend."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from weather_checker import haproxy_stats

from tests.weather_checker.samples import HAPROXY_FIXTURES


def rows(name: str) -> list[dict]:
    return haproxy_stats.parse((HAPROXY_FIXTURES / name).read_text())


def test_all_up_passes_and_lists_the_serving_backends():
    result = haproxy_stats.judge(rows("stats_all_up.csv"))
    assert result["status"] == "pass"
    assert result["detail"] == "4 backends up: airflow_api, webhook, flower, diagnostics"


def test_all_down_fails_naming_backends_and_check_results():
    result = haproxy_stats.judge(rows("stats_all_down.csv"))
    assert result["status"] == "fail"
    assert result["detail"].startswith("backends down: airflow_api, webhook, flower, diagnostics")
    assert "diagnostics/diagnostics DOWN L4CON" in result["detail"]


def test_one_backend_down_is_named_alone():
    data = rows("stats_all_up.csv")
    for row in data:
        if row["pxname"] == "flower":
            row["status"] = "DOWN"
    result = haproxy_stats.judge(data)
    assert result["status"] == "fail"
    assert result["detail"].startswith("backends down: flower (servers: flower/flower DOWN")


def test_a_down_server_behind_a_live_backend_is_a_warning():
    data = rows("stats_all_up.csv")
    extra = dict(next(r for r in data if r["pxname"] == "airflow_api" and r["svname"] == "api"))
    extra.update(svname="api2", status="DOWN", check_status="L4TOUT")
    data.append(extra)
    result = haproxy_stats.judge(data)
    assert result["status"] == "warn"
    assert "airflow_api/api2 DOWN L4TOUT" in result["detail"]


def test_html_is_not_mistaken_for_stats():
    with pytest.raises(ValueError, match="not an HAProxy stats CSV"):
        haproxy_stats.parse("<html><body>Statistics Report</body></html>")


def test_no_serving_backend_fails():
    assert haproxy_stats.judge(rows("stats_all_up.csv")[:1])["status"] == "fail"


def with_monitoring_down() -> list[dict]:
    data = rows("stats_all_up.csv")
    template = next(r for r in data if r["pxname"] == "flower" and r["svname"] == "flower")
    for name in ("prometheus", "dashboard"):
        data.append(dict(template, pxname=name, svname=name, status="DOWN", check_status="L4CON"))
        data.append(dict(template, pxname=name, svname="BACKEND", status="DOWN"))
    return data


def test_the_monitoring_backends_count_only_when_their_profile_runs():
    without = haproxy_stats.judge(with_monitoring_down(), ("dev",))
    assert without["status"] == "pass"
    assert without["detail"] == "4 backends up: airflow_api, webhook, flower, diagnostics"
    with_profile = haproxy_stats.judge(with_monitoring_down(), ("dev", "monitoring"))
    assert with_profile["status"] == "fail"
    assert with_profile["detail"].startswith("backends down: prometheus, dashboard")


def test_profile_backends_are_the_ones_haproxy_cfg_serves_only_with_their_profile():
    config = (Path(__file__).parents[2] / "haproxy" / "haproxy.cfg").read_text()
    for profile, names in haproxy_stats.PROFILE_BACKENDS.items():
        in_config = set(re.findall(rf"^backend (\S+)\n(?:    .*\n)*?    http-request return status 503 .*"
                                   rf"add {profile} to COMPOSE_PROFILES", config, re.MULTILINE))
        assert in_config == set(names)
