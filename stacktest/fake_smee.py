"""A fake smee.io channel: POST /<channel> is answered 200 and pushed as an SSE message to listeners.

The message is smee.io's shape: every request header (lower-case), `body` (parsed JSON), `query`, and
`timestamp` (ms), which smee-client turns back into a POST with those headers.
"""

from __future__ import annotations

import json
import threading
import time

from devtools.background import BackgroundServer, FakeHandler, Request


class FakeSmee(BackgroundServer):
    """Start with `with FakeSmee() as smee:`; point smee-client at `smee.channel`."""

    def __init__(self):
        super().__init__(_Handler)
        self.listeners: list = []
        self.lock = threading.Lock()
        self.connected = threading.Event()

    @property
    def channel(self) -> str:
        return f"{self.url}/secret-channel-id"

    def publish(self, message: dict) -> int:
        data = f"data: {json.dumps(message)}\n\n".encode()
        sent = 0
        with self.lock:
            for wfile in list(self.listeners):
                try:
                    wfile.write(data)
                    wfile.flush()
                    sent += 1
                except OSError:
                    self.listeners.remove(wfile)
        return sent

    def stop(self) -> None:
        with self.lock:
            self.listeners.clear()  # ends every open stream, so the server can shut down
        super().stop()


class _Handler(FakeHandler):
    protocol_version = "HTTP/1.1"

    def respond(self, request: Request) -> None:
        if request.method == "GET":
            return self._listen()
        if request.method != "POST":
            return super().respond(request)
        message = {**request.headers, "body": json.loads(request.body or b"{}"), "query": {},
                   "timestamp": int(time.time() * 1000)}
        self.fake.publish(message)
        self._text(200, "ok")

    def _listen(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(b"event: ready\ndata: {}\n\n")
        self.wfile.flush()
        with self.fake.lock:
            self.fake.listeners.append(self.wfile)
        self.fake.connected.set()
        while self.wfile in self.fake.listeners:
            time.sleep(0.2)  # hold the stream open; publish() writes to it
