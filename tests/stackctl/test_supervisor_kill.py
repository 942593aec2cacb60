"""A supervisord that does not stop in time is killed with everything under it, not alone."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from stackctl import reaper, supervisor

# A stand-in for a stuck supervisord: ignores SIGTERM, and has a program under it that ignores SIGTERM too,
# and that program a child of its own.
TREE = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import signal, subprocess, time; "
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "subprocess.Popen(['sleep', '600']); time.sleep(600)"])
time.sleep(600)
"""


def test_a_stuck_supervisord_takes_its_programs_with_it():
    parent = subprocess.Popen([sys.executable, "-c", TREE])
    try:
        deadline = time.monotonic() + 10
        while len(reaper.descendants(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        under = reaper.descendants(parent.pid)
        assert len(under) == 2

        left = supervisor.kill_with_descendants(parent.pid)

        parent.wait(timeout=5)
        assert parent.returncode == -signal.SIGKILL
        assert sorted(left) == sorted(under)
        assert [pid for pid in under if supervisor._process_alive(pid)] == []
    finally:
        parent.kill()
