"""Real Prometheus and Alertmanager (Debian's packages) on loopback, running the shipped rules and route with
shorter waits, in front of real exporters and the dashboard's receiver; Slack is the local fake."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import requests
import yaml
from flask import Flask
from werkzeug.serving import make_server

from dashboard import alerts
from stacktest.net import free_port

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "monitoring" / "prometheus" / "rules" / "alerts.yml"
ALERTMANAGER_CONFIG = REPO / "monitoring" / "alertmanager" / "alertmanager.yml"
DASHBOARD_HOOK = "http://dashboard:8090/hooks/alertmanager"  # the compose address in the shipped route


def rules_with(for_: str) -> dict:
    """The shipped rules, every `for:` set to this (expressions, labels and annotations untouched)."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule["for"] = for_
    return rules


def alertmanager_config_with(hook_url: str, group_wait: str) -> dict:
    """The shipped route, pointed at this receiver, with a shorter first wait."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    hooks = [hook for receiver in config["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert [hook["url"] for hook in hooks] == [DASHBOARD_HOOK]
    hooks[0]["url"] = hook_url
    config["route"]["group_wait"] = group_wait
    return config


class Process:
    """A program started in its own session, its output in a log file; stop() ends the whole group."""

    def __init__(self, argv: list[str], log: Path, ready_url: str | None = None, env: dict | None = None):
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                          env=env)
        if ready_url:
            self.wait_ready(ready_url)

    def wait_ready(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                break
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{url} never answered; log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


class Receiver:
    """The dashboard's Alertmanager receiver (the real blueprint) served on loopback in a thread."""

    def __init__(self):
        app = Flask("dashboard-alerts-under-test")
        app.register_blueprint(alerts.blueprint)
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/alertmanager"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def start_alertmanager(folder: Path, hook_url: str, group_wait: str = "1s") -> tuple[Process, str]:
    """Alertmanager with the shipped route under its compose route prefix; returns it and its base URL."""
    config = folder / "alertmanager.yml"
    config.write_text(yaml.safe_dump(alertmanager_config_with(hook_url, group_wait)))
    port = free_port()
    base = f"http://127.0.0.1:{port}/alertmanager"
    process = Process(["prometheus-alertmanager", f"--config.file={config}", f"--storage.path={folder / 'am'}",
                       f"--web.listen-address=127.0.0.1:{port}", "--web.route-prefix=/alertmanager/",
                       "--cluster.listen-address="], folder / "alertmanager.log", f"{base}/-/ready")
    return process, base


def start_prometheus(folder: Path, scrape_configs: list[dict], alertmanager: str, for_: str) -> tuple[Process, str]:
    """Prometheus scraping and evaluating every second, with the shipped rules at this `for:`."""
    rules = folder / "rules.yml"
    rules.write_text(yaml.safe_dump(rules_with(for_)))
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"path_prefix": "/alertmanager",
                                        "static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": scrape_configs,
    }))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = Process(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
                       f"--web.listen-address=127.0.0.1:{port}"], folder / "prometheus.log", f"{base}/-/ready")
    return process, base


def job(name: str, target: str, **extra) -> dict:
    return {"job_name": name, "static_configs": [{"targets": [target]}], **extra}
