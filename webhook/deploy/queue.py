"""Ask for a deploy or rollback: one 'queued' record in the history, picked up by the runner."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

from webhook.deploy.history import History, new_id

__all__ = ["new_id", "request", "require_room"]
# The state database reuses its WAL's space, so it can still record a request on a full disk; a deploy could not
# run there (git needs room), so a request is refused (507) with less than this free in the deploy folder.
MIN_FREE = 64 << 10


def require_room(folder: Path) -> None:
    """OSError(ENOSPC) when the deploy folder's file system is (nearly) full."""
    stat = os.statvfs(folder)
    if stat.f_bavail * stat.f_frsize < MIN_FREE:
        raise OSError(errno.ENOSPC, f"less than {MIN_FREE} bytes free in {folder}")


def request(history: History, commit: str, source: str, kind: str = "deploy", **fields) -> dict:
    """Queue work and return its record (with the id the caller hands back to the client)."""
    record = {"id": new_id(), "kind": kind, "commit": commit, "source": source, "state": "queued",
              "requested_at": round(time.time(), 3), **{k: v for k, v in fields.items() if v is not None}}
    return history.append(record)
