"""The base of every HTTP fake: a threaded server on a loopback port (0 picks a free one), started and stopped
as a context manager or served in the foreground, with a log of the requests it received."""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    """A threaded server that does not print a traceback when a client hangs up early (timeouts in tests,
    HAProxy's health checks)."""

    # Request threads must not keep a finished process alive.
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Request:
    """One request as a fake received it (header names in lower case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler base of the fakes: every request is logged on the server, then `respond(request)`
    answers it (with `_send`, `_json` or `_text`); `self.fake` is the server's state; logs are quiet."""

    @property
    def fake(self):
        return self.server.fake

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        if not self.fake.quiet:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                          self.rfile.read(length) if length else b"")
        self.fake.log(request)
        self.respond(request)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def respond(self, request: Request) -> None:
        self._text(501, f"{request.method} is not supported")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | list | None = None) -> None:
        """Answer with `body`; `headers` as a dict, or a list of (name, value) pairs to repeat a name."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items() if isinstance(headers, dict) else headers or ():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value, content_type: str = "application/json", headers: dict | None = None) -> None:
        self._send(status, json.dumps(value).encode(), content_type, headers)

    def _text(self, status: int, text: str, content_type: str = "text/plain", headers: dict | None = None) -> None:
        self._send(status, text.encode(), content_type, headers)


class BackgroundServer:
    """Serve `handler` on host:port (0 picks a free port) until stop(); `seen` logs what it received."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0,
                 quiet: bool = True):
        self.httpd = QuietServer((host, port), handler)
        self.httpd.fake = self
        self.quiet = quiet
        self.seen: list[Request] = []
        self._seen_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def log(self, request: Request) -> None:
        with self._seen_lock:
            self.seen.append(request)

    def serve_until_interrupted(self) -> int:
        """Serve in the foreground (a supervised program) until Ctrl-C or SIGTERM ends the process."""
        try:
            self.httpd.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self.httpd.server_close()
        return 0

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}"

    def start(self) -> BackgroundServer:
        # A short poll interval makes stop() quick, which keeps fixture teardown fast.
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
