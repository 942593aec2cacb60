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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DAG_ID_RE = re.compile(r"dag_id=\"([A-Za-z0-9_.-]+)\"")


class FakeAirflow:
    """Start with `with FakeAirflow(mirror, branch) as fake:`; `fake.url` is the base URL."""

    def __init__(self, mirror: Path, branch: str = "production", username: str = "admin",
                 password: str = "admin-password", bundle: str = "gitops"):
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
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.fake = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FakeAirflow:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

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


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    @property
    def fake(self) -> FakeAirflow:
        return self.server.fake

    def _send(self, status: int, body: dict | None = None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != "Bearer fake-jwt":
            self._send(401, {"detail": "Not authenticated"})
            return False
        return True

    def do_POST(self) -> None:
        if self.fake.down:
            return self._send(503, {"detail": "down"})
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if urlsplit(self.path).path != "/auth/token":
            return self._send(404, {"detail": "Not Found"})
        self.fake.token_requests += 1
        if body.get("username") == self.fake.username and body.get("password") == self.fake.password:
            return self._send(201, {"access_token": "fake-jwt"})
        return self._send(401, {"detail": "Invalid credentials"})

    def do_GET(self) -> None:
        if self.fake.down:
            return self._send(503, {"detail": "down"})
        if not self._authorized():
            return
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        limit, offset = int(query.get("limit", 50)), int(query.get("offset", 0))
        with self.fake._lock:
            dags = list(self.fake.dags.values())
            errors = list(self.fake.errors)
        if url.path == "/api/v2/dags":
            dags = [d for d in dags if d["bundle_name"] == query.get("bundle_name", d["bundle_name"])]
            return self._send(200, {"dags": dags[offset:offset + limit], "total_entries": len(dags)})
        if url.path.startswith("/api/v2/dags/") and url.path.count("/") == 4:
            found = self.fake.dags.get(url.path.rsplit("/", 1)[1])
            return self._send(200, found) if found else self._send(404, {"detail": "Dag not found"})
        if url.path == "/api/v2/importErrors":
            page = errors[offset:offset + limit]
            return self._send(200, {"import_errors": page, "total_entries": len(errors)})
        return self._send(404, {"detail": "Not Found"})

    def do_PUT(self) -> None:
        if self.fake.down:
            return self._send(503, {"detail": "down"})
        if not self._authorized():
            return
        path = urlsplit(self.path).path
        if not path.startswith("/api/v2/parseDagFile/"):
            return self._send(404, {"detail": "Not Found"})
        token = unquote(path.rsplit("/", 1)[1])
        self.fake.parse_requests.append(token)
        if self.fake.auto_parse:
            timer = threading.Timer(self.fake.parse_delay, self.fake.parse)
            timer.daemon = True
            timer.start()
        return self._send(201, None)
