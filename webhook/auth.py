"""Request authentication: X-Webhook-Key carries a value derived per request (webhook/signing.py, scheme v2).

The value binds the endpoint, the target (commit or rollback target), the delivery id and the timestamp, so
the long-lived key never travels and a captured request is worthless. The target is a value from the body,
not its bytes, because smee-client re-serialises the JSON body.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from dataclasses import dataclass

from flask import Flask, abort, current_app, g, request

from webhook import settings
from webhook.keys import KeySource, KeyUnavailable
from webhook.replay import DeliveryStore
from webhook.signing import DIGEST_CHARACTERS, SCHEME, request_key

log = logging.getLogger(__name__)

KEY_HEADER = "X-Webhook-Key"
ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
DELIVERY_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
VALUE_RE = re.compile(rf"^{SCHEME},[A-Za-z0-9_-]{{{DIGEST_CHARACTERS}}}$")


def signed_headers(key: str, endpoint: str, target: str, delivery_id: str, timestamp: int | str) -> dict:
    """The three headers of an authentic request (what the Action's script sends)."""
    return {KEY_HEADER: request_key(key, endpoint, target, delivery_id, timestamp), ID_HEADER: delivery_id,
            TIMESTAMP_HEADER: str(timestamp)}


# What /metrics (public through HAProxy) may say about a refusal: credentials missing or malformed, or well
# formed but refused. Which check refused them (stale time, wrong value, replayed id) goes to the log only:
# counted in public, it would tell a forger which part of a made-up request had passed.
MALFORMED = frozenset({"missing_key", "bad_key_format", "missing_delivery", "bad_delivery_id", "bad_timestamp"})


def public_reason(reason: str) -> str:
    """The coarse reason /metrics shows for a logged one: "bad_request" or "unauthorized"."""
    return "bad_request" if reason in MALFORMED else "unauthorized"


@dataclass(frozen=True)
class Failure:
    """Why a request was refused: a status for the client, a reason for the log only."""

    status: int
    reason: str


def format_failure(given: str | None) -> Failure | None:
    """The cheap first gate, before the body is read: a v2 value of the right shape is present."""
    if not given:
        return Failure(401, "missing_key")
    if not VALUE_RE.match(given):
        # e.g. the long-lived key itself (scheme v1 sent it as is): refused, never compared
        return Failure(403, "bad_key_format")
    return None


def precheck(headers, tolerance: int, now: float | None = None) -> Failure | None:
    """Everything but the key: the value's shape, the delivery id, the timestamp window. Cheap, no 1Password."""
    failure = format_failure(headers.get(KEY_HEADER))
    if failure:
        return failure
    delivery_id = headers.get(ID_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not (delivery_id and timestamp):
        return Failure(401, "missing_delivery")
    if not DELIVERY_ID_RE.match(delivery_id):
        return Failure(403, "bad_delivery_id")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return Failure(403, "bad_timestamp")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return Failure(403, "stale_timestamp")
    return None


def check(headers, endpoint: str, target: str, keys: list[str], tolerance: int, now: float | None = None
          ) -> Failure | None:
    """None when the request value matches one of `keys` (two during a rotation). Replays are checked apart."""
    failure = precheck(headers, tolerance, now)
    if failure:
        return failure
    given, delivery_id, timestamp = (headers[name] for name in (KEY_HEADER, ID_HEADER, TIMESTAMP_HEADER))
    matches = [hmac.compare_digest(given.encode(), request_key(key, endpoint, target, delivery_id,
                                                                timestamp).encode()) for key in keys]
    return None if any(matches) else Failure(403, "bad_key")


def refuse(failure: Failure) -> None:
    """Log the reason with the request id, count it, and answer with a generic body."""
    log.warning("event=auth_failed rid=%s reason=%s status=%d path=%s",
                g.get("request_id"), failure.reason, failure.status, request.path)
    try:
        current_app.extensions["deliveries"].count_failure(failure.reason)
    except Exception:  # counting is best effort; the refusal itself must not fail
        log.exception("event=auth_failure_count_failed")
    abort(failure.status, "unauthorized" if failure.status == 401 else "forbidden")


def keys_or_503() -> list[str]:
    source: KeySource = current_app.extensions["keys"]
    try:
        return source.candidates()
    except KeyUnavailable:
        log.error("event=key_unavailable rid=%s", g.get("request_id"))
        abort(503, "authentication unavailable")


def require_key_format() -> None:
    """First gate, before the body is read: refuse a missing or malformed X-Webhook-Key."""
    failure = format_failure(request.headers.get(KEY_HEADER))
    if failure:
        refuse(failure)


def authenticate(endpoint: str, target: str) -> str:
    """Second gate: the value for (endpoint, target, id, timestamp) and a first-seen delivery id. Returns the id."""
    cfg = settings.get(current_app)
    # The key (perhaps a 1Password read) only for requests that are otherwise acceptable.
    failure = precheck(request.headers, cfg.signature_tolerance)
    if failure:
        refuse(failure)
    failure = check(request.headers, endpoint, target, keys_or_503(), cfg.signature_tolerance)
    if failure and failure.reason == "bad_key":
        # Perhaps the key was rotated in 1Password: re-read once (rate limited) and retry.
        fresh = current_app.extensions["keys"].refresh_after_failure()
        if fresh:
            failure = check(request.headers, endpoint, target, fresh, cfg.signature_tolerance)
    if failure:
        refuse(failure)
    delivery_id = request.headers[ID_HEADER]
    if not current_app.extensions["deliveries"].first_time(delivery_id):
        refuse(Failure(403, "replayed_delivery"))
    return delivery_id


def init_app(app: Flask) -> None:
    cfg = settings.get(app)
    app.extensions["keys"] = KeySource(cfg)
    app.extensions["deliveries"] = DeliveryStore(app.extensions["state"])
