"""A local fake Slack: incoming-webhook POSTs and Web API calls are recorded and listed at GET /messages.

Run: python -m devtools.fake_slack --port N   (binds 127.0.0.1)
Webhook connection: {"conn_type": "slackwebhook", "password": "http://127.0.0.1:N/services/T0/B0/X"}
API connection:     {"conn_type": "slack", "password": "xoxb-any", "extra": {"base_url": "http://127.0.0.1:N/api/"}}
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

from devtools.background import BackgroundServer, FakeHandler


class FakeSlack(BackgroundServer):
    """The fake server plus test controls: recorded messages and injected failures."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None, quiet: bool = True):
        super().__init__(_Handler, host, port)
        self.httpd.fake = self
        self.token = token
        self.quiet = quiet
        self.messages: list[dict] = []
        self.posts = 0  # every POST received, including refused ones: tests count retries with it
        self._faults: list[tuple[int, str]] = []
        self._lock = threading.Lock()

    def fail_next(self, status: int = 500, body: str = "internal_error", times: int = 1) -> None:
        """Answer the next `times` posts with this status and body instead of accepting them."""
        with self._lock:
            self._faults.extend([(status, body)] * times)

    def _take_fault(self) -> tuple[int, str] | None:
        with self._lock:
            self.posts += 1
            return self._faults.pop(0) if self._faults else None

    def record(self, message: dict) -> None:
        with self._lock:
            self.messages.append({**message, "received_at": time.time()})

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.messages)

    def clear(self) -> int:
        with self._lock:
            count = len(self.messages)
            self.messages.clear()
            return count


class _Handler(FakeHandler):
    server_version = "FakeSlack/1.0"

    def _json(self, payload, status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _payload(self) -> dict | None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return {key: values[-1] for key, values in parse_qs(raw).items()}
        try:
            payload = json.loads(raw)
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if urlsplit(self.path).path == "/messages":
            return self._json(self.fake.snapshot())
        self._send(404, b"not found", "text/plain")

    def do_DELETE(self) -> None:  # noqa: N802
        if urlsplit(self.path).path == "/messages":
            return self._json({"deleted": self.fake.clear()})
        self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        path = urlsplit(self.path).path
        payload = self._payload()
        fault = self.fake._take_fault()
        if fault:
            return self._send(fault[0], fault[1].encode(), "text/plain")
        if path.startswith("/services/"):
            return self._webhook(path, payload)
        if path.startswith("/api/"):
            return self._api(path.removeprefix("/api/"), payload)
        self._send(404, b"no_service", "text/plain")

    def _webhook(self, path: str, payload: dict | None) -> None:
        # Real incoming webhooks answer 400 invalid_payload / no_text as plain text.
        if payload is None:
            return self._send(400, b"invalid_payload", "text/plain")
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return self._send(400, b"no_text", "text/plain")
        self.fake.record({"kind": "webhook", "path": path, "channel": None, "text": payload.get("text"),
                          "blocks": payload.get("blocks"), "payload": payload})
        self._send(200, b"ok", "text/html")

    def _api(self, method: str, payload: dict | None) -> None:
        # Web API errors are HTTP 200 with ok=false, which slack_sdk turns into SlackApiError.
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return self._json({"ok": False, "error": "not_authed"})
        if self.fake.token is not None and header != f"Bearer {self.fake.token}":
            return self._json({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return self._json({"ok": True, "team": "Fake", "user": "airflow", "team_id": "T0FAKE"})
        if method != "chat.postMessage":
            return self._json({"ok": False, "error": "unknown_method"})
        if payload is None or not payload.get("channel"):
            return self._json({"ok": False, "error": "channel_not_found"})
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return self._json({"ok": False, "error": "no_text"})
        self.fake.record({"kind": "api", "path": f"/api/{method}", "channel": payload["channel"],
                          "text": payload.get("text"), "blocks": payload.get("blocks"), "payload": payload})
        ts = f"{time.time():.6f}"
        message = {"text": payload.get("text"), "ts": ts}
        self._json({"ok": True, "channel": "C0FAKE", "ts": ts, "message": message})


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m devtools.fake_slack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0 picks one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=None, help="bot token the Web API accepts (default: any)")
    args = parser.parse_args(argv)
    server = FakeSlack(args.host, args.port, args.token, quiet=False)
    print(f"fake Slack on {server.url}; webhooks at /services/..., Web API at /api/, log at /messages",
          flush=True)
    return server.serve_until_interrupted()


if __name__ == "__main__":
    sys.exit(main())
