"""Append-only deploy history: one JSON snapshot per line, the last line of an id is its state."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
RESULTS = ("succeeded", "failed", "rejected", "rolled_back", "superseded", "skipped", "interrupted")


def new_id() -> str:
    """A sortable, unguessable deploy id such as 20261121T194501-3fa9c2."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


class History:
    """A JSON-lines file shared by every gunicorn worker and the rollback CLI."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, record: dict) -> dict:
        """Write one snapshot durably (fsync) and return it with its timestamp."""
        record = {**record, "ts": round(time.time(), 3)}
        line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            # A crash mid-write leaves a line without its newline; end it so the next record stays readable.
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        return record

    def records(self) -> list[dict]:
        """Every readable snapshot in file order; torn lines are skipped with a log line."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                log.warning("event=history_torn_line path=%s line=%d", self.path, number)
        return out

    def deploys(self) -> dict[str, dict]:
        """Latest snapshot of each deploy id, in order of first appearance."""
        latest: dict[str, dict] = {}
        for record in self.records():
            if "id" in record:
                latest[record["id"]] = {**latest.get(record["id"], {}), **record}
        return latest

    def get(self, deploy_id: str) -> dict | None:
        return self.deploys().get(deploy_id)

    def recent(self, limit: int = 20) -> list[dict]:
        """The newest deploys first."""
        return list(reversed(list(self.deploys().values())))[:limit]

    def active(self) -> list[dict]:
        """Deploys still queued or running, oldest first."""
        return [d for d in self.deploys().values() if d.get("state") in ACTIVE]

    def stamp(self) -> tuple[int, int]:
        """Size and mtime: a cheap way for the runner to notice new records."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (st.st_size, st.st_mtime_ns)
