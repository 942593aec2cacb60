"""The `monitoring` profile natively: the switch, and Prometheus' and collectd's files written from the compose
file's `configs:` with this machine's addresses (stackctl/monitoring.py)."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stackctl import monitoring, services, supervisor
from stackctl.settings import GENERATED_SECRETS, PROJECT_DIR, load

# the jobs and the settings holding each one's port here
JOBS = {"prometheus": "PROMETHEUS_PORT", "webhook": "WEBHOOK_PORT", "haproxy": "HAPROXY_METRICS_PORT",
        "flower": "FLOWER_PORT", "statsd": "STATSD_EXPORTER_PORT"}
# with TLS_CERT_PATH: HAProxy's TLS listener (natively haproxy.cfg's 8443), probed through blackbox-exporter
TLS_JOB = {"tls": "PUBLIC_HTTPS_PORT"}
CERTIFICATE = {"TLS_CERT_PATH": "haproxy/certs/site.pem"}


def settings_for(tmp_path: Path, **extra: str):
    return load({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": "", "STACK_VENV": sys.prefix,
                 "STACK_PORT_OFFSET": "7", **{name: f"{name.lower()}-value-0123456789" for name in GENERATED_SECRETS},
                 **extra})


@pytest.mark.parametrize(("profiles", "on"), [("monitoring", True), ("dev, monitoring", True), ("dev", False),
                                              ("", False), ("monitoring-extra", False)])
def test_the_switch_is_compose_profiles(tmp_path, profiles, on):
    settings = settings_for(tmp_path, COMPOSE_PROFILES=profiles)
    assert monitoring.enabled(settings) is on
    stack = services.load(settings)
    assert ("prometheus" in stack.programs) is on
    assert bool(monitoring.packages(settings.values)) is on


def test_prometheus_scrapes_each_program_where_it_listens_here(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring")
    monitoring.write_configs(settings)
    path = monitoring.config_path(settings, "/etc/prometheus/prometheus.yml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds Flower's password
    config = yaml.safe_load(path.read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {job: [f"127.0.0.1:{settings.ports[port]}"] for job, port in JOBS.items()}
    assert config["rule_files"] == [str(PROJECT_DIR / "monitoring" / "prometheus" / "rules" / "*.yml")]
    flower = next(job for job in config["scrape_configs"] if job["job_name"] == "flower")
    assert flower["basic_auth"]["password"] == settings["FLOWER_PASSWORD"]
    assert "$$" not in path.read_text() and "${1}" in path.read_text()  # compose's escaped `$`, unescaped
    # the state folder's file system is the one it lives on here (collectd's df plugin reads only that one)
    statsd = next(job for job in config["scrape_configs"] if job["job_name"] == "statsd")
    assert {"source_labels": ["__name__"], "regex": "collectd_df_.*", "target_label": "mountpoint",
            "replacement": str(monitoring.mount_point(tmp_path))} in statsd["metric_relabel_configs"]
    # the program reads it there, and keeps its data in the state folder
    argv = services.load(settings).programs["prometheus"].argv
    assert argv[argv.index("--config.file") + 1] == str(path)
    assert argv[argv.index("--storage.tsdb.path") + 1] == str(tmp_path / "prometheus")


@pytest.mark.parametrize("certificate", [{}, CERTIFICATE], ids=["no-certificate", "certificate"])
def test_prometheus_accepts_the_native_file(tmp_path, certificate):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring", **certificate)
    monitoring.write_configs(settings)
    path = monitoring.config_path(settings, "/etc/prometheus/prometheus.yml")
    # promtool: Debian's prometheus package (stackctl/system.py TEST_PACKAGES installs it for the tests)
    check = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_collectd_listens_for_statsd_on_loopback(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring")
    monitoring.write_configs(settings)
    text = monitoring.config_path(settings, "/etc/collectd/collectd.conf").read_text()
    statsd = re.search(r"<Plugin statsd>(.*?)</Plugin>", text, re.S).group(1)
    prom = re.search(r"<Plugin write_prometheus>(.*?)</Plugin>", text, re.S).group(1)
    assert 'Host "127.0.0.1"' in statsd and f'Port "{settings.ports["STATSD_PORT"]}"' in statsd
    assert 'Host "127.0.0.1"' in prom and f'Port "{settings.ports["STATSD_EXPORTER_PORT"]}"' in prom
    scheduler = services.load(settings).programs["airflow-scheduler"].env
    assert (scheduler["AIRFLOW__METRICS__STATSD_HOST"], scheduler["AIRFLOW__METRICS__STATSD_PORT"]) == \
        ("127.0.0.1", str(settings.ports["STATSD_PORT"]))


def test_collectd_reads_postgres_redis_and_the_state_folders_disk_where_they_are_here(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring", POSTGRES_HOST="127.0.0.5")
    monitoring.write_configs(settings)
    path = monitoring.config_path(settings, "/etc/collectd/collectd.conf")
    text = path.read_text()
    database = re.search(r"<Database [^>]*>(.*?)</Database>", text, re.S).group(1)
    assert 'Host "127.0.0.5"' in database and f'Port "{settings.ports["POSTGRES_PORT"]}"' in database
    assert f'Password "{settings["POSTGRES_PASSWORD"]}"' in database
    node = re.search(r"<Node [^>]*>(.*?)</Node>", text, re.S).group(1)
    assert 'Host "127.0.0.1"' in node and f'Port "{settings.ports["REDIS_PORT"]}"' in node
    assert f'Password "{settings["REDIS_PASSWORD"]}"' in node
    assert f'MountPoint "{monitoring.mount_point(tmp_path)}"' in text
    # collectd loads every plugin of the file (its libraries are installed: MONITORING_PACKAGES). -T reads each
    # once and exits; nothing listens at these addresses here, so the postgresql and redis reads fail, but loading
    # a plugin without its library fails before that, at "Parsing the config file failed"
    check = subprocess.run(["collectd", "-T", "-C", str(path)], capture_output=True, text=True, timeout=60)
    assert "Parsing the config file failed" not in check.stdout + check.stderr, check.stdout + check.stderr


def discovered(config_file: Path, job: str) -> list[dict]:
    """The targets Prometheus scrapes for `job`, after relabelling, as promtool works them out from the file."""
    check = subprocess.run(["promtool", "check", "service-discovery", "--timeout=5s", str(config_file), job],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    return [target["labels"] for target in json.loads(check.stdout) if target["labels"]]  # {}: dropped


def test_without_a_certificate_nothing_watches_it(tmp_path):
    """TLS_CERT_PATH unset (HAProxy has no TLS listener): no blackbox-exporter, no `tls` job; the alert's metric
    is simply absent."""
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring")
    stack = services.load(settings)
    assert "blackbox-exporter" not in stack.programs
    assert "TLS_CERT_PATH is not set" in stack.without["blackbox-exporter"]
    monitoring.write_configs(settings)
    path = monitoring.config_path(settings, "/etc/prometheus/prometheus.yml")
    assert {job["job_name"] for job in yaml.safe_load(path.read_text())["scrape_configs"]} == set(JOBS)
    assert f":{settings.ports['BLACKBOX_EXPORTER_PORT']}" not in path.read_text()  # the exporter is asked nothing
    assert "blackbox-exporter" not in supervisor.render(settings)


def test_with_a_certificate_blackbox_exporter_probes_haproxys_tls_port(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring", PUBLIC_HTTPS_PORT="18443", **CERTIFICATE)
    assert "blackbox-exporter" in services.load(settings).programs
    assert "[program:blackbox-exporter]" in supervisor.render(settings)
    monitoring.write_configs(settings)
    path = monitoring.config_path(settings, "/etc/prometheus/prometheus.yml")
    assert {job["job_name"] for job in yaml.safe_load(path.read_text())["scrape_configs"]} == {*JOBS, *TLS_JOB}
    [target] = discovered(path, "tls")
    assert (target["__address__"], target["__param_target"], target["__param_module"]) == (
        f"127.0.0.1:{settings.ports['BLACKBOX_EXPORTER_PORT']}", "127.0.0.1:18443", "tls")


def test_without_the_profile_a_certificate_starts_no_blackbox_exporter(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="dev", **CERTIFICATE)
    assert "blackbox-exporter" not in services.load(settings).programs


# program -> the settings of the ports it listens on here (compose: fixed container ports, services.PORTS)
LISTENS = {"prometheus": "PROMETHEUS_PORT", "alertmanager": "ALERTMANAGER_PORT",
           "blackbox-exporter": "BLACKBOX_EXPORTER_PORT"}


@pytest.mark.parametrize(("name", "port"), LISTENS.items())
def test_each_program_listens_and_is_checked_on_its_native_port(tmp_path, name, port):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring", **CERTIFICATE)
    program = services.load(settings).programs[name]
    here = f"127.0.0.1:{settings.ports[port]}"
    assert here in program.argv, program.argv
    assert not [arg for arg in program.argv if arg.startswith("0.0.0.0")]
    assert f"http://{here}/" in program.healthcheck[-1]


def test_the_dashboard_reads_prometheus_where_it_listens_here(tmp_path):
    settings = settings_for(tmp_path, COMPOSE_PROFILES="monitoring")
    dashboard = services.load(settings).programs["dashboard"]
    assert dashboard.env["PROMETHEUS_URL"] == f"http://127.0.0.1:{settings.ports['PROMETHEUS_PORT']}/prometheus"
    assert dashboard.env["DASHBOARD_PORT"] == str(settings.ports["DASHBOARD_PORT"])
