"""Leases in the state database: one holder per name across processes, free again when the holder dies.

Taken in one transaction (BEGIN IMMEDIATE): read the row, take it only if its holder is gone. A holder on this
machine and in this PID namespace is gone when its process is (pid and start time, from /proc); one elsewhere
(another container sharing the folder) when its heartbeat, renewed every BEAT seconds, is older than STALE.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from pathlib import Path

from webhook.deploy.state import Database

log = logging.getLogger(__name__)
BEAT, STALE = 5.0, 30.0


class LockTimeout(TimeoutError):
    """Another process held the lease for longer than we were willing to wait."""


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _place() -> str:
    """This boot of this machine and this PID namespace: where a pid means the same process."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{_read('/proc/sys/kernel/random/boot_id')}/{namespace}"


def started(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot), or None if it is gone (or a zombie)."""
    fields = _read(f"/proc/{pid}/stat").rpartition(")")[2].split()
    return int(fields[19]) if len(fields) > 19 and fields[0] not in ("Z", "X") else None


def alive(place: str, pid: int, start: int | None, heartbeat: float) -> bool:
    here = _place()
    if place == here and here.split("/")[1]:
        return start is not None and started(pid) == start
    if place.split("/")[0] != here.split("/")[0]:
        return False  # taken before this machine last booted
    return time.time() - heartbeat < STALE


class Lease:
    """`with Lease(db, "deploy", timeout=...)`; acquire(None) waits forever, acquire(0) tries once."""

    def __init__(self, db: Database, name: str, timeout: float | None = None):
        self.db, self.name, self.timeout = db, name, timeout
        self.token = secrets.token_hex(8)
        self._beating: threading.Event | None = None

    def _holder(self, db) -> tuple | None:
        row = db.execute("SELECT holder, place, pid, started, heartbeat FROM leases WHERE name = ?",
                         (self.name,)).fetchone()
        return row if row and row[0] != self.token and alive(*row[1:]) else None

    def _take(self) -> bool:
        if self._holder(self.db.connect()):  # without the write lock: waiting must not slow the writers
            return False
        with self.db.write() as db:
            if self._holder(db):
                return False
            pid = os.getpid()
            db.execute("INSERT OR REPLACE INTO leases (name, holder, place, pid, started, heartbeat) "
                       "VALUES (?, ?, ?, ?, ?, ?)", (self.name, self.token, _place(), pid, started(pid), time.time()))
            return True

    def acquire(self, timeout: float | None = None, poll: float = 0.05) -> bool:
        """Take the lease; returns False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._take():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(poll)
        self._beating = threading.Event()
        threading.Thread(target=self._beat, args=(self._beating,), name=f"lease-{self.name}", daemon=True).start()
        return True

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(BEAT):
            try:
                with self.db.write() as db:
                    db.execute("UPDATE leases SET heartbeat = ? WHERE name = ? AND holder = ?",
                               (time.time(), self.name, self.token))
            except Exception:  # the next beat tries again; a full disk must not end the holder
                log.warning("event=lease_heartbeat_failed name=%s", self.name, exc_info=True)

    def release(self) -> None:
        if self._beating is not None:
            self._beating.set()
            self._beating = None
            self._drop()

    def _drop(self) -> None:
        try:
            with self.db.write() as db:
                db.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (self.name, self.token))
        except Exception:  # e.g. a full disk: our process lives on, so nobody else could take it; retry
            log.warning("event=lease_release_failed name=%s", self.name, exc_info=True)
            retry = threading.Timer(1.0, self._drop)
            retry.daemon = True
            retry.start()

    @property
    def held(self) -> bool:
        return self._beating is not None

    def __enter__(self) -> Lease:
        if not self.acquire(self.timeout):
            raise LockTimeout(f"the {self.name} lease is held by another process")
        return self

    def __exit__(self, *exc) -> None:
        self.release()
