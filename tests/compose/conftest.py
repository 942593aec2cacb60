"""The compose layer's fixtures: a Docker engine, the stand-in images, and one compose stack for the module.

Without a usable engine the layer is skipped with one line saying why; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from stacktest.compose import ComposeStack, make_origin, test_env
from tests.compose.engine import Engine, EngineUnavailable

MONITORED = "dev,monitoring"  # COMPOSE_PROFILES of the layer's stack


def unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"the compose layer must run in CI, but: {reason}", pytrace=False)
    pytest.skip(f"compose layer skipped: {reason}")


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """A running Docker engine (installed and started when missing) with every stand-in image built."""
    from tests.compose.images.build import StandinError, ensure_images

    engine = Engine(tmp_path_factory.mktemp("dockerd") / "dockerd.log")
    try:
        docker = engine.__enter__()
    except EngineUnavailable as exc:
        unavailable(str(exc))
    try:
        ensure_images(docker)
    except StandinError as exc:
        engine.__exit__()
        pytest.fail(f"a stand-in image did not build:\n{exc}", pytrace=False)
    yield docker
    engine.__exit__()


@pytest.fixture(scope="session")
def compose_stack(docker_engine):
    """The production form, as a user starts it: `docker compose up -d --wait` with the dev and monitoring
    profiles (one stack for the layer: the monitoring tests share it, test_compose_monitoring.py)."""
    workdir = Path(tempfile.mkdtemp(prefix="compose-test-"))
    workdir.chmod(0o755)
    origin = make_origin(workdir)
    env = {**test_env(), "COMPOSE_PROFILES": MONITORED}
    stack = ComposeStack(f"gitops-test-{uuid.uuid4().hex[:8]}", workdir, env, docker=docker_engine)
    stack.origin = origin
    stack.write(origin.bare)
    try:
        stack.up()
    except Exception:
        stack.down()
        raise
    print(f"\ncompose stack ({MONITORED}) up -d --wait: {stack.up_seconds:.0f} s")
    yield stack
    stack.down()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def remote_worker(compose_stack):
    """A Celery worker started from docker-compose.worker.yaml as its own project, on its own network, that
    reaches the main stack only through HAProxy's worker ports on the host (as another host would)."""
    from stacktest.compose import WORKER_FILE

    gateway = subprocess.run([compose_stack.docker, "network", "inspect", "bridge", "--format",
                              "{{(index .IPAM.Config 0).Gateway}}"], capture_output=True, text=True,
                             check=True).stdout.strip()
    env = {**compose_stack.env, "MAIN_HOST": gateway, "WORKER_HOSTNAME": "remote-worker-test",
           "WORKER_QUEUES": "remote"}
    worker = ComposeStack(f"{compose_stack.project}-remote", compose_stack.workdir, env,
                          docker=compose_stack.docker, files=(WORKER_FILE,))
    worker.write(compose_stack.origin.bare, readers=("airflow-worker",))  # its bundle fetches from origin
    try:
        worker.compose("up", "-d", "--wait", "--wait-timeout", "300", timeout=400)
    except Exception:
        print(worker.compose("logs", "--no-color", "--tail", "40", check=False).stdout)
        worker.down()
        raise
    yield worker
    worker.down()
