"""A real Prometheus (Debian's package) over a backfilled week of fixture metrics (history.py), the real deploy
webhook's status page over a state folder with three deploys, and the dashboard app reading both."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from dashboard import create_app
from dashboard.settings import Settings
from stacktest.net import free_port
from tests.dashboard import fake_airflow, history

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


class Prometheus:
    """prometheus on loopback under the stack's route prefix, scraping nothing, over the data in `folder`."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/prometheus"
        (folder / "prometheus.yml").write_text("global:\n  scrape_interval: 1m\n")
        self.log = open(folder / "prometheus.log", "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.route-prefix=/prometheus",
             f"--web.external-url=http://127.0.0.1:{self.port}/prometheus", "--storage.tsdb.retention.time=30d"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert self.process.poll() is None, (folder / "prometheus.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "prometheus did not become ready in 60 s"
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


@pytest.fixture(scope="session")
def now() -> float:
    return float(int(time.time()) // 60 * 60)


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory, now):
    folder = tmp_path_factory.mktemp("prometheus")
    (folder / "fixture.om").write_text(history.openmetrics(now))
    # one block for the whole week (promtool's default, 2 h blocks, takes ten times longer to write)
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=192h", "--quiet",
                    str(folder / "fixture.om"), str(folder / "data")], check=True, capture_output=True)
    server = Prometheus(folder)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def empty_prometheus(tmp_path_factory):
    server = Prometheus(tmp_path_factory.mktemp("empty-prometheus"))
    yield server
    server.stop()


class Served:
    """A WSGI app on a loopback port in a thread."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


DEPLOYS = [
    {"id": "d1", "kind": "deploy", "commit": "a" * 40, "author": "ana", "state": "succeeded", "result": "succeeded"},
    {"id": "d2", "kind": "deploy", "commit": "b" * 40, "author": "ben", "state": "failed", "result": "failed"},
    {"id": "d3", "kind": "rollback", "commit": "a" * 40, "author": "ana", "state": "succeeded",
     "result": "succeeded"},
]


@pytest.fixture(scope="session")
def webhook(tmp_path_factory, now):
    """The real webhook app over a state folder holding DEPLOYS (deploys not configured: no runner)."""
    from webhook import create_app as webhook_app
    from webhook.deploy.history import History

    app = webhook_app({"state_dir": tmp_path_factory.mktemp("webhook-state"), "start_runner": False})
    history = History(app.extensions["state"])
    for n, record in enumerate(DEPLOYS):
        history.append({**record, "requested_at": now - 3600 * (3 - n), "finished_at": now - 3600 * (3 - n) + 20})
    served = Served(app)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def airflow(now):
    with fake_airflow.FakeAirflow(now) as server:
        yield server


def settings(prometheus_url: str, webhook_url: str, airflow_url: str, **overrides) -> Settings:
    return Settings.from_env({"PROMETHEUS_URL": prometheus_url, "WEBHOOK_URL": webhook_url,
                              "AIRFLOW_API_URL": airflow_url, "DASHBOARD_AIRFLOW_USERNAME": fake_airflow.USERNAME,
                              "DASHBOARD_AIRFLOW_PASSWORD": fake_airflow.PASSWORD, "TEAM_TIMEZONE": "America/Chicago",
                              "DASHBOARD_SOURCE_TIMEOUT": "5",
                              "WORKER_CONCURRENCY": "4"}, **overrides)


@pytest.fixture
def make_client(now, prometheus, webhook, airflow):
    """A test client of the dashboard reading these sources (the fixture's unless said), drawing its page at the
    fixture's `now`."""
    def build(**urls):
        config = settings(**{"prometheus_url": prometheus.url, "webhook_url": webhook.url,
                             "airflow_url": airflow.url, **urls})
        return create_app(config, clock=lambda: now).test_client()
    return build


@pytest.fixture
def client(make_client):
    return make_client()
