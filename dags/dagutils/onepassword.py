"""Read secrets from 1Password Connect, for DAG tasks and the deploy webhook.

Call these only inside tasks or request handlers, never at DAG parse time. Never return a secret from a
task: return values go to XCom, which is stored in the metadata database and shown in the UI.
Every value handed out is registered with Airflow's secrets masker, so task logs show *** instead.

Settings come from the environment: OP_CONNECT (or OP_CONNECT_HOST), OP_API_TOKEN (or OP_CONNECT_TOKEN),
OP_VAULT_ID (id or name; or OP_VAULT) and optionally OP_CONNECT_CLIENT_REQ_TIMEOUT (seconds).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from onepasswordconnectsdk.client import Client, new_client
from onepasswordconnectsdk.config import ClientConfig
from onepasswordconnectsdk.models import Item
from onepasswordconnectsdk.utils import PathBuilder, is_valid_uuid

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
SPEC_KEYS = frozenset({"opitem", "opfield"})


class OnePasswordError(RuntimeError):
    """Base class: anything that stops a secret from being read."""


class OnePasswordConfigError(OnePasswordError):
    """The OP_* environment is missing or wrong."""


class SecretSpecError(OnePasswordError, ValueError):
    """A secret spec (item/field description) is malformed."""


class SecretNotFoundError(OnePasswordError, LookupError):
    """The item or field does not exist in the vault."""


class DuplicateItemError(OnePasswordError):
    """More than one item in the vault has the requested title."""


class ConnectError(OnePasswordError):
    """Connect refused the request, failed, or could not be reached."""


@dataclass(frozen=True)
class Settings:
    """Where Connect is and how patiently to talk to it."""

    url: str
    token: str = field(repr=False)
    vault: str
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5
    cache_ttl: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from OP_* variables, naming every missing one."""
        env = os.environ if environ is None else environ
        url = env.get("OP_CONNECT") or env.get("OP_CONNECT_HOST") or ""
        token = env.get("OP_API_TOKEN") or env.get("OP_CONNECT_TOKEN") or ""
        vault = env.get("OP_VAULT_ID") or env.get("OP_VAULT") or ""
        missing = [name for name, value in
                   (("OP_CONNECT", url), ("OP_API_TOKEN", token), ("OP_VAULT_ID", vault)) if not value]
        if missing:
            raise OnePasswordConfigError(f"1Password Connect is not configured: set {', '.join(missing)}")
        if not url.startswith(("http://", "https://")):
            raise OnePasswordConfigError(f"OP_CONNECT must be an http(s) URL, got {url!r}")
        raw_timeout = env.get("OP_CONNECT_CLIENT_REQ_TIMEOUT", "")
        timeout = float(raw_timeout) if raw_timeout.replace(".", "", 1).isdigit() else cls.timeout
        return cls(url=url.rstrip("/"), token=token, vault=vault, timeout=timeout)


def _mask(value: str) -> str:
    """Register a value with Airflow's secrets masker (task and supervisor), where Airflow is present."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # the webhook may run without the task SDK; it never logs secret values
        return value
    mask_secret(value)
    return value


def _describe(response: httpx.Response) -> str:
    """Connect's error message if the body is its JSON shape, else the start of the raw body."""
    try:
        return str(response.json().get("message"))
    except (ValueError, AttributeError):
        return f"non-JSON body {response.text[:80]!r}"


class _Connect:
    """One Connect client per process and settings, with retries and a short item cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, Item]] = {}
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
        raise ConnectError(
            f"1Password Connect at {settings.url} did not answer {what} after {settings.attempts} attempts "
            f"(last: {problem})"
        )

    def vault_id(self) -> str:
        if self._vault_id is None:
            name = self.settings.vault
            vaults = self.request("GET", PathBuilder().vaults().build(), f"the lookup of vault {name!r}",
                                  params={"filter": f'name eq "{name}"'}).json()
            if len(vaults) != 1:
                raise SecretNotFoundError(f"found {len(vaults)} vaults named {name!r} (OP_VAULT_ID) at "
                                          f"{self.settings.url}; use the vault id instead")
            self._vault_id = vaults[0]["id"]
        return self._vault_id

    def item(self, title: str, fresh: bool = False) -> Item:
        """Fetch the one item with this title, from the cache when it is younger than cache_ttl."""
        vault_id, now = self.vault_id(), time.monotonic()
        with self._lock:
            cached = self._cache.get((vault_id, title))
        if cached and not fresh and cached[0] > now:
            return cached[1]
        where = f"vault {self.settings.vault!r}"
        summaries = self.request("GET", PathBuilder().vaults(vault_id).items().build(),
                                 f"the search for item {title!r} in {where}",
                                 params={"filter": f'title eq "{title}"'}).json()
        if not summaries:
            raise SecretNotFoundError(f"no item titled {title!r} in {where}")
        if len(summaries) > 1:
            raise DuplicateItemError(f"{len(summaries)} items are titled {title!r} in {where}; titles "
                                     "must be unique, so rename or archive the extra ones")
        path = PathBuilder().vaults(vault_id).items(summaries[0]["id"]).build()
        response = self.request("GET", path, f"the read of item {title!r} in {where}")
        item = self.client.deserialize(response.content, "Item")
        with self._lock:
            self._cache[(vault_id, title)] = (now + self.settings.cache_ttl, item)
        return item

    def forget(self, title: str) -> None:
        with self._lock:
            self._cache.pop((self.vault_id(), title), None)


_instances: dict[Settings, _Connect] = {}
_instances_lock = threading.Lock()


def _connect(settings: Settings | None) -> _Connect:
    settings = settings or Settings.from_env()
    with _instances_lock:
        return _instances.setdefault(settings, _Connect(settings))


def clear_cache() -> None:
    """Forget cached items and clients (tests, or after a secret was rotated elsewhere)."""
    with _instances_lock:
        _instances.clear()


def _split_field(spec: str) -> tuple[str, str]:
    """'section.field' -> (section, field); '.field' or 'field' -> ('', field). Field labels may hold dots."""
    section, dot, label = spec.partition(".")
    return (section, label) if dot else ("", section)


def _find_field(item: Item, field_spec: str, vault: str):
    section_label, label = _split_field(field_spec)
    sections = {s.id: s.label for s in item.sections or []}
    candidates = [f for f in item.fields or [] if f.label == label]
    for candidate in candidates:
        section = sections.get(candidate.section.id) if candidate.section else ""
        if section == section_label:
            return candidate
    place = f"in section {section_label!r}" if section_label else "outside any section"
    elsewhere = sorted({sections.get(c.section.id, "?") if c.section else "(none)" for c in candidates})
    hint = f"; a field with that label exists in section(s) {', '.join(elsewhere)}" if elsewhere else ""
    raise SecretNotFoundError(f"item {item.title!r} in vault {vault!r} has no field {label!r} {place}{hint}")


def _check_spec(name: str, spec: object) -> tuple[str, str]:
    """Validate one load_dict entry and return (item title, field spec)."""
    if not isinstance(spec, Mapping):
        raise SecretSpecError(f"secret {name!r}: spec must be a dict with opitem and opfield, "
                              f"got {type(spec).__name__}")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise SecretSpecError(f"secret {name!r}: unknown key(s) {', '.join(unknown)}; only opitem and "
                              "opfield are allowed (the vault comes from OP_VAULT_ID)")
    for key in sorted(SPEC_KEYS):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise SecretSpecError(f"secret {name!r}: {key} must be a non-empty string")
    _check_title(name, spec["opitem"])
    _check_field(name, spec["opfield"])
    return spec["opitem"], spec["opfield"]


def _check_title(name: str, title: object) -> None:
    if not isinstance(title, str) or not title.strip():
        raise SecretSpecError(f"secret {name!r}: item title must be a non-empty string, got {title!r}")
    if '"' in title:
        raise SecretSpecError(f"secret {name!r}: item title {title!r} contains a double quote, "
                              "which Connect's title filter cannot express")


def _check_field(name: str, field_spec: object) -> None:
    if not isinstance(field_spec, str) or not _split_field(field_spec)[1]:
        raise SecretSpecError(f"secret {name!r}: field {field_spec!r} has no field label; "
                              "use '<section>.<field>' or '.<field>'")


def load_dict(required_secrets: Mapping[str, Mapping[str, str]], *, settings: Settings | None = None
              ) -> dict[str, str]:
    """Return {NAME: value} for {NAME: {"opitem": title, "opfield": "section.field" or ".field"}}."""
    if not isinstance(required_secrets, Mapping):
        raise SecretSpecError(f"required_secrets must be a dict, got {type(required_secrets).__name__}")
    specs = {name: _check_spec(name, spec) for name, spec in required_secrets.items()}
    connect = _connect(settings)
    values = {}
    for name, (title, field_spec) in specs.items():
        found = _find_field(connect.item(title), field_spec, connect.settings.vault)
        values[name] = _mask(found.value or "")
    return values


def get_secret(item: str, field: str, *, settings: Settings | None = None) -> str:
    """Return one field's value; field is '<section>.<field>', '.<field>' or '<field>' (no section)."""
    name = f"{item}/{field}" if isinstance(item, str) and isinstance(field, str) else "get_secret"
    return load_dict({name: {"opitem": item, "opfield": field}}, settings=settings)[name]


def get_item_by_title(title: str, *, settings: Settings | None = None) -> Item:
    """Return the whole item (SDK model); concealed field values are registered with the masker."""
    _check_title("item", title)
    item = _connect(settings).item(title)
    for found in item.fields or []:
        if found.value and (found.type == "CONCEALED" or found.purpose == "PASSWORD"):
            _mask(found.value)
    return item


def set_secret(item: str, field: str, value: str, *, settings: Settings | None = None) -> None:
    """Replace one existing field's value (e.g. rolling the webhook key) with a JSON Patch."""
    _check_title("secret", item)
    _check_field("secret", field)
    connect = _connect(settings)
    current = connect.item(item, fresh=True)
    target = _find_field(current, field, connect.settings.vault)
    patch = [{"op": "replace", "path": f"/fields/{target.id}/value", "value": _mask(value)}]
    path = PathBuilder().vaults(connect.vault_id()).items(current.id).build()
    connect.request("PATCH", path, f"the update of item {item!r}", content=json.dumps(patch))
    connect.forget(item)
