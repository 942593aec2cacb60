"""Ask for a deploy or rollback: one 'queued' line in the history, picked up by the runner."""

from __future__ import annotations

import time

from webhook.deploy.history import History, new_id

__all__ = ["new_id", "request"]


def request(history: History, commit: str, source: str, kind: str = "deploy", **fields) -> dict:
    """Queue work and return its record (with the id the caller hands back to the client)."""
    record = {"id": new_id(), "kind": kind, "commit": commit, "source": source, "state": "queued",
              "requested_at": round(time.time(), 3), **{k: v for k, v in fields.items() if v is not None}}
    return history.append(record)
