"""stackctl.reaper: nothing a program starts outlives it, and a stop signal reaches the program alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stackctl.reaper import descendants
from tests.faults.processes import alive

PROJECT = Path(__file__).resolve().parents[2]
# A program that starts a child and a detached grandchild (own session, as Airflow's task processes are).
PROGRAM = """
import signal, subprocess, sys, time
subprocess.Popen(['sleep', '300'], start_new_session=True)
subprocess.Popen(['sleep', '301'])
signal.signal(signal.SIGTERM, lambda *_: (print('program got TERM', flush=True), sys.exit(0)))
print('started', flush=True)
time.sleep(300)
"""


def start_reaper(tmp_path) -> subprocess.Popen:
    runner = f"import sys; from stackctl import reaper; sys.exit(reaper.run({[sys.executable, '-c', PROGRAM]!r}, {{}}))"
    reaper = subprocess.Popen([sys.executable, "-c", runner], cwd=PROJECT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(PROJECT)})
    assert reaper.stdout.readline().strip() == "started"
    time.sleep(0.5)
    return reaper


def program_of(reaper: subprocess.Popen) -> int:
    return next(pid for pid in descendants(reaper.pid)
                if Path(f"/proc/{pid}/cmdline").read_text().startswith(sys.executable))


def test_a_killed_program_leaves_nothing_behind(tmp_path):
    reaper = start_reaper(tmp_path)
    under = set(descendants(reaper.pid))
    assert len(under) == 3
    os.kill(program_of(reaper), signal.SIGKILL)
    assert reaper.wait(timeout=30) == 137  # the program's status, for supervisord
    reaper.stdout.close()
    time.sleep(0.2)
    assert alive(under) == set()


def test_a_stop_signal_goes_to_the_program_and_then_the_rest_is_ended(tmp_path):
    reaper = start_reaper(tmp_path)
    under = set(descendants(reaper.pid))
    reaper.send_signal(signal.SIGTERM)
    assert reaper.stdout.readline().strip() == "program got TERM"
    assert reaper.wait(timeout=30) == 0
    reaper.stdout.close()
    time.sleep(0.2)
    assert alive(under) == set()
