"""In-memory vaults and items for the fake 1Password Connect server, in the Connect API's JSON shapes."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

LOADED_AT = "2024-01-01T00:00:00Z"
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:-([^}]*))?\}")
_FILTER = re.compile(r'^\s*(title|name|tag)\s+eq\s+"(.*)"\s*$')


class StoreError(Exception):
    """A request the real Connect API would refuse; carries its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def make_id(*parts: str) -> str:
    """Return a stable 26-character [a-z2-7] id, the shape Connect uses for vaults and items."""
    digest = hashlib.sha1("\x00".join(parts).encode()).digest()
    return base64.b32encode(digest).decode().lower()[:26]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expand(value: str, where: str) -> str:
    """Replace ${NAME} (or ${NAME-default}) with the environment variable NAME, so one file serves any local
    port and any generated password."""

    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name not in os.environ and match.group(2) is not None:
            return match.group(2)  # ${NAME-default}
        if name not in os.environ:
            raise ValueError(f"{where} uses ${{{name}}} but the environment variable {name} is not set")
        return os.environ[name]

    return _PLACEHOLDER.sub(lookup, value)


def _full_item(vault_id: str, spec: dict, index: int) -> dict:
    """Turn one item of the friendly file format into a Connect FullItem."""
    title = spec.get("title")
    if not isinstance(title, str) or not title:
        raise ValueError(f"item #{index} in vault {vault_id} has no title")
    sections: dict[str, dict] = {}
    fields = []
    for number, field in enumerate(spec.get("fields", [])):
        label = field.get("label")
        if not isinstance(label, str) or not label:
            raise ValueError(f"field #{number} of item {title!r} has no label")
        value = _expand(str(field.get("value", "")), f"field {label!r} of item {title!r}")
        built = {
            "id": field.get("id") or f"field{number}",
            "type": field.get("type", "STRING"),
            "label": label,
            "value": value,
        }
        if field.get("purpose"):
            built["purpose"] = field["purpose"]
        if field.get("section"):
            section_label = field["section"]
            section_id = "section_" + make_id(title, section_label)[:8]
            sections.setdefault(section_label, {"id": section_id, "label": section_label})
            built["section"] = {"id": section_id}
        fields.append(built)
    return {
        "id": spec.get("id") or make_id(vault_id, title, str(index)),
        "title": title,
        "version": 1,
        "vault": {"id": vault_id},
        "category": spec.get("category", "LOGIN"),
        "tags": list(spec.get("tags", [])),
        "createdAt": LOADED_AT,
        "updatedAt": LOADED_AT,
        "sections": list(sections.values()),
        "fields": fields,
    }


def _matches(entry: dict, query: str | None, attribute: str) -> bool:
    if query is None:
        return True
    match = _FILTER.match(query)
    if not match:
        raise StoreError(400, f"Invalid filter query: {query}")
    key, wanted = match.groups()
    if key == "tag":
        return wanted in entry.get("tags", [])
    if key != attribute:
        raise StoreError(400, f"Invalid filter query: {query}")
    return entry.get(attribute) == wanted


class Store:
    """Vaults and their items, safe to use from the server's threads."""

    def __init__(self, document: dict):
        self._lock = threading.Lock()
        self._vaults: dict[str, dict] = {}
        self._items: dict[str, dict[str, dict]] = {}
        for vault in document.get("vaults", []):
            vault_id = vault.get("id") or make_id(vault["name"])
            self._vaults[vault_id] = {"id": vault_id, "name": vault["name"]}
            items = [_full_item(vault_id, spec, i) for i, spec in enumerate(vault.get("items", []))]
            self._items[vault_id] = {item["id"]: item for item in items}

    @classmethod
    def from_file(cls, path: str | Path) -> Store:
        """Load the friendly items file (see devtools/onepassword-items.example.json)."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def _vault_json(self, vault_id: str) -> dict:
        vault = self._vaults[vault_id]
        return {
            **vault,
            "type": "USER_CREATED",
            "attributeVersion": 1,
            "contentVersion": 1,
            "items": len(self._items[vault_id]),
            "createdAt": LOADED_AT,
            "updatedAt": LOADED_AT,
        }

    def _vault_items(self, vault_id: str) -> dict[str, dict]:
        if vault_id not in self._vaults:
            raise StoreError(403, "Authorization: token does not have access to vault")
        return self._items[vault_id]

    def _item(self, vault_id: str, item_id: str) -> dict:
        item = self._vault_items(vault_id).get(item_id)
        if item is None:
            raise StoreError(404, "item not found")
        return item

    def list_vaults(self, query: str | None = None) -> list[dict]:
        with self._lock:
            return [self._vault_json(v) for v in self._vaults if _matches(self._vaults[v], query, "name")]

    def get_vault(self, vault_id: str) -> dict:
        with self._lock:
            self._vault_items(vault_id)
            return self._vault_json(vault_id)

    def list_items(self, vault_id: str, query: str | None = None) -> list[dict]:
        with self._lock:
            items = self._vault_items(vault_id).values()
            return [
                {k: v for k, v in item.items() if k not in ("sections", "fields")}
                for item in items
                if _matches(item, query, "title")
            ]

    def get_item(self, vault_id: str, item_id: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._item(vault_id, item_id))

    def replace_item(self, vault_id: str, item_id: str, body: dict) -> dict:
        """PUT: the body is the whole new item; id and vault must agree with the path."""
        with self._lock:
            old = self._item(vault_id, item_id)
            if body.get("id", item_id) != item_id:
                raise StoreError(400, "item id in the body does not match the path")
            new = {**copy.deepcopy(body), "id": item_id, "vault": {"id": vault_id}}
            new.update(version=old["version"] + 1, createdAt=old["createdAt"], updatedAt=_now())
            self._items[vault_id][item_id] = new
            return copy.deepcopy(new)

    def patch_item(self, vault_id: str, item_id: str, operations: list) -> dict:
        """PATCH: a JSON Patch list on /title, /fields, /fields/<id> and /fields/<id>/value."""
        with self._lock:
            item = copy.deepcopy(self._item(vault_id, item_id))
            if not isinstance(operations, list):
                raise StoreError(400, "the PATCH body must be a JSON Patch array")
            for operation in operations:
                _apply(item, operation)
            item.update(version=item["version"] + 1, updatedAt=_now())
            self._items[vault_id][item_id] = item
            return copy.deepcopy(item)


def _apply(item: dict, operation: dict) -> None:
    """Apply one JSON Patch operation the way Connect supports it for items."""
    op, path, value = operation.get("op"), operation.get("path", ""), operation.get("value")
    parts = path.strip("/").split("/")
    if parts == ["title"] and op in ("add", "replace"):
        item["title"] = value
        return
    if parts == ["fields"] and op == "add":
        item["fields"].append(value)
        return
    if len(parts) in (2, 3) and parts[0] == "fields":
        field = next((f for f in item["fields"] if f["id"] == parts[1]), None)
        if field is None:
            raise StoreError(404, f"field {parts[1]} not found")
        if len(parts) == 3 and parts[2] == "value" and op in ("add", "replace"):
            field["value"] = value
            return
        if len(parts) == 2 and op == "replace":
            field.clear()
            field.update(value, id=parts[1])
            return
        if len(parts) == 2 and op == "remove":
            item["fields"].remove(field)
            return
    raise StoreError(400, f"unsupported patch operation {op!r} on {path!r}")
