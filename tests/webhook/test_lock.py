"""The deploy lease holds across processes and is free again when its holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from webhook.deploy.lock import Lease, LockTimeout
from webhook.deploy.state import Database

HOLDER = """
import sys, time
from webhook.deploy.lock import Lease
from webhook.deploy.state import Database
lease = Lease(Database(sys.argv[1]), "deploy")
lease.acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the deploy lease of `tmp_path/state/deploy`; killed (not released) at the end."""
    folder = tmp_path / "state" / "deploy"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd(), env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.stdout.readline().strip() == "held"
    yield Database(folder), proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    proc.stdout.close()


def test_a_lease_held_by_another_process_times_out(holder):
    db, _ = holder
    started = time.monotonic()
    assert Lease(db, "deploy").acquire(timeout=0.3) is False
    assert time.monotonic() - started >= 0.3
    with pytest.raises(LockTimeout):
        with Lease(db, "deploy", timeout=0.1):
            pass
    with Lease(db, "runner", timeout=0.1):  # another name is another lease
        pass


def test_the_lease_is_free_when_the_holder_is_killed(holder):
    db, proc = holder
    assert db.query("SELECT pid FROM leases WHERE name = 'deploy'") == [(proc.pid,)]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lease = Lease(db, "deploy")
    assert lease.acquire(timeout=2.0) is True
    lease.release()
    assert db.query("SELECT * FROM leases") == []


def test_two_leases_of_one_process_exclude_each_other(tmp_path):
    db = Database(tmp_path)
    with Lease(db, "deploy"):
        assert Lease(db, "deploy").acquire(timeout=0) is False
    assert Lease(db, "deploy").acquire(timeout=0) is True


def test_a_holder_elsewhere_counts_while_its_heartbeat_is_fresh(tmp_path, monkeypatch):
    """A process in another container (another PID namespace) sharing the folder: its pid means nothing
    here, its heartbeat does."""
    from webhook.deploy import lock
    db = Database(tmp_path)
    here = lock._place()
    elsewhere = here.split("/")[0] + "/pid:[1]"
    db.connect().execute("INSERT INTO leases VALUES ('deploy', 'other', ?, 1, 1, ?)", (elsewhere, time.time()))
    assert Lease(db, "deploy").acquire(timeout=0) is False
    db.connect().execute("UPDATE leases SET heartbeat = ?", (time.time() - lock.STALE - 1,))
    assert Lease(db, "deploy").acquire(timeout=0) is True
    db.connect().execute("INSERT OR REPLACE INTO leases VALUES ('deploy', 'other', ?, 1, 1, ?)",
                         ("another-boot/pid:[1]", time.time()))
    assert Lease(db, "deploy").acquire(timeout=0) is True  # taken before this machine last booted


def test_the_rollback_cli_waits_for_a_running_deploy(holder, tmp_path, origin, monkeypatch, capsys):
    """The CLI takes the same lease as the webhook's runner."""
    from webhook import rollback
    monkeypatch.setenv("STACK_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DEPLOY_REPO_URL", origin.url)
    assert rollback.main(["--wait", "0.3"]) == 1
    assert "rollback refused" in capsys.readouterr().err
