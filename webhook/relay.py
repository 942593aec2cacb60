"""Remember the last request the smee relay forwarded, so the status page can show the relay is alive."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from webhook.settings import Settings

log = logging.getLogger(__name__)
FILE = "relay.json"


def record(cfg: Settings, headers, outcome: str) -> None:
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
    path = Path(cfg.deploy_dir) / FILE
    # Unique per thread: several workers and threads record at once; the last rename wins.
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError as exc:
        # Liveness bookkeeping must never turn an accepted deploy into an error.
        log.warning("event=relay_record_failed error=%s", exc)


def last_event(cfg: Settings) -> dict | None:
    """The last relayed request with its age in seconds, or None if none arrived yet."""
    try:
        data = json.loads((Path(cfg.deploy_dir) / FILE).read_text())
    except (OSError, ValueError):
        return None
    data["age_seconds"] = round(time.time() - data.get("received_at", 0), 1)
    return data
