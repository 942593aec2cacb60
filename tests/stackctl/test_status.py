"""`./stack status` against a real supervisord: a missing setting is a sentence, never a traceback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest

from stackctl.settings import PROJECT_DIR
from stacktest.native import new_state_dir

SUPERVISORD_CONF = """\
[unix_http_server]
file={run}/supervisor.sock
chmod=0700

[supervisord]
logfile={state}/supervisord.log
pidfile={run}/supervisord.pid

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{run}/supervisor.sock

[program:flower]
command=sleep 600
startsecs=0
"""


def wait_for(predicate, timeout: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def running_flower():
    """A state folder whose supervisord (the stack's paths) runs a program called flower; stopped at teardown."""
    state = new_state_dir()
    run = state / "run"
    run.mkdir()
    (run / "supervisord.conf").write_text(SUPERVISORD_CONF.format(run=run, state=state))
    subprocess.run([os.path.join(sys.prefix, "bin", "supervisord"), "-c", str(run / "supervisord.conf")],
                   check=True)
    try:
        wait_for(lambda: (run / "supervisord.pid").exists() and (run / "supervisor.sock").exists(),
                 what="supervisord")
        yield state
    finally:
        pid = int((run / "supervisord.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: gone(pid), what="supervisord to stop")
        shutil.rmtree(state, ignore_errors=True)


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for its parent counts as exited)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def status(state, **extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STACK_", "PUBLIC_", "FLOWER_"))}
    env.update({"STACK_STATE_DIR": str(state), "STACK_ENV_FILE": "", "STACK_VENV": sys.prefix,
                "PYTHONPATH": str(PROJECT_DIR), **extra})
    return subprocess.run([sys.executable, "-m", "stackctl", "status"], env=env, cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=60)


def test_status_without_any_secret_still_checks_each_program(running_flower):
    """No secrets file, no .env: status still reads the services and asks Flower's health (it needs no password)."""
    result = status(running_flower)
    assert "Traceback" not in result.stderr, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("flower "))
    assert "RUNNING" in line and "FAILING" in line  # the process is up; nothing answers on Flower's port
    assert result.returncode == 1, result.stdout + result.stderr
