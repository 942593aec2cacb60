"""dagutils.metrics against a real UDP socket: what arrives is what statsd-exporter would read, and a missing
exporter or a bad setting never raises."""

from __future__ import annotations

import logging
import socket

import pytest
from dagutils import metrics


@pytest.fixture
def exporter(monkeypatch):
    """A UDP socket standing where the statsd-exporter listens, with Airflow's StatsD settings pointing at it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "True")
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "127.0.0.1")
        monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", str(sock.getsockname()[1]))
        monkeypatch.setattr(metrics, "_warned", set())
        yield sock


def received(sock: socket.socket) -> str:
    """The next business packet (Airflow's own StatsD, on in these tests, may send to the same port)."""
    while True:
        data = sock.recv(65535).decode()
        if data.startswith(metrics.PREFIX + "."):
            return data


def test_a_count_arrives_with_the_business_prefix(exporter):
    assert metrics.count("dirty_rows_dropped", 3) is True
    assert received(exporter) == "airflow_business.dirty_rows_dropped:3|c"


def test_a_gauge_arrives_and_a_negative_one_is_not_read_as_a_decrement(exporter):
    assert metrics.gauge("backlog", 12.5)
    assert received(exporter) == "airflow_business.backlog:12.5|g"
    assert metrics.gauge("balance", -4)
    assert received(exporter) == "airflow_business.balance:0|g\nairflow_business.balance:-4|g"


def test_the_tasks_ids_are_in_the_name_and_cannot_break_it(exporter, monkeypatch):
    monkeypatch.setattr(metrics, "_task_ids", lambda: ("weather-checker", "group.load:x|y"))
    metrics.count("rows_loaded", 1)
    assert received(exporter) == "airflow_business.rows_loaded.weather-checker.group_load_x_y:1|c"


def test_nothing_is_sent_when_airflows_statsd_is_off(exporter, monkeypatch):
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_ON", "False")
    assert metrics.count("rows_loaded", 5) is False
    exporter.settimeout(0.2)
    with pytest.raises(TimeoutError):
        received(exporter)


def test_an_absent_exporter_warns_once_and_never_raises(exporter, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_HOST", "statsd-exporter.invalid")
    with caplog.at_level(logging.WARNING, logger="dagutils.metrics"):
        assert metrics.count("rows_loaded", 5) is False
        assert metrics.count("rows_loaded", 6) is False
    [warning] = caplog.messages
    assert "statsd-exporter.invalid" in warning and "not sent" in warning


def test_a_bad_port_setting_warns_naming_the_variable_and_never_raises(exporter, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW__METRICS__STATSD_PORT", "ninety")
    with caplog.at_level(logging.WARNING, logger="dagutils.metrics"):
        assert metrics.count("rows_loaded") is False
    assert "AIRFLOW__METRICS__STATSD_PORT must be a port number, got 'ninety'" in caplog.text


@pytest.mark.parametrize("name", ["Rows", "rows-loaded", "", "9rows", "rows.loaded"])
def test_a_bad_metric_name_is_refused_with_a_sentence(name):
    with pytest.raises(ValueError, match="must be lower-case letters, digits and '_'"):
        metrics.count(name)
