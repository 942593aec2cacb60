"""The webhook's processes are not dumpable: code running as the same user (a DAG file imported for
validation) cannot read their /proc environment or memory, where the webhook's secrets are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

# Loads gunicorn's config as gunicorn does, runs its start hook, then reports PR_GET_DUMPABLE (3) for this
# process and for a child forked afterwards (gunicorn's workers are forked from the master).
PROBE = """
import ctypes, os, runpy
config = runpy.run_path("webhook/gunicorn.conf.py")
libc = ctypes.CDLL(None)
before = libc.prctl(3, 0, 0, 0, 0)
config["on_starting"](None)
master = libc.prctl(3, 0, 0, 0, 0)
pid = os.fork()
if pid == 0:
    os._exit(libc.prctl(3, 0, 0, 0, 0))
_, status = os.waitpid(pid, 0)
print(before, master, os.waitstatus_to_exitcode(status))
"""


def test_the_master_and_its_workers_are_not_dumpable():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "0"]


def test_a_bad_setting_stops_gunicorn_with_a_sentence_naming_it(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "WEBHOOK_WORKERS": "many"}
    result = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--config", "webhook/gunicorn.conf.py",
                             "webhook:create_app()"], cwd=PROJECT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "webhook: WEBHOOK_WORKERS" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
