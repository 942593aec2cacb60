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

from devtools.background import BackgroundServer, FakeHandler, Request


class FakeSlack(BackgroundServer):
    """The fake server plus test controls: recorded messages and injected failures."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str | None = None, quiet: bool = True):
        super().__init__(_Handler, host, port, quiet)
        self.token = token
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

    def respond(self, request: Request) -> None:
        path = urlsplit(request.path).path
        if path == "/messages" and request.method == "GET":
            return self._reply(self.fake.snapshot())
        if path == "/messages" and request.method == "DELETE":
            return self._reply({"deleted": self.fake.clear()})
        if request.method in ("GET", "DELETE"):
            return self._text(404, "not found")
        if request.method != "POST":
            return super().respond(request)
        payload = _payload(request)
        fault = self.fake._take_fault()
        if fault:
            return self._text(fault[0], fault[1])
        if path.startswith("/services/"):
            return self._webhook(path, payload)
        if path.startswith("/api/"):
            return self._api(path.removeprefix("/api/"), payload)
        self._text(404, "no_service")

    def _webhook(self, path: str, payload: dict | None) -> None:
        # Real incoming webhooks answer 400 invalid_payload / no_text as plain text.
        if payload is None:
            return self._text(400, "invalid_payload")
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return self._text(400, "no_text")
        self.fake.record({"kind": "webhook", "path": path, "channel": None, "text": payload.get("text"),
                          "blocks": payload.get("blocks"), "payload": payload})
        self._text(200, "ok", "text/html")

    def _reply(self, payload) -> None:
        self._json(200, payload, "application/json; charset=utf-8")

    def _api(self, method: str, payload: dict | None) -> None:
        # Web API errors are HTTP 200 with ok=false, which slack_sdk turns into SlackApiError.
        header = self.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return self._reply({"ok": False, "error": "not_authed"})
        if self.fake.token is not None and header != f"Bearer {self.fake.token}":
            return self._reply({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return self._reply({"ok": True, "team": "Fake", "user": "airflow", "team_id": "T0FAKE"})
        if method != "chat.postMessage":
            return self._reply({"ok": False, "error": "unknown_method"})
        if payload is None or not payload.get("channel"):
            return self._reply({"ok": False, "error": "channel_not_found"})
        if not payload.get("text") and not payload.get("blocks") and not payload.get("attachments"):
            return self._reply({"ok": False, "error": "no_text"})
        self.fake.record({"kind": "api", "path": f"/api/{method}", "channel": payload["channel"],
                          "text": payload.get("text"), "blocks": payload.get("blocks"), "payload": payload})
        ts = f"{time.time():.6f}"
        message = {"text": payload.get("text"), "ts": ts}
        self._reply({"ok": True, "channel": "C0FAKE", "ts": ts, "message": message})


def _payload(request: Request) -> dict | None:
    """A JSON object or form body as a dict; None if it is neither."""
    raw = request.body.decode("utf-8")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {key: values[-1] for key, values in parse_qs(raw).items()}
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


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
