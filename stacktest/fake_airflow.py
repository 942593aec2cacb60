"""A local fake of the Airflow 3 REST calls the deploy pipeline makes, with the real response shapes.

Its "DAG processor" reads the mirror's published branch when a parse is requested: every `dag_id="x"` in
dags/*.py becomes a DAG at that commit, and a file containing FAILS_IN_AIRFLOW becomes an import error
(something only the real environment would catch, to exercise the automatic rollback).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from devtools.background import BackgroundServer, FakeHandler, Request

DAG_ID_RE = re.compile(r"dag_id=\"([A-Za-z0-9_.-]+)\"")


class FakeAirflow(BackgroundServer):
    """Start with `with FakeAirflow(mirror, branch) as fake:`; `fake.url` is the base URL."""

    def __init__(self, mirror: Path, branch: str = "production", username: str = "admin",
                 password: str = "admin-password", bundle: str = "gitops"):
        super().__init__(_Handler)
        self.mirror, self.branch, self.bundle = Path(mirror), branch, bundle
        self.username, self.password = username, password
        self.dags: dict[str, dict] = {}
        self.errors: list[dict] = []
        # Errors Airflow keeps for files that left the bundle (it does not clear them at once).
        self.stale_errors: list[dict] = []
        self.parse_requests: list[str] = []
        self.token_requests = 0
        self.parse_delay = 0.0
        self.auto_parse = True
        self.down = False
        self._lock = threading.Lock()

    def parse(self) -> None:
        """What the DAG processor would do after a bundle refresh."""
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=self.mirror, capture_output=True, text=True,
                                  check=True).stdout
        sha = git("rev-parse", f"refs/heads/{self.branch}").strip()
        listing = git("ls-tree", "-r", "--name-only", sha, "dags/").splitlines()
        files = [f for f in listing if f.endswith(".py")]
        dags, errors = {}, []
        for name in files:
            text = git("show", f"{sha}:{name}")
            rel = name.removeprefix("dags/")
            if "FAILS_IN_AIRFLOW" in text:
                stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                errors.append({"import_error_id": len(errors) + 1, "timestamp": stamp,
                               "filename": rel, "bundle_name": self.bundle,
                               "stack_trace": "Traceback...\nRuntimeError: fails only inside Airflow"})
                continue
            for dag_id in DAG_ID_RE.findall(text):
                dags[dag_id] = {"dag_id": dag_id, "bundle_name": self.bundle, "bundle_version": sha,
                                "relative_fileloc": rel, "file_token": f"token-{rel}", "is_paused": True,
                                "is_stale": False}
        fresh = {e["filename"] for e in errors}
        errors += [e for e in self.stale_errors if e["filename"] not in fresh]
        with self._lock:
            self.dags, self.errors = dags, errors


class _Handler(FakeHandler):
    def respond(self, request: Request) -> None:
        if self.fake.down:
            return self._json(503, {"detail": "down"})
        url = urlsplit(request.path)
        if request.method == "POST":
            return self._token(url.path, json.loads(request.body or b"{}"))
        if request.headers.get("authorization") != "Bearer fake-jwt":
            return self._json(401, {"detail": "Not authenticated"})
        if request.method == "GET":
            return self._get(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
        if request.method == "PUT" and url.path.startswith("/api/v2/parseDagFile/"):
            return self._parse(unquote(url.path.rsplit("/", 1)[1]))
        return self._json(404, {"detail": "Not Found"})

    def _token(self, path: str, body: dict) -> None:
        if path != "/auth/token":
            return self._json(404, {"detail": "Not Found"})
        self.fake.token_requests += 1
        if body.get("username") == self.fake.username and body.get("password") == self.fake.password:
            return self._json(201, {"access_token": "fake-jwt"})
        return self._json(401, {"detail": "Invalid credentials"})

    def _get(self, path: str, query: dict[str, str]) -> None:
        limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
        with self.fake._lock:
            dags = list(self.fake.dags.values())
            errors = list(self.fake.errors)
        if path == "/api/v2/dags":
            dags = [d for d in dags if d["bundle_name"] == query.get("bundle_name", d["bundle_name"])]
            return self._json(200, {"dags": dags[offset:offset + limit], "total_entries": len(dags)})
        if path.startswith("/api/v2/dags/") and path.count("/") == 4:
            found = self.fake.dags.get(path.rsplit("/", 1)[1])
            return self._json(200, found) if found else self._json(404, {"detail": "Dag not found"})
        if path == "/api/v2/importErrors":
            page = errors[offset:offset + limit]
            return self._json(200, {"import_errors": page, "total_entries": len(errors)})
        return self._json(404, {"detail": "Not Found"})

    def _parse(self, token: str) -> None:
        self.fake.parse_requests.append(token)
        if self.fake.auto_parse:
            timer = threading.Timer(self.fake.parse_delay, self.fake.parse)
            timer.daemon = True
            timer.start()
        return self._json(201, {})
