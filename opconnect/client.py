"""The one Connect client: requests with retries, the vault lookup, the title filter and a short item cache."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import httpx
from onepasswordconnectsdk.client import Client, new_client
from onepasswordconnectsdk.config import ClientConfig
from onepasswordconnectsdk.models import Item
from onepasswordconnectsdk.utils import PathBuilder, is_valid_uuid

from opconnect.errors import ConnectError, DuplicateItemError, SecretNotFoundError
from opconnect.settings import ConnectSettings

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def _describe(response: httpx.Response) -> str:
    """Connect's error message if the body is its JSON shape, else the start of the raw body."""
    try:
        return str(response.json().get("message"))
    except (ValueError, AttributeError):
        return f"non-JSON body {response.text[:80]!r}"


class Connect:
    """One client per process and settings: the token stays inside, errors name the URL, vault and item."""

    def __init__(self, settings: ConnectSettings):
        self.settings = settings
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Item]] = {}
        self._vault_id: str | None = settings.vault if is_valid_uuid(settings.vault) else None
        self._client: Client | None = None
        self._pid = 0

    @property
    def client(self) -> Client:
        # A forked worker must not share the parent's connection pool.
        if self._client is None or self._pid != os.getpid():
            config = ClientConfig(timeout=httpx.Timeout(self.settings.timeout))
            self._client = new_client(self.settings.url, self.settings.token, config=config)
            self._pid = os.getpid()
        return self._client

    def request(self, method: str, path: str, what: str, **kwargs) -> httpx.Response:
        """Send one request, retrying only network failures, 429 and 5xx, with exponential backoff."""
        settings, problem = self.settings, ""
        for attempt in range(1, settings.attempts + 1):
            try:
                response = self.client.session.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc or 'no answer'}"
            else:
                if response.status_code < 400:
                    return response
                problem = f"HTTP {response.status_code}: {_describe(response)}"
                if response.status_code not in TRANSIENT_STATUSES:
                    raise ConnectError(f"1Password Connect at {settings.url} refused {what} ({problem})")
            if attempt < settings.attempts:
                log.warning("1Password Connect at %s: %s failed (%s); retry %d of %d",
                            settings.url, what, problem, attempt, settings.attempts - 1)
                time.sleep(settings.backoff * 2 ** (attempt - 1))
        raise ConnectError(f"1Password Connect at {settings.url} did not answer {what} after "
                           f"{settings.attempts} attempt(s) (last: {problem})")

    @property
    def where(self) -> str:
        return f"vault {self.settings.vault!r}"

    def vault_id(self) -> str:
        """The vault's id: as configured, or looked up once by name."""
        if self._vault_id is None:
            name = self.settings.vault
            vaults = self.request("GET", PathBuilder().vaults().build(), f"the lookup of {self.where}",
                                  params={"filter": f'name eq "{name}"'}).json()
            if len(vaults) != 1:
                raise SecretNotFoundError(f"found {len(vaults)} vaults named {name!r} at {self.settings.url}; "
                                          "use the vault id instead")
            self._vault_id = vaults[0]["id"]
        return self._vault_id

    def item(self, title: str, fresh: bool = False) -> Item:
        """The one item with this title, from the cache while it is younger than cache_ttl."""
        vault_id, now = self.vault_id(), time.monotonic()
        with self._lock:
            cached = self._cache.get(title)
        if cached and not fresh and cached[0] > now:
            return cached[1]
        summaries = self.request("GET", PathBuilder().vaults(vault_id).items().build(),
                                 f"the search for item {title!r} in {self.where}",
                                 params={"filter": f'title eq "{title}"'}).json()
        if not summaries:
            raise SecretNotFoundError(f"no item titled {title!r} in {self.where}")
        if len(summaries) > 1:
            raise DuplicateItemError(f"{len(summaries)} items are titled {title!r} in {self.where}; titles "
                                     "must be unique, so rename or archive the extra ones")
        path = PathBuilder().vaults(vault_id).items(summaries[0]["id"]).build()
        response = self.request("GET", path, f"the read of item {title!r} in {self.where}")
        item = self.client.deserialize(response.content, "Item")
        with self._lock:
            self._cache[title] = (now + self.settings.cache_ttl, item)
        return item

    def replace_value(self, item: Item, field_id: str, value: str) -> None:
        """Replace one field's value with a JSON Patch, and forget the cached item."""
        path = PathBuilder().vaults(self.vault_id()).items(item.id).build()
        patch = [{"op": "replace", "path": f"/fields/{field_id}/value", "value": value}]
        self.request("PATCH", path, f"the update of item {item.title!r} in {self.where}", content=json.dumps(patch))
        with self._lock:
            self._cache.pop(item.title, None)


_instances: dict[ConnectSettings, Connect] = {}
_instances_lock = threading.Lock()


def connect(settings: ConnectSettings) -> Connect:
    """The process's client for these settings (so its cache is shared by every caller)."""
    with _instances_lock:
        return _instances.setdefault(settings, Connect(settings))


def clear_cache() -> None:
    """Forget every cached item and client (tests, or after a secret was rotated elsewhere)."""
    with _instances_lock:
        _instances.clear()
