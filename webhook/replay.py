"""Seen delivery ids, shared by every gunicorn worker through SQLite in the state folder."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

# Longer than any accepted timestamp window, so an id cannot be replayed inside it.
KEEP_SECONDS = 24 * 3600


class DeliveryStore:
    """`first_time(id)` is True exactly once per delivery id (atomic across processes)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, seen REAL NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS auth_failures "
                       "(reason TEXT PRIMARY KEY, n INTEGER NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def first_time(self, delivery_id: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        db = self._connect()
        try:
            cur = db.execute("INSERT OR IGNORE INTO deliveries (id, seen) VALUES (?, ?)", (delivery_id, now))
            fresh = cur.rowcount == 1
            if fresh and int(now) % 97 == 0:
                # Purge now and then rather than on every request.
                db.execute("DELETE FROM deliveries WHERE seen < ?", (now - KEEP_SECONDS,))
            return fresh
        finally:
            db.close()

    def count_failure(self, reason: str) -> None:
        db = self._connect()
        try:
            db.execute(
                "INSERT INTO auth_failures (reason, n) VALUES (?, 1) "
                "ON CONFLICT(reason) DO UPDATE SET n = n + 1", (reason,))
        finally:
            db.close()

    def failures(self) -> dict[str, int]:
        db = self._connect()
        try:
            return dict(db.execute("SELECT reason, n FROM auth_failures").fetchall())
        finally:
            db.close()
