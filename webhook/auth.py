"""Request authentication: X-Webhook-Key plus an HMAC over delivery id, timestamp and target commit.

The signature covers values, not body bytes, because smee-client re-serialises the JSON body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass

from flask import Flask, abort, current_app, g, request

from webhook import settings
from webhook.keys import KeySource, KeyUnavailable
from webhook.replay import DeliveryStore

log = logging.getLogger(__name__)

KEY_HEADER = "X-Webhook-Key"
ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
DELIVERY_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def sign(key: str, delivery_id: str, timestamp: int | str, target: str) -> str:
    """The Webhook-Signature value: "v1," + base64 HMAC-SHA256 of "id.timestamp.target"."""
    message = f"{delivery_id}.{timestamp}.{target}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Failure:
    """Why a request was refused: a status for the client, a reason for the log only."""

    status: int
    reason: str


def key_failure(given: str | None, key: str) -> Failure | None:
    """The static key gate, in constant time."""
    if not given:
        return Failure(401, "missing_key")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), key.encode()):
        return Failure(403, "bad_key")
    return None


def check(headers, target: str, key: str, tolerance: int, now: float | None = None) -> Failure | None:
    """Check the key and the signature; None when both are valid. Replays are checked separately."""
    failure = key_failure(headers.get(KEY_HEADER), key)
    if failure:
        return failure
    delivery_id = headers.get(ID_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signatures = headers.get(SIGNATURE_HEADER, "")
    if not (delivery_id and timestamp and signatures):
        return Failure(401, "missing_signature")
    if not DELIVERY_ID_RE.match(delivery_id):
        return Failure(403, "bad_delivery_id")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return Failure(403, "bad_timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return Failure(403, "stale_timestamp")
    expected = sign(key, delivery_id, timestamp, target).encode()
    # Several space-separated signatures are allowed (Standard Webhooks), e.g. during a key rotation.
    if not any(hmac.compare_digest(s.encode("utf-8", "replace"), expected) for s in signatures.split()):
        return Failure(403, "bad_signature")
    return None


def refuse(failure: Failure) -> None:
    """Log the reason with the request id, count it, and answer with a generic body."""
    log.warning("event=auth_failed rid=%s reason=%s status=%d path=%s",
                g.get("request_id"), failure.reason, failure.status, request.path)
    try:
        current_app.extensions["deliveries"].count_failure(failure.reason)
    except Exception:  # counting is best effort; the refusal itself must not fail
        log.exception("event=auth_failure_count_failed")
    abort(failure.status, "unauthorized" if failure.status == 401 else "forbidden")


def key_or_503() -> str:
    source: KeySource = current_app.extensions["keys"]
    try:
        return source.current()
    except KeyUnavailable:
        log.error("event=key_unavailable rid=%s", g.get("request_id"))
        abort(503, "authentication unavailable")


def require_key() -> str:
    """First gate, before the body is read: the static key must match."""
    key = key_or_503()
    failure = check_key_only(key)
    if failure and failure.reason == "bad_key":
        # Perhaps the key was rotated in 1Password: re-read once (rate limited) and retry.
        fresh = current_app.extensions["keys"].refresh_after_failure()
        if fresh:
            key, failure = fresh, check_key_only(fresh)
    if failure:
        refuse(failure)
    return key


def check_key_only(key: str) -> Failure | None:
    return key_failure(request.headers.get(KEY_HEADER), key)


def require_signature(key: str, target: str) -> str:
    """Second gate: signature over (id, timestamp, target) and a first-seen delivery id. Returns the id."""
    cfg = settings.get(current_app)
    failure = check(request.headers, target, key, cfg.signature_tolerance)
    if failure:
        refuse(failure)
    delivery_id = request.headers[ID_HEADER]
    if not current_app.extensions["deliveries"].first_time(delivery_id):
        refuse(Failure(403, "replayed_delivery"))
    return delivery_id


def init_app(app: Flask) -> None:
    cfg = settings.get(app)
    app.extensions["keys"] = KeySource(cfg)
    app.extensions["deliveries"] = DeliveryStore(cfg.deploy_dir / "deliveries.sqlite")
