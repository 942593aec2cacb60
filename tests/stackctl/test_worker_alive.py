"""A Celery worker's health (stackctl/worker_alive.py), run the way compose's healthcheck runs it, against a real
redis-server and a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.weather_checker.fakes import redis_server

REPO = Path(__file__).resolve().parents[2]


def alive(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-X", "importtime", "-m", "stackctl.worker_alive", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def broker():
    with redis_server() as port:
        yield f"redis://127.0.0.1:{port}/0"


@pytest.fixture(scope="module")
def worker(broker, tmp_path_factory):
    """A worker named as Airflow's `celery worker` names it: celery@<this host>."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, "CELERY_BROKER_URL": broker}
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "celery", "worker", "--pool", "solo", "--without-gossip",
                                 "--without-mingle", "--loglevel", "INFO", "-n", "celery@%h"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_without_the_broker_setting_it_names_the_variable():
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW__CELERY__BROKER_URL"}
    result = alive(env, "--local")
    assert result.returncode == 2
    assert "AIRFLOW__CELERY__BROKER_URL is not set" in result.stderr


def test_no_worker_is_unhealthy(broker):
    result = alive({**os.environ, "AIRFLOW__CELERY__BROKER_URL": broker.replace("/0", "/5")}, "--local")
    assert result.returncode == 1
    assert "no worker answered" in result.stdout


def test_the_local_worker_answers_without_an_airflow_import(broker, worker):
    result = alive({**os.environ, "AIRFLOW__CELERY__BROKER_URL": broker}, "--local")
    assert result.returncode == 0, result.stdout + result.stderr[-500:]
    assert result.stdout.startswith("celery@")
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert "celery" in imported
    assert not [name for name in imported if name.split(".")[0] == "airflow"]


def test_a_broker_that_does_not_answer_is_unhealthy_and_hides_its_password():
    result = alive({**os.environ, "AIRFLOW__CELERY__BROKER_URL": "redis://:s3cret-pass@127.0.0.1:1/0"})
    assert result.returncode == 1
    assert "s3cret-pass" not in result.stdout + result.stderr
