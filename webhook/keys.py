"""The webhook key: from 1Password (the infrastructure vault's webhook item, password field), or
WEBHOOK_KEY in development.

During a rotation the old key stays valid while it is in the item's "previous" field (WEBHOOK_PREVIOUS_KEY in
development), so the Action and the webhook need not change keys at the same moment.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time

from webhook import infra_vault
from webhook.settings import Settings

log = logging.getLogger(__name__)

ITEM = infra_vault.WEBHOOK_ITEM
FIELD = "password"
PREVIOUS_FIELD = "previous"
# After a failed check the key is re-read at most this often, so a rotated key is picked up at once
# while a flood of bad keys cannot turn into a flood of 1Password requests.
REFRESH_AFTER_FAILURE_SECONDS = 10.0
# With a rolling key, the worker that rolls it writes a new token here (in DEPLOY_DIR, shared by every
# worker); the others re-read 1Password when the token changes, and only then.
ROLLED_FILE = "key-rolled"


class KeyUnavailable(RuntimeError):
    """No key could be read (1Password down or not configured); the trigger answers 503."""


def onepassword_configured() -> bool:
    return infra_vault.configured()


class KeySource:
    """Reads the key once, caches it for `key_cache_seconds`, and can be told to re-read it."""

    def __init__(self, cfg: Settings):
        self.cfg = cfg
        self._lock = threading.Lock()
        self._value: str | None = None
        self._previous: str | None = None
        self._read_at = 0.0
        self._rolled_seen: str | None = None

    def configured(self) -> bool:
        return bool(self.cfg.webhook_key) or onepassword_configured()

    def _read(self) -> str:
        if self.cfg.webhook_key and not self.cfg.production:
            return self.cfg.webhook_key
        try:
            value = infra_vault.get_secret(ITEM, FIELD)
        except Exception as exc:  # any failure means "no key"; the reason goes to the log, not the client
            log.warning("event=key_unavailable source=1password error=%s", type(exc).__name__)
            raise KeyUnavailable("webhook key unavailable") from exc
        if not value or len(value) < 16:
            raise KeyUnavailable("webhook key in 1Password is empty or shorter than 16 characters")
        return value

    def _read_previous(self) -> str | None:
        """The key being rotated out, if one is still accepted (an absent field means none)."""
        if self.cfg.webhook_key and not self.cfg.production:
            return self.cfg.webhook_previous_key or None
        try:
            value = infra_vault.get_secret(ITEM, PREVIOUS_FIELD)
        except Exception:  # no such field: no rotation in progress
            return None
        return value if value and len(value) >= 16 else None

    def _forget_1password_cache(self) -> None:
        """The Connect client caches items too; a rotated key must bypass that cache."""
        if not self.cfg.webhook_key:
            infra_vault.clear_cache()

    def _rolled(self) -> str | None:
        """The token of the last roll by any worker (None before the first)."""
        try:
            return (self.cfg.deploy_dir / ROLLED_FILE).read_text()
        except FileNotFoundError:
            return None

    def _mark_rolled(self) -> str:
        token = secrets.token_hex(8)
        path = self.cfg.deploy_dir / ROLLED_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{ROLLED_FILE}.{token}")
        temporary.write_text(token)
        temporary.replace(path)  # atomic: other workers read the old token or the new one
        return token

    def roll(self) -> bool:
        """Write a fresh random key to 1Password (rolling key): a captured key is then worth nothing."""
        new = secrets.token_urlsafe(32)
        try:
            infra_vault.set_secret(ITEM, FIELD, new)
        except Exception as exc:  # the accepted request stands; the old key simply stays valid
            log.error("event=key_roll_failed error=%s", type(exc).__name__)
            return False
        with self._lock:
            self._value, self._read_at = new, time.monotonic()
            try:
                self._rolled_seen = self._mark_rolled()
            except OSError as exc:  # other workers then pick the new key up after a failed check
                log.error("event=key_roll_mark_failed error=%s", type(exc).__name__)
        log.info("event=key_rolled")
        return True

    def warm_up(self) -> None:
        """Read the key in the background at start-up, so the first request does not pay for imports."""
        def read() -> None:
            try:
                self.current()
            except KeyUnavailable:
                pass  # already logged; the first request will try again
        threading.Thread(target=read, name="key-warm-up", daemon=True).start()

    def current(self) -> str:
        with self._lock:
            # Another worker may have rolled the key a moment ago. Its mark says so without asking 1Password,
            # so requests that fail do not each cost a read (read the mark before the key: never miss a roll).
            rolled = self._rolled() if self.cfg.rolling_key else None
            if rolled != self._rolled_seen:
                self._forget_1password_cache()
                self._value = None
            if self._value is None or time.monotonic() - self._read_at > self.cfg.key_cache_seconds:
                self._value, self._previous = self._read(), self._read_previous()
                self._read_at = time.monotonic()
                self._rolled_seen = rolled
            return self._value

    def candidates(self) -> list[str]:
        """Every key a request may be signed with: the current one, and the previous one during a rotation."""
        current = self.current()
        with self._lock:
            return [current, *([self._previous] if self._previous and self._previous != current else [])]

    def refresh_after_failure(self) -> list[str] | None:
        """Re-read once the cached keys are older than the refresh floor; return them if they changed."""
        with self._lock:
            if time.monotonic() - self._read_at < REFRESH_AFTER_FAILURE_SECONDS:
                return None
            old = (self._value, self._previous)
            try:
                self._forget_1password_cache()
                self._value, self._previous = self._read(), self._read_previous()
            except KeyUnavailable:
                return None
            self._read_at = time.monotonic()
        return self.candidates() if (self._value, self._previous) != old else None
