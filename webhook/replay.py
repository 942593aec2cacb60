"""Seen delivery ids, shared by every gunicorn worker through the state database."""

from __future__ import annotations

import time

from webhook.deploy.state import Database

# Longer than any accepted timestamp window, so an id cannot be replayed inside it.
KEEP_SECONDS = 24 * 3600


class DeliveryStore:
    """`first_time(id)` is True exactly once per delivery id (atomic across processes)."""

    def __init__(self, db: Database):
        self.db = db

    def first_time(self, delivery_id: str, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        with self.db.write() as db:
            fresh = db.execute("INSERT OR IGNORE INTO deliveries (id, seen) VALUES (?, ?)",
                               (delivery_id, now)).rowcount
            if fresh and int(now) % 97 == 0:
                # Purge now and then rather than on every request.
                db.execute("DELETE FROM deliveries WHERE seen < ?", (now - KEEP_SECONDS,))
        return fresh == 1

    def count_failure(self, reason: str) -> None:
        with self.db.write() as db:
            db.execute("INSERT INTO auth_failures (reason, n) VALUES (?, 1) "
                       "ON CONFLICT(reason) DO UPDATE SET n = n + 1", (reason,))

    def failures(self) -> dict[str, int]:
        return dict(self.db.query("SELECT reason, n FROM auth_failures"))
