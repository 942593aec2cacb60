"""Remember the last request the smee relay forwarded, so the status page can show the relay is alive."""

from __future__ import annotations

import logging
import time

from webhook.deploy.state import Database

log = logging.getLogger(__name__)


def record(db: Database, headers, outcome: str) -> None:
    """Store when the last relayed request arrived and how it ended; never its headers' secrets."""
    # smee-client adds a `timestamp` header (ms since epoch, set by smee.io when it received the POST).
    sent = headers.get("timestamp", "")
    data = {
        "received_at": round(time.time(), 3),
        # isdigit() alone accepts digits like "¹" that int() refuses.
        "relay_timestamp": int(sent) / 1000 if sent.isascii() and sent.isdigit() and len(sent) < 16 else None,
        "via_relay": bool(sent),
        "outcome": outcome,
    }
    try:
        db.set_fact("relay", data)
    except Exception as exc:
        # Liveness bookkeeping must never turn an accepted deploy into an error.
        log.warning("event=relay_record_failed error=%s", exc)


def last_event(db: Database) -> dict | None:
    """The last relayed request with its age in seconds, or None if none arrived yet."""
    data = db.fact("relay")
    if not isinstance(data, dict):
        return None
    data["age_seconds"] = round(time.time() - data.get("received_at", 0), 1)
    return data
