"""A failed `./stack up` stops what it started: no supervisord, PostgreSQL or Redis is left behind."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from stackctl.ports import is_free
from stackctl.settings import PORT_DEFAULTS, PROJECT_DIR
from stacktest.native import free_port_offset, new_state_dir


@pytest.fixture
def stack_env():
    """A fresh state folder and ports for one `up`; whatever it leaves running is stopped at teardown."""
    state = new_state_dir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STACK_", "PUBLIC_", "SMEE"))}
    env.update({"STACK_STATE_DIR": str(state), "STACK_PORT_OFFSET": str(free_port_offset()), "STACK_ENV_FILE": "",
                "STACK_VENV": sys.prefix, "PYTHONPATH": str(PROJECT_DIR)})
    yield env
    stackctl(env, "down", timeout=180)
    shutil.rmtree(state, ignore_errors=True)


def stackctl(env, *args, timeout=300, **kwargs):
    return subprocess.run([sys.executable, "-m", "stackctl", *args], env=env, cwd=PROJECT_DIR, capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def port(env, name):
    return PORT_DEFAULTS[name] + int(env["STACK_PORT_OFFSET"])


def left_running(env) -> list[str]:
    """Processes of this state folder still alive (supervisord's config and postgres's data are in it)."""
    state = env["STACK_STATE_DIR"]
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if state in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(f"{process.info['pid']}: {cmdline[:150]}")
    return found


def test_up_that_cannot_start_redis_stops_postgres_and_supervisord(stack_env):
    redis_port = port(stack_env, "REDIS_PORT")
    up = subprocess.Popen([sys.executable, "-m", "stackctl", "up"], env=stack_env, cwd=PROJECT_DIR,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    blocker = socket.socket()
    try:
        # Take Redis's port once `up` has checked the ports: it writes redis.conf right after.
        conf = os.path.join(stack_env["STACK_STATE_DIR"], "redis", "redis.conf")
        deadline = time.monotonic() + 120
        while not os.path.exists(conf):
            assert up.poll() is None, f"`up` ended before writing redis.conf:\n{up.stdout.read()}"
            assert time.monotonic() < deadline, "`up` never wrote redis.conf"
            time.sleep(0.02)
        blocker.bind(("127.0.0.1", redis_port))
        blocker.listen()
        output, _ = up.communicate(timeout=240)
    finally:
        blocker.close()
        if up.poll() is None:
            up.kill()
    assert up.returncode != 0, output
    assert "could not start what airflow-init needs: redis" in output
    assert "stopping everything this `up` started" in output
    assert left_running(stack_env) == []
    assert is_free("127.0.0.1", port(stack_env, "POSTGRES_PORT"))
    assert "not running" in stackctl(stack_env, "status").stdout


def test_up_whose_services_never_become_healthy_stops_everything(stack_env, monkeypatch, capfd):
    """The DAG processor never healthy: the real databases and supervisord start, then `up` stops them.

    Only the Airflow programs are left out (starting six of them costs a minute of CPU): airflow-init and
    starting what comes after it do nothing, and the health wait reports the DAG processor failing. As root,
    `up` does this in a child process that has become the stack user, hence capfd (its output reaches fd 1,
    not sys.stdout).
    """
    from stackctl import cli, health, init, startup, supervisor

    real_launch, real_wait = supervisor.launch, health.wait_healthy
    monkeypatch.setattr(supervisor, "launch", lambda settings, *names: real_launch(settings, *names)
                        if "postgres" in names else [])
    monkeypatch.setattr(init, "pending", lambda environ: [init.SCHEMA])
    monkeypatch.setattr(startup, "run_init", lambda settings, program, echo: None)
    monkeypatch.setattr(health, "wait_healthy", lambda settings, names, timeout, **kw: real_wait(
        settings, names, timeout, **kw) if "airflow-dag-processor" not in names else {
        "postgres": (True, "accepting connections"), "airflow-dag-processor": (False, "unhealthy")})
    handler = signal.getsignal(signal.SIGTERM)
    try:
        assert cli.up(stack_env) == 1
    finally:
        signal.signal(signal.SIGTERM, handler)
    output = capfd.readouterr().out
    assert "NOT HEALTHY after" in output and "airflow-dag-processor: unhealthy" in output
    assert "stopping everything this `up` started" in output
    assert left_running(stack_env) == []
    assert is_free("127.0.0.1", port(stack_env, "POSTGRES_PORT"))
    assert is_free("127.0.0.1", port(stack_env, "REDIS_PORT"))
