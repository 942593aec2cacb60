"""The deploy lock holds across processes and is released when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from webhook.deploy.lock import FileLock, LockTimeout

HOLDER = """
import sys, time
from webhook.deploy.lock import FileLock
lock = FileLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock; killed (not released) at the end of the test."""
    path = tmp_path / "deploy.lock"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout.readline().strip() == "held"
    yield path, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()


def test_lock_held_by_another_process_times_out(holder):
    path, _ = holder
    started = time.monotonic()
    assert FileLock(path).acquire(timeout=0.3) is False
    assert time.monotonic() - started >= 0.3
    with pytest.raises(LockTimeout):
        with FileLock(path, timeout=0.1):
            pass


def test_lock_is_released_when_the_holder_is_killed(holder):
    path, proc = holder
    assert path.read_text().strip() == str(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lock = FileLock(path)
    assert lock.acquire(timeout=2.0) is True
    lock.release()


def test_the_rollback_cli_waits_for_a_running_deploy(holder, tmp_path, origin, monkeypatch, capsys):
    """The CLI takes the same lock as the webhook's runner."""
    from webhook import rollback
    path, _ = holder
    state = path.parent / "state"
    (state / "deploy").mkdir(parents=True)
    (state / "deploy" / "deploy.lock").symlink_to(path)
    monkeypatch.setenv("STACK_STATE_DIR", str(state))
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    assert rollback.main(["--wait", "0.3"]) == 1
    assert "rollback refused" in capsys.readouterr().err
