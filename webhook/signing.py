"""The per-request value of X-Webhook-Key (scheme v2). Standard library only: the Action's script imports it.

The long-lived key never travels. Each request carries HMAC-SHA256(key, scheme, endpoint, target, delivery
id, timestamp): whoever reads one request off the relay's channel can neither replay it (the delivery id is
single-use, the timestamp expires), nor point it at another endpoint or target, nor sign a new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SCHEME = "v2"
ENDPOINTS = ("deploy", "rollback", "status")
DIGEST_CHARACTERS = 43  # unpadded base64url of the 32-byte HMAC-SHA256


def request_key(key: str, endpoint: str, target: str, delivery_id: str, timestamp: int | str) -> str:
    """The X-Webhook-Key value for one request to `endpoint` about `target` (a commit, a rollback target, or
    the deploy id whose full status is read)."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}")
    message = "\n".join((SCHEME, endpoint, target, delivery_id, str(timestamp))).encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return f"{SCHEME}," + base64.urlsafe_b64encode(digest).decode().rstrip("=")
