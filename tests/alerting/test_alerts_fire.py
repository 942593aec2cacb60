"""Each shipped alert fires once, as one Slack message, when its condition is produced; a healthy stack is silent.

Real Prometheus, Alertmanager, redis-server, collectd (its redis and df plugins, configured as the stack's
collectd-conf: the queue's LLEN, the state folder's file system), blackbox-exporter and HAProxy (the repository's
haproxy.cfg with TLS_CERT_PATH) run on loopback; the rules are the shipped ones with `for:` cut to 10 s
(tests/alerting/rig.py), the certificate's scrape job the shipped one as it is with TLS_CERT_PATH set. Airflow's
StatsD series (heartbeats, the canary's successful runs) come from a stand-in target serving them under the names
the stack's Prometheus gives them (the statsd job of its configuration): running Airflow is the integration tests'
job, the names are checked there (tests/monitoring).
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest
import redis
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import CollectorRegistry, Counter, start_http_server

from stacktest.airflow_home import slack_connection
from stacktest.net import free_port, free_ports
from tests.alerting.rig import Process, Receiver, job, start_alertmanager, start_prometheus
from tests.haproxy.proxy import start_stack

FOR = "10s"
EXPECTED = {"CanaryNotSucceeding", "SchedulerHeartbeatMissing", "DagProcessorHeartbeatMissing", "QueueGrowing",
            "CertificateExpiringSoon", "StateDiskAlmostFull"}


def write_cert(path, days: float):
    """A self-signed certificate valid for `days` more days, with its key, in one PEM file (HAProxy's form)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airflow.example.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path


class AirflowSeries:
    """Heartbeat counters and the canary's successful-run count, as statsd-exporter serves Airflow's StatsD."""

    def __init__(self):
        registry = CollectorRegistry()
        # Counters as collectd's write_prometheus serves them (statsd-exporter), renamed as Prometheus does
        self.beats = [Counter(name, "heartbeats", registry=registry)
                      for name in ("airflow_scheduler_heartbeat", "airflow_dag_processor_heartbeat")]
        self.finished = Counter("airflow_ti_finish_by_task", "finished tasks", ["dag_id", "task_id", "state"],
                                registry=registry)
        self.alive = threading.Event()
        self.alive.set()
        self.server, _ = start_http_server(0, "127.0.0.1", registry)
        self.target = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self._tick, daemon=True)
        self.thread.start()

    def _tick(self):
        ticks = 0
        while self.alive.is_set():
            for beat in self.beats:
                beat.inc()
            if ticks % 4 == 0:  # a canary run every 2 s, each of its tasks succeeding
                for task in ("check_source", "check_stack", "late_demo"):
                    self.finished.labels("canary", task, "success").inc()
            ticks += 1
            time.sleep(0.5)

    def stop(self):
        self.alive.clear()
        self.thread.join(5)
        self.server.shutdown()
        self.server.server_close()


def collectd_conf(folder, redis_port: int, port: int) -> str:
    """The stack's collectd-conf (compose.services.yaml) for this rig: its redis and df plugin blocks as shipped,
    pointed at this Redis and this state folder, read every second."""
    from stackctl.compose import config  # the compose file as Compose resolves it (lenient: no secrets needed)

    shipped = config({}, lenient=True)["configs"]["collectd-conf"]["content"]
    blocks = {name: re.search(rf"<Plugin {name}>.*?\n</Plugin>", shipped, re.S).group(0) for name in ("redis", "df")}
    redis_block = re.sub(r'Port "6379"', f'Port "{redis_port}"', blocks["redis"].replace('Host "redis"',
                                                                                          'Host "127.0.0.1"'))
    redis_block = re.sub(r'\n\s*Password "[^"]*"', "", redis_block)  # this Redis has none
    df_block = blocks["df"].replace('"/opt/airflow/state"', f'"{folder / "state"}"')
    return "\n".join(['Hostname "statsd-exporter"', "FQDNLookup false", "Interval 1",
                      'PluginDir "/usr/lib/collectd"', 'TypesDB "/usr/share/collectd/types.db"',
                      "LoadPlugin redis", "LoadPlugin df", "LoadPlugin write_prometheus", redis_block, df_block,
                      f'<Plugin write_prometheus>\n  Host "127.0.0.1"\n  Port "{port}"\n</Plugin>', ""])


def tls_job(pem, https: str, exporter: str) -> dict:
    """The stack's tls job (compose.services.yaml prometheus-yml) as Compose resolves it with TLS_CERT_PATH set,
    pointed at this HAProxy's TLS port and this blackbox-exporter: without a certificate it keeps no target."""
    from stackctl.compose import config

    shipped = config({"TLS_CERT_PATH": str(pem)}, lenient=True)["configs"]["prometheus-yml"]["content"]
    tls = next(job for job in yaml.safe_load(shipped.replace("$$", "$"))["scrape_configs"] if job["job_name"] == "tls")
    return yaml.safe_load(yaml.safe_dump(tls).replace("haproxy:8443", https).replace("blackbox-exporter:9115",
                                                                                       exporter))


@pytest.fixture
def folder(tmp_path):
    """A small tmpfs standing for the state folder's disk."""
    if os.geteuid() != 0:
        pytest.skip("mounting the small filesystem needs root (CI runs as root)")
    state = tmp_path / "state"
    state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(state)], check=True)
    yield tmp_path
    subprocess.run(["umount", "-l", str(state)], check=False)


@pytest.fixture
def running(folder, fake_slack, monkeypatch):
    """Everything up and healthy; yields what the test needs to break it."""
    monkeypatch.setenv("AIRFLOW_CONN_SLACK", slack_connection(fake_slack.url))
    started = []
    try:
        receiver = Receiver()
        started.append(receiver)
        airflow = AirflowSeries()
        started.append(airflow)
        redis_port, collectd, blackbox = free_port(), free_port(), free_port()
        started.append(Process(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(folder)], folder / "redis.log"))
        queue = redis.Redis(port=redis_port)
        wait_for(lambda: _pings(queue), 30, "redis-server")
        # waiting work that does not grow: no alert (there before collectd's first read: an empty queue going to
        # three would be growth)
        queue.lpush("default", "task-1", "task-2", "task-3")
        (folder / "collectd.conf").write_text(collectd_conf(folder, redis_port, collectd))
        started.append(Process(["collectd", "-f", "-C", str(folder / "collectd.conf")], folder / "collectd.log",
                               f"http://127.0.0.1:{collectd}/metrics"))
        (folder / "blackbox.yml").write_text(yaml.safe_dump({"modules": {"tls": {
            "prober": "tcp", "timeout": "5s", "tcp": {"tls": True, "tls_config": {"insecure_skip_verify": True}}}}}))
        started.append(Process(["prometheus-blackbox-exporter", f"--config.file={folder / 'blackbox.yml'}",
                                f"--web.listen-address=127.0.0.1:{blackbox}"], folder / "blackbox.log",
                               f"http://127.0.0.1:{blackbox}/metrics"))
        pem = write_cert(folder / "site.pem", days=90)
        monitoring_port, metrics_port = free_ports(2)  # haproxy.cfg's monitoring listeners, off the defaults
        haproxy = start_stack(folder / "haproxy", {"TLS_CERT_PATH": str(pem), "HAPROXY_METRICS_BIND": "127.0.0.1",
                                                   "HAPROXY_METRICS_PORT": str(metrics_port),
                                                   "PUBLIC_MONITORING_PORT": str(monitoring_port)},
                              wait_healthy=False)  # only its TLS listener matters here
        started.append(haproxy)
        alertmanager, am_base = start_alertmanager(folder, receiver.url)
        started.append(alertmanager)
        prometheus, base = start_prometheus(folder, [
            job("airflow", airflow.target),
            job("statsd", f"127.0.0.1:{collectd}", metric_relabel_configs=[  # the shipped statsd job's df labels
                {"source_labels": ["__name__"], "regex": "collectd_df_.*", "target_label": "state_folder",
                 "replacement": "yes"},
                {"source_labels": ["__name__"], "regex": "collectd_df_.*", "target_label": "mountpoint",
                 "replacement": str(folder / "state")}]),
            tls_job(pem, f"127.0.0.1:{haproxy.ports['https']}", f"127.0.0.1:{blackbox}"),
        ], am_base.removeprefix("http://").removesuffix("/alertmanager"), FOR)
        started.append(prometheus)
        yield {"prometheus": base, "alertmanager": am_base, "airflow": airflow, "queue": queue, "pem": pem,
               "haproxy": haproxy, "state": folder / "state", "slack": fake_slack}
    finally:
        for part in reversed(started):
            part.stop()


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def query(base: str, expr: str) -> list[dict]:
    return requests.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()["data"]["result"]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def alert_names(messages: list[dict]) -> list[str]:
    return sorted(m["text"].split("*Alert: ", 1)[1].split("*", 1)[0] for m in messages)


def test_each_alert_fires_once_when_its_condition_is_produced_and_a_healthy_stack_is_silent(running):
    prometheus, slack = running["prometheus"], running["slack"]
    # healthy: every source is scraped and every series a rule reads exists...
    series = ['airflow_scheduler_heartbeat_total', 'airflow_dag_processor_heartbeat_total',
              'airflow_ti_finish_by_task_total{dag_id="canary",state="success"}',
              'collectd_redis_queue_length{type="default"}', 'probe_ssl_earliest_cert_expiry',
              'collectd_df_df_complex{state_folder="yes",type="free"}']
    wait_for(lambda: all(query(prometheus, s) for s in series), 60, "every series the rules read")
    # ...and for longer than the rules' `for:` nothing is pending, firing or posted
    time.sleep(25)
    assert query(prometheus, "ALERTS") == []
    assert slack.snapshot() == []

    # break each thing for real
    running["airflow"].alive.clear()  # heartbeats stop, the canary stops succeeding
    stop_growing = threading.Event()
    threading.Thread(target=lambda: [running["queue"].lpush("default", "more") or time.sleep(1)
                                     for _ in iter(stop_growing.is_set, True)], daemon=True).start()
    write_cert(running["pem"], days=5)
    os.kill(running["haproxy"].process.pid, signal.SIGUSR2)  # HAProxy's master reloads, reading the new cert
    with (running["state"] / "fill").open("wb") as fill:
        fill.write(b"\0" * (7 * 1024 * 1024))  # 7 of 8 MiB: 87.5 %
    try:
        # the heartbeat and canary windows are a minute long: a heartbeat older than that counts
        messages = wait_for(lambda: len(slack.snapshot()) >= len(EXPECTED) and slack.snapshot(), 180,
                            "one Slack message per alert")
        time.sleep(10)  # nothing more comes: no repeat, no resolved message
    finally:
        stop_growing.set()
    messages = slack.snapshot()
    assert alert_names(messages) == sorted(EXPECTED)
    texts = {name: m["text"] for name, m in zip(alert_names(messages), sorted(
        messages, key=lambda m: m["text"].split("*Alert: ", 1)[1]), strict=True)}
    assert texts["SchedulerHeartbeatMissing"].startswith("<!channel> :red_circle:")
    assert "expires in 4d 23h" in texts["CertificateExpiringSoon"]
    assert "Queue default holds" in texts["QueueGrowing"]
    assert str(running["state"]) in texts["StateDiskAlmostFull"]


def test_the_shipped_files_pass_the_tools_own_checks():
    from tests.alerting.rig import ALERTMANAGER_CONFIG, RULES

    for tool in ("promtool", "amtool"):
        assert shutil.which(tool), f"{tool} is not installed (stackctl/system.py TEST_PACKAGES)"
    rules = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert rules.returncode == 0 and "SUCCESS: 6 rules found" in rules.stdout, rules.stdout + rules.stderr
    config = subprocess.run(["amtool", "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True, text=True)
    assert config.returncode == 0 and "SUCCESS" in config.stdout, config.stdout + config.stderr
