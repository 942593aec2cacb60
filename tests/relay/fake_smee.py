"""A fake smee.io channel: POST /<channel> is answered 200 and pushed as an SSE message to listeners.

The message is smee.io's shape: every request header (lower-case), `body` (parsed JSON), `query`, and
`timestamp` (ms), which smee-client turns back into a POST with those headers.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeSmee(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.listeners: list = []
        self.lock = threading.Lock()
        self.connected = threading.Event()

    @property
    def channel(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/secret-channel-id"

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(b"event: ready\ndata: {}\n\n")
        self.wfile.flush()
        with self.server.lock:
            self.server.listeners.append(self.wfile)
        self.server.connected.set()
        while self.wfile in self.server.listeners:
            time.sleep(0.2)  # hold the stream open; publish() writes to it

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        message = {k.lower(): v for k, v in self.headers.items()}
        message.update(body=json.loads(raw or b"{}"), query={}, timestamp=int(time.time() * 1000))
        self.server.publish(message)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@contextlib.contextmanager
def running_fake_smee():
    """A FakeSmee serving in a thread; its listeners are dropped and it is shut down on exit."""
    server = FakeSmee()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        with server.lock:
            server.listeners.clear()
        server.shutdown()
        server.server_close()
