"""Read 1Password items by title for the secrets backend: cached, never raising."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

import httpx
from onepasswordconnectsdk.client import Client, new_client
from onepasswordconnectsdk.config import ClientConfig
from onepasswordconnectsdk.utils import PathBuilder, is_valid_uuid

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderSettings:
    """Connect address and the backend's patience; the token only ever comes from the environment."""

    url: str
    token: str = field(repr=False)
    vault: str
    timeout: float = 3.0
    cache_ttl: float = 300.0
    miss_ttl: float = 60.0
    pause_after_failure: float = 30.0

    @classmethod
    def from_env(cls, vault: str | None = None, **tuning: float) -> ReaderSettings | None:
        """Return settings from OP_* variables, or None when Connect is not configured here."""
        url = os.environ.get("OP_CONNECT") or os.environ.get("OP_CONNECT_HOST") or ""
        token = os.environ.get("OP_API_TOKEN") or os.environ.get("OP_CONNECT_TOKEN") or ""
        vault = vault or os.environ.get("OP_VAULT_ID") or os.environ.get("OP_VAULT") or ""
        if not (url and token and vault):
            return None
        return cls(url=url.rstrip("/"), token=token, vault=vault, **tuning)


class _Unavailable(Exception):
    """Connect could not answer; the reader pauses instead of asking again at once."""


class ItemReader:
    """Return the section-less fields of an item as {label: value}, or None if it is absent or unreachable."""

    def __init__(self, settings: ReaderSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict[str, str] | None]] = {}
        self._vault_id = settings.vault if is_valid_uuid(settings.vault) else None
        self._paused_until = 0.0
        self._client: Client | None = None
        self._pid = 0

    def _session(self) -> httpx.Client:
        # A forked process must not share its parent's connection pool.
        if self._client is None or self._pid != os.getpid():
            config = ClientConfig(timeout=httpx.Timeout(self.settings.timeout))
            self._client = new_client(self.settings.url, self.settings.token, config=config)
            self._pid = os.getpid()
        return self._client.session

    def _get(self, path: str, **kwargs) -> httpx.Response:
        try:
            response = self._session().get(path, **kwargs)
        except httpx.TransportError as exc:
            raise _Unavailable(f"{type(exc).__name__}: {exc or 'no answer'}") from None
        if response.status_code >= 400:
            raise _Unavailable(f"HTTP {response.status_code} for {path}")
        return response

    def _vault(self) -> str | None:
        if self._vault_id is None:
            name = self.settings.vault
            vaults = self._get(PathBuilder().vaults().build(), params={"filter": f'name eq "{name}"'}).json()
            if len(vaults) != 1:
                raise _Unavailable(f"found {len(vaults)} vaults named {name!r}")
            self._vault_id = vaults[0]["id"]
        return self._vault_id

    def _fetch(self, title: str) -> dict[str, str] | None:
        vault_id = self._vault()
        items_path = PathBuilder().vaults(vault_id).items().build()
        summaries = self._get(items_path, params={"filter": f'title eq "{title}"'}).json()
        if len(summaries) > 1:
            log.warning("1Password: %d items are titled %r in vault %r; ignoring them until only one is left",
                        len(summaries), title, self.settings.vault)
        if len(summaries) != 1:
            return None
        item = self._get(PathBuilder().vaults(vault_id).items(summaries[0]["id"]).build()).json()
        return {f["label"]: f.get("value") or "" for f in item.get("fields", []) if not f.get("section")}

    def fields(self, title: str) -> dict[str, str] | None:
        """Look the item up, answering from the cache or None while Connect is paused after a failure."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(title)
            if cached and cached[0] > now:
                return cached[1]
            if now < self._paused_until:
                return None
        if '"' in title:
            return None
        try:
            found = self._fetch(title)
        except (_Unavailable, ValueError) as exc:
            with self._lock:
                self._paused_until = now + self.settings.pause_after_failure
            log.warning("1Password Connect at %s unavailable (%s); secrets backend answers None for %.0f s",
                        self.settings.url, exc, self.settings.pause_after_failure)
            return None
        ttl = self.settings.cache_ttl if found is not None else self.settings.miss_ttl
        with self._lock:
            self._cache[title] = (now + ttl, found)
        return found
