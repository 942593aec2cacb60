"""The webhook's state in one SQLite database in the deploy folder, shared by every gunicorn worker and the CLIs.

Tables: `deploys` (the queue and the history: one row per deploy, its record as JSON, indexed columns derived
from it; a finished row is never changed or deleted, which triggers enforce), `deliveries` and `auth_failures`
(the replay store), `facts` (one JSON value per name: the rollback pin, the relay's last request, the baseline
commit) and `leases` (the runner's leader and the deploy slot, webhook/deploy/lock.py).
WAL mode: a commit survives a crash of the process; a deploy record's also one of the machine (its
transactions are synchronous=FULL, the rest NORMAL, as the files before were fsynced or not).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from webhook.deploy import state_legacy as legacy

log = logging.getLogger(__name__)
FILE = "state.sqlite"
VERSION = 1
# Checkpoint the WAL every 32 pages (128 KiB): its file stops growing there and is then reused from its start,
# so that the state's writes need no new disk space once it has reached that size (a full disk, below).
WAL_PAGES = 32
# One writer at a time per database within a process: its threads queue here and are woken at once, rather than
# in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) between tries.
_WRITERS: dict[Path, threading.Lock] = {}
_WRITERS_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_WRITERS.clear)
ACTIVE = ("queued", "running")
RESULTS = ("succeeded", "failed", "rejected", "rolled_back", "superseded", "skipped", "interrupted")

SCHEMA = f"""
CREATE TABLE deploys (
    seq INTEGER PRIMARY KEY,
    record TEXT NOT NULL CHECK (json_valid(record) AND json_type(record, '$.id') = 'text'),
    id TEXT GENERATED ALWAYS AS (json_extract(record, '$.id')) VIRTUAL UNIQUE,
    kind TEXT GENERATED ALWAYS AS (coalesce(json_extract(record, '$.kind'), 'deploy')) VIRTUAL,
    commit_id TEXT GENERATED ALWAYS AS (json_extract(record, '$.commit')) VIRTUAL,
    state TEXT GENERATED ALWAYS AS (json_extract(record, '$.state')) VIRTUAL,
    delivery_id TEXT GENERATED ALWAYS AS (json_extract(record, '$.delivery_id')) VIRTUAL,
    requested_at REAL GENERATED ALWAYS AS (json_extract(record, '$.requested_at')) VIRTUAL,
    finished_at REAL GENERATED ALWAYS AS (json_extract(record, '$.finished_at')) VIRTUAL
);
CREATE INDEX deploys_state ON deploys (state);
CREATE INDEX deploys_commit ON deploys (commit_id);
CREATE INDEX deploys_delivery ON deploys (delivery_id);
CREATE TRIGGER deploys_finished_are_final BEFORE UPDATE ON deploys
WHEN OLD.state NOT IN {ACTIVE!r} OR NEW.id IS NOT OLD.id OR NEW.seq IS NOT OLD.seq
BEGIN SELECT RAISE(ABORT, 'the deploy history is append-only: a finished deploy is never changed'); END;
CREATE TRIGGER deploys_are_never_deleted BEFORE DELETE ON deploys
BEGIN SELECT RAISE(ABORT, 'the deploy history is append-only: a deploy is never deleted'); END;
CREATE TABLE deliveries (id TEXT PRIMARY KEY, seen REAL NOT NULL);
CREATE TABLE auth_failures (reason TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE facts (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, place TEXT NOT NULL, pid INTEGER NOT NULL,
                     started INTEGER, heartbeat REAL NOT NULL);
"""


class Database:
    """`state.sqlite` in `deploy_dir`, created (and the files it replaces migrated) on first use.

    Each thread of each process gets its own connection, opened on first use and kept."""

    def __init__(self, deploy_dir: Path):
        self.folder = Path(deploy_dir)
        self.path = self.folder / FILE
        self._local = threading.local()
        with _WRITERS_LOCK:
            self._writer = _WRITERS.setdefault(self.path, threading.Lock())
        self._create()

    def _create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # Made here, owner and group only, so that SQLite's -wal and -shm files get the same mode. Never opened by
        # hand once it exists: closing a descriptor of the file drops every POSIX lock this process holds on it,
        # SQLite's included, and another process closing its last connection then deletes the -wal and -shm
        # files in use here ("database disk image is malformed"; the webhook builds several Database objects).
        try:
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640))
        except FileExistsError:
            pass
        db = self.connect()
        if db.execute("PRAGMA user_version").fetchone()[0] == VERSION:
            return
        db.execute("PRAGMA journal_mode=WAL")
        with self.write() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] == VERSION:
                return  # another worker was faster
            for statement in SCHEMA.split(";\n"):
                if statement.strip():
                    db.execute(statement)
            moved = legacy.migrate(self.folder, db)
            db.execute(f"PRAGMA user_version={VERSION}")
        legacy.retire(self.folder, moved)

    def connect(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # a connection never crosses a fork
            local.db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            local.db.execute("PRAGMA synchronous=NORMAL")
            local.db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
            local.pid = os.getpid()
        return local.db

    @contextmanager
    def write(self, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its start (BEGIN IMMEDIATE): read, decide, write.
        `durable`: on disk (fsynced) when it returns. Every write goes through here."""
        db = self.connect()
        with self._writer:
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # a failed COMMIT (a full disk) leaves it open
                    db.execute("ROLLBACK")
                raise
            finally:
                db.execute("PRAGMA synchronous=NORMAL")

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        return self.connect().execute(sql, args).fetchall()

    def fact(self, name: str):
        """The value stored under `name`, or None."""
        rows = self.query("SELECT value FROM facts WHERE name = ?", (name,))
        return json.loads(rows[0][0]) if rows else None

    def set_fact(self, name: str, value, replace: bool = True) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self.write() as db:
            db.execute(f"{verb} INTO facts (name, value) VALUES (?, ?)", (name, json.dumps(value)))

    def drop_fact(self, name: str) -> None:
        with self.write() as db:
            db.execute("DELETE FROM facts WHERE name = ?", (name,))
