"""The few Airflow REST calls a deploy needs: token, DAGs of the bundle, import errors, parse request."""

from __future__ import annotations

import logging
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)


class AirflowError(RuntimeError):
    """Airflow did not answer as expected; the message is safe to record."""


class AirflowClient:
    """A small client for the Airflow 3 API (FAB auth manager: POST /auth/token -> JWT)."""

    def __init__(self, base_url: str, username: str, password: str, bundle: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.bundle = bundle
        self.timeout = timeout
        self.session = requests.Session()
        self._token: str | None = None

    def _login(self) -> str:
        try:
            resp = self.session.post(f"{self.base_url}/auth/token", timeout=self.timeout,
                                     json={"username": self.username, "password": self.password})
        except requests.RequestException as exc:
            raise AirflowError(f"Airflow API unreachable: {type(exc).__name__}") from None
        if resp.status_code not in (200, 201):
            raise AirflowError(f"Airflow login failed with HTTP {resp.status_code}")
        token = resp.json().get("access_token")
        if not token:
            raise AirflowError("Airflow login answered without access_token")
        return token

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._login()
            try:
                resp = self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout,
                                            headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
            except requests.RequestException as exc:
                raise AirflowError(f"Airflow API unreachable: {type(exc).__name__}") from None
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # expired JWT: log in again once
                continue
            return resp
        raise AirflowError("Airflow API refused the token")

    def _json(self, path: str, params: dict) -> dict:
        resp = self._call("GET", path, params=params)
        if resp.status_code != 200:
            raise AirflowError(f"GET {path} answered HTTP {resp.status_code}")
        return resp.json()

    def _pages(self, path: str, key: str, params: dict) -> list[dict]:
        items: list[dict] = []
        while True:
            page = self._json(path, {**params, "limit": 100, "offset": len(items)})
            batch = page.get(key) or []
            items.extend(batch)
            if not batch or len(items) >= page.get("total_entries", 0):
                return items

    def dags(self) -> list[dict]:
        """Every DAG of the bundle Airflow knows (stale ones excluded)."""
        return self._pages("/api/v2/dags", "dags", {"bundle_name": self.bundle, "exclude_stale": "true"})

    def import_errors(self) -> list[dict]:
        """Current import errors of the bundle."""
        errors = self._pages("/api/v2/importErrors", "import_errors", {"bundle_name": self.bundle})
        return [e for e in errors if e.get("bundle_name") in (None, self.bundle)]

    def request_parse(self, file_token: str) -> None:
        """PUT /api/v2/parseDagFile/{token}: a priority parse that also forces a bundle refresh."""
        resp = self._call("PUT", f"/api/v2/parseDagFile/{quote(file_token, safe='')}")
        # 409: a parse of that file is already requested and not yet done, which is just as good.
        if resp.status_code not in (200, 201, 409):
            raise AirflowError(f"parseDagFile answered HTTP {resp.status_code}")

    def refresh(self, files: set[str] | list[str] | None = None, known: list[dict] | None = None) -> int:
        """Request a parse of every known DAG file (all of them, or those in `files`); return how many.

        One request refreshes the bundle, but Airflow only re-parses files that changed or were asked for,
        and a DAG keeps its old bundle_version (so new runs would use the old commit's code) until its file
        is parsed again: `files` must hold every file whose code changed (webhook/deploy/reparse.py). Airflow
        parses the last requested first. When no file of `files` has a token yet (only new or deleted files, or
        none), one other file is asked for: that makes Airflow refresh the bundle at once, finding new files and
        dropping the DAGs of deleted ones. `known`: what dags() just answered.
        """
        tokens = {}
        for dag in self.dags() if known is None else known:
            if dag.get("file_token"):
                tokens.setdefault(dag.get("relative_fileloc"), dag["file_token"])
        order = list(tokens) if files is None else [f for f in files if f in tokens]
        if not order and tokens:
            order = [next(iter(tokens))]
        for rel in dict.fromkeys(order):
            self.request_parse(tokens[rel])
        return len(dict.fromkeys(order))
