"""Move the state files of earlier versions into the database, once, when it is created.

history.jsonl (one JSON snapshot per line; the last line of an id is its state) becomes one row per deploy and
is kept as history.jsonl.migrated; pin.json, relay.json, baseline and deliveries.sqlite become rows and are
removed, as are the lock files (runner.lock, deploy.lock) the database's leases replace.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)
HISTORY = "history.jsonl"
FACT_FILES = {"pin": "pin.json", "relay": "relay.json"}
BASELINE = "baseline"
DELIVERIES = "deliveries.sqlite"
LOCKS = ("runner.lock", "deploy.lock")


def old_history(path: Path) -> list[dict]:
    """Each deploy's latest state, in order of first appearance; torn lines are skipped with a log line."""
    latest: dict[str, dict] = {}
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            record = json.loads(line) if line.strip() else {}
        except ValueError:
            log.warning("event=history_torn_line path=%s line=%d", path, number)
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            latest[record["id"]] = {**latest.get(record["id"], {}), **record}
    return list(latest.values())


def migrate(folder: Path, db: sqlite3.Connection) -> list[Path]:
    """Copy what the old files hold into `db` (inside the caller's transaction); return the files copied."""
    moved = []
    if (path := folder / HISTORY).is_file():
        records = old_history(path)
        db.executemany("INSERT INTO deploys (record) VALUES (?)",
                       [(json.dumps(r, sort_keys=True, separators=(",", ":")),) for r in records])
        log.info("event=history_migrated path=%s deploys=%d", path, len(records))
        moved.append(path)
    for name, file in FACT_FILES.items():
        if (path := folder / file).is_file():
            try:
                db.execute("INSERT INTO facts (name, value) VALUES (?, ?)",
                           (name, json.dumps(json.loads(path.read_text()))))
            except ValueError:
                log.warning("event=state_file_unreadable path=%s", path)
            moved.append(path)
    if (path := folder / BASELINE).is_file():
        if commit := path.read_text().strip():
            db.execute("INSERT INTO facts (name, value) VALUES ('baseline', ?)", (json.dumps(commit),))
        moved.append(path)
    if (path := folder / DELIVERIES).is_file():
        old = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            db.executemany("INSERT OR IGNORE INTO deliveries (id, seen) VALUES (?, ?)",
                           old.execute("SELECT id, seen FROM deliveries").fetchall())
            db.executemany("INSERT OR IGNORE INTO auth_failures (reason, n) VALUES (?, ?)",
                           old.execute("SELECT reason, n FROM auth_failures").fetchall())
        except sqlite3.Error as exc:
            log.warning("event=state_file_unreadable path=%s error=%s", path, exc)
        finally:
            old.close()
        moved.append(path)
    return moved


def retire(folder: Path, moved: list[Path]) -> None:
    """After the commit: keep the old history for people, remove what the database now holds."""
    for path in moved:
        if path.name == HISTORY:
            path.rename(path.with_name(HISTORY + ".migrated"))
        else:
            for extra in ("", "-wal", "-shm"):
                path.with_name(path.name + extra).unlink(missing_ok=True)
    for name in LOCKS:
        (folder / name).unlink(missing_ok=True)
