"""stackctl.launch: a program that can leave nothing behind becomes the launcher's process (no reaper stays in
front of it); every other program runs under the reaper; a program that cannot be run is named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PRINT_PID = "import os, time; print(os.getpid(), flush=True); time.sleep(60)"


def launch(tmp_path, name: str, argv: list[str]) -> subprocess.Popen:
    (tmp_path / f"{name}.json").write_text(json.dumps({"argv": argv, "env": {"PATH": os.environ["PATH"]}}))
    return subprocess.Popen([sys.executable, "-m", "stackctl.launch", name], cwd=PROJECT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": os.environ["PATH"], "STACK_SPEC_DIR": str(tmp_path),
                                 "PYTHONPATH": str(PROJECT)})


def first_line_then_stop(process: subprocess.Popen) -> str:
    try:
        return process.stdout.readline().strip()
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_haproxy_runs_as_the_launcher_itself(tmp_path):
    launcher = launch(tmp_path, "haproxy", [sys.executable, "-c", PRINT_PID])
    assert first_line_then_stop(launcher) == str(launcher.pid)


def test_an_airflow_program_runs_under_its_reaper(tmp_path):
    launcher = launch(tmp_path, "airflow-scheduler", [sys.executable, "-c", PRINT_PID])
    program = first_line_then_stop(launcher)
    assert program and program != str(launcher.pid)


def test_a_program_that_cannot_be_run_is_named(tmp_path):
    for name in ("haproxy", "airflow-scheduler"):
        launcher = launch(tmp_path, name, ["no-such-program-here"])
        _, err = launcher.communicate(timeout=30)
        assert launcher.returncode == 127
        assert "cannot run no-such-program-here: No such file or directory" in err
