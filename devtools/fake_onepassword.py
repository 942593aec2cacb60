"""A local fake 1Password Connect server: the real API's paths, JSON shapes and errors, from a JSON file.

Run: python -m devtools.fake_onepassword --items FILE --port N --token T[=VAULT,...] ...   (binds 127.0.0.1)

Like Connect, each token reaches only its vaults: `--token T=V1,V2` grants vaults V1 and V2, a bare `--token T`
every vault. Without --token: OP_API_TOKEN for OP_VAULT_ID and OP_INFRA_TOKEN for OP_INFRA_VAULT_ID.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from devtools.background import BackgroundServer, FakeHandler
from devtools.onepassword_store import Store, StoreError
from opconnect.settings import DagVault, InfraVault, variables

HEALTH = {
    "name": "1Password Connect API",
    "version": "1.8.1",
    "dependencies": [
        {"service": "sync", "status": "ACTIVE"},
        {"service": "sqlite", "status": "ACTIVE", "message": "Connected to ./1password.sqlite"},
    ],
}
_ROUTES = [
    (re.compile(r"^/v1/vaults$"), "vaults"),
    (re.compile(r"^/v1/vaults/([^/]+)$"), "vault"),
    (re.compile(r"^/v1/vaults/([^/]+)/items$"), "items"),
    (re.compile(r"^/v1/vaults/([^/]+)/items/([^/]+)$"), "item"),
]


class FakeConnect(BackgroundServer):
    """The fake server plus test controls: recorded requests, injected failures and delays."""

    def __init__(self, store: Store, tokens: str | dict[str, frozenset[str] | None], host: str = "127.0.0.1",
                 port: int = 0, quiet: bool = True):
        super().__init__(_Handler, host, port)
        self.httpd.fake = self
        self.store = store
        # token -> the vault ids it may read (None: every vault)
        self.tokens = {tokens: None} if isinstance(tokens, str) else dict(tokens)
        self.quiet = quiet
        self.delay = 0.0
        self.requests: list[tuple[str, str]] = []
        self._faults: list[tuple[int, str, str]] = []
        self._lock = threading.Lock()

    def fail_next(self, status: int = 500, body: str = "<html>Internal error</html>",
                  content_type: str = "text/html", times: int = 1) -> None:
        """Answer the next `times` /v1 requests with this raw response instead of the real one."""
        with self._lock:
            self._faults.extend([(status, body, content_type)] * times)

    def _take_fault(self) -> tuple[int, str, str] | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))


class _Handler(FakeHandler):
    server_version = "FakeConnect/1.8.1"

    def _json(self, status: int, payload) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"status": status, "message": message})

    def _grant(self) -> tuple[bool, frozenset[str] | None]:
        """(known token, the vaults it reaches or None for all), comparing every token in constant time."""
        header = self.headers.get("Authorization", "").encode()
        found, vaults = False, None
        for token, allowed in self.fake.tokens.items():
            if hmac.compare_digest(header, f"Bearer {token}".encode()):
                found, vaults = True, allowed
        return found, vaults

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            raise StoreError(400, "request body is not valid JSON") from None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        self.fake._record(method, self.path)
        if url.path == "/heartbeat" and method == "GET":
            return self._send(200, b".", "text/plain")
        if self.fake.delay:
            time.sleep(self.fake.delay)
        fault = self.fake._take_fault()
        if fault:
            return self._send(fault[0], fault[1].encode(), fault[2])
        if url.path == "/health" and method == "GET":
            return self._json(200, HEALTH)
        known, vaults = self._grant()
        if not known:
            return self._error(401, "Invalid token signature")
        query = parse_qs(url.query).get("filter", [None])[0]
        try:
            self._route(method, url.path, query, vaults)
        except StoreError as exc:
            self._error(exc.status, exc.message)

    def _route(self, method: str, path: str, query: str | None, vaults: frozenset[str] | None) -> None:
        store = self.fake.store
        for pattern, name in _ROUTES:
            match = pattern.match(path)
            if not match:
                continue
            args = match.groups()
            if method == "GET" and name == "vaults":
                return self._json(200, [v for v in store.list_vaults(query) if vaults is None or v["id"] in vaults])
            if vaults is not None and args[0] not in vaults:
                raise StoreError(403, "Authorization: token does not have access to vault")
            if method == "GET" and name == "vault":
                return self._json(200, store.get_vault(*args))
            if method == "GET" and name == "items":
                return self._json(200, store.list_items(*args, query))
            if method == "GET" and name == "item":
                return self._json(200, store.get_item(*args))
            if method == "PUT" and name == "item":
                return self._json(200, store.replace_item(*args, self._body()))
            if method == "PATCH" and name == "item":
                return self._json(200, store.patch_item(*args, self._body()))
            raise StoreError(405, f"{method} is not supported on {path}")
        raise StoreError(404, f"{path} not found")


def tokens_from_env(env) -> list[str]:
    """The stack's two tokens, each scoped to its own vault (a token without a vault reaches them all)."""
    specs = []
    for token_name, vault_name in (variables(DagVault), variables(InfraVault)):
        if env.get(token_name):
            specs.append(f"{env[token_name]}={env[vault_name]}" if env.get(vault_name) else env[token_name])
    return specs


def parse_tokens(specs: list[str]) -> dict[str, frozenset[str] | None]:
    tokens: dict[str, frozenset[str] | None] = {}
    for spec in specs:
        token, _, vaults = spec.partition("=")
        if token:
            tokens[token] = frozenset(v for v in vaults.split(",") if v) if vaults else None
    return tokens


def main(argv: list[str] | None = None) -> int:
    """Serve the items file until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m devtools.fake_onepassword", description=__doc__)
    parser.add_argument("--items", required=True, help="JSON file of vaults and items")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0 picks one)")
    parser.add_argument("--token", action="append", default=[],
                        help="TOKEN=VAULT_ID[,VAULT_ID] a client token and the vaults it reaches (repeatable; a bare "
                             "TOKEN reaches every vault; default: $OP_API_TOKEN and $OP_INFRA_TOKEN for their vaults)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    tokens = parse_tokens(args.token or tokens_from_env(os.environ))
    if not tokens:
        parser.error("--token (or OP_API_TOKEN) is required: the fake checks bearer tokens like Connect does")
    try:
        store = Store.from_file(args.items)
    except (OSError, ValueError, KeyError) as exc:
        parser.error(f"cannot load --items {args.items}: {exc}")
    server = FakeConnect(store, tokens, args.host, args.port, quiet=False)
    vaults = ", ".join(f"{v['name']} ({v['id']})" for v in store.list_vaults())
    print(f"fake 1Password Connect on {server.url}; vaults: {vaults}", flush=True)
    return server.serve_until_interrupted()


if __name__ == "__main__":
    sys.exit(main())
