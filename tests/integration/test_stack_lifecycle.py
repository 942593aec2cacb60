"""The native stack's lifecycle: crashes are restarted, `down` during `up` is clean, a second stack coexists."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests

from stackctl.settings import PROJECT_DIR
from stacktest.native import NativeStack, free_port_offset, new_state_dir, processes_under

pytestmark = pytest.mark.integration


def test_a_crashed_component_is_restarted(native_stack):
    scheduler = [p for p in processes_under(native_stack.state_dir)
                 if "scheduler" in " ".join(p.cmdline()) and "stackctl.launch" not in " ".join(p.cmdline())]
    assert scheduler, "the scheduler process should be visible"
    os.kill(scheduler[0].pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = native_stack.run("status")
        if status.returncode == 0:
            break
        time.sleep(2)
    assert status.returncode == 0, status.stdout
    run_id = native_stack.trigger_dag("stack-smoke")
    assert native_stack.wait_run("stack-smoke", run_id) == "success"


def test_down_during_up_leaves_nothing_and_a_second_stack_runs_beside_the_first(native_stack):
    state_dir = new_state_dir()
    env = dict(native_stack.env, STACK_STATE_DIR=str(state_dir), STACK_PORT_OFFSET=str(free_port_offset()))
    env.pop("STACK_EXTRA_DAGS_FOLDER", None)
    command = [sys.executable, "-m", "stackctl"]
    starting = subprocess.Popen([*command, "up"], env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (state_dir / "run" / "supervisord.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert starting.poll() is None, "up should still be working when down arrives"
        down = subprocess.run([*command, "down"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True,
                              timeout=180)
        assert down.returncode == 0, down.stdout + down.stderr
        output, _ = starting.communicate(timeout=120)
        assert "interrupted" in output, output
        time.sleep(1)
        assert processes_under(state_dir) == []

        second = NativeStack(state_dir, env)
        up = second.run("up", timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        assert second.url("airflow") != native_stack.url("airflow")
        assert requests.get(second.url("airflow") + "/api/v2/monitor/health", timeout=10).status_code == 200
        assert requests.get(native_stack.url("airflow") + "/api/v2/monitor/health", timeout=10).status_code == 200
        second.stop()
        assert processes_under(state_dir) == []
    finally:
        if starting.poll() is None:
            starting.kill()
            starting.communicate()
        subprocess.run([*command, "down"], env=env, cwd=PROJECT_DIR, capture_output=True, timeout=180)
        shutil.rmtree(state_dir, ignore_errors=True)


def test_up_names_the_port_that_is_taken(native_stack, tmp_path):
    state_dir = new_state_dir()
    env = dict(native_stack.env, STACK_STATE_DIR=str(state_dir),
               PUBLIC_AIRFLOW_PORT=native_stack.settings["PUBLIC_AIRFLOW_PORT"])
    env["STACK_PORT_OFFSET"] = str(free_port_offset())
    result = subprocess.run([sys.executable, "-m", "stackctl", "up"], env=env, cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=120)
    shutil.rmtree(state_dir, ignore_errors=True)
    assert result.returncode == 2
    assert f"port {native_stack.settings['PUBLIC_AIRFLOW_PORT']} (PUBLIC_AIRFLOW_PORT)" in result.stderr
    assert "haproxy" in result.stderr
