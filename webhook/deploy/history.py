"""The deploy history (and queue): one row per deploy in the state database, changed only while it is active.

A record is a JSON object with any fields; `id`, `kind`, `commit`, `state`, `delivery_id`, `requested_at` and
`finished_at` are indexed. Once a deploy has a result its row is final (the database refuses changes).

`python -m webhook.deploy.history` prints the whole history as JSON lines, oldest first.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from webhook.deploy.state import ACTIVE, FILE, RESULTS, Database

__all__ = ["ACTIVE", "RESULTS", "History", "new_id"]


def new_id() -> str:
    """A sortable, unguessable deploy id such as 20261121T194501-3fa9c2."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _dump(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


class History:
    """Deploy records in `db`, shared by every gunicorn worker and the CLIs."""

    def __init__(self, db: Database):
        self.db = db

    def append(self, record: dict) -> dict:
        """Add a deploy, or merge fields into an active one (stamped `ts`); returns the whole record."""
        record = {**record, "ts": round(time.time(), 3)}
        with self.db.write(durable=True) as db:
            row = db.execute("SELECT record FROM deploys WHERE id = ?", (record["id"],)).fetchone()
            if row is None:
                db.execute("INSERT INTO deploys (record) VALUES (?)", (_dump(record),))
                return record
            record = {**json.loads(row[0]), **record}
            db.execute("UPDATE deploys SET record = ? WHERE id = ?", (_dump(record), record["id"]))
            return record

    def _records(self, where: str = "", args: tuple = (), order: str = "seq", limit: int = -1) -> list[dict]:
        rows = self.db.query(f"SELECT record FROM deploys {where} ORDER BY {order} LIMIT ?", (*args, limit))
        return [json.loads(row[0]) for row in rows]

    def get(self, deploy_id: str) -> dict | None:
        found = self._records("WHERE id = ?", (deploy_id,))
        return found[0] if found else None

    def deploys(self) -> dict[str, dict]:
        """Every deploy by id, oldest first."""
        return {d["id"]: d for d in self._records()}

    def recent(self, limit: int = 20) -> list[dict]:
        """The newest deploys first."""
        return self._records(order="seq DESC", limit=limit)

    def active(self, state: str | None = None) -> list[dict]:
        """Deploys still queued or running (or only in `state`), oldest first."""
        states = (state,) if state else ACTIVE
        return self._records(f"WHERE state IN ({','.join('?' * len(states))})", states)

    def find(self, delivery_id: str = "", commit: str = "", limit: int = 20) -> list[dict]:
        """Deploys by delivery id and/or commit, newest first."""
        return self._records("WHERE (? = '' OR delivery_id = ?) AND (? = '' OR commit_id = ?)",
                             (delivery_id, delivery_id, commit, commit), "seq DESC", limit)

    def last_good(self, other_than: str | None) -> str | None:
        """The commit of the latest successful deploy or rollback of a commit other than `other_than`."""
        rows = self.db.query("SELECT commit_id FROM deploys WHERE state = 'succeeded' AND commit_id IS NOT NULL "
                             "AND commit_id IS NOT ? ORDER BY seq DESC LIMIT 1", (other_than,))
        return rows[0][0] if rows else None

    def has_queued(self) -> bool:
        return bool(self.db.query("SELECT 1 FROM deploys WHERE state = 'queued' LIMIT 1"))

    def counts(self) -> dict[tuple[str, str], int]:
        """Finished deploys by (kind, result)."""
        rows = self.db.query(f"SELECT kind, state, count(*) FROM deploys WHERE state IN "
                             f"({','.join('?' * len(RESULTS))}) GROUP BY kind, state", RESULTS)
        return {(kind, state): n for kind, state, n in rows}

    def durations(self, bounds: tuple[float, ...]) -> tuple[list[int], int, float]:
        """Request-to-result seconds of finished deploys: how many within each bound, how many, their sum."""
        within = "".join(f", total(seconds <= {float(b)!r})" for b in bounds)
        finished = f"state IN ({','.join('?' * len(RESULTS))})"
        [row] = self.db.query(
            f"SELECT count(*), total(seconds){within} FROM (SELECT finished_at - requested_at AS seconds "
            f"FROM deploys WHERE {finished} AND finished_at IS NOT NULL AND requested_at IS NOT NULL)", RESULTS)
        return [int(n) for n in row[2:]], row[0], row[1]

    def last_success(self) -> float:
        return self.db.query("SELECT coalesce(max(finished_at), 0.0) FROM deploys WHERE state = 'succeeded'")[0][0]

    def in_progress(self) -> int:
        return self.db.query("SELECT count(*) FROM deploys WHERE state IN (?, ?)", ACTIVE)[0][0]


def main(argv: list[str] | None = None) -> int:
    """Print the history as JSON lines: `python -m webhook.deploy.history [--deploy-dir DIR] > history.jsonl`."""
    parser = argparse.ArgumentParser(prog="python -m webhook.deploy.history", description=main.__doc__)
    parser.add_argument("--deploy-dir", type=Path, help="default: DEPLOY_DIR of the stack's environment")
    args = parser.parse_args(argv)
    folder = args.deploy_dir
    if folder is None:
        from webhook import settings

        try:
            folder = settings.from_env().deploy_dir
        except settings.SettingsError as exc:
            parser.error(str(exc))
    if not (folder / FILE).is_file():
        parser.error(f"no deploy state in {folder} (no {FILE})")
    for record in History(Database(folder)).deploys().values():
        sys.stdout.write(_dump(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
