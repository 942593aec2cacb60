"""Run a ThreadingHTTPServer on a background thread: how tests start and stop the fakes."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    """A threaded server that does not print a traceback when a client hangs up early (timeouts in tests)."""

    # Request threads must not keep a finished process alive.
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler base of the fakes: `self.fake` is the server's state; quiet logs; byte responses."""

    @property
    def fake(self):
        return self.server.fake

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        if not self.fake.quiet:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class BackgroundServer:
    """Serve `handler` on host:port (0 picks a free port) until stop() is called."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1", port: int = 0):
        self.httpd = QuietServer((host, port), handler)
        self._thread: threading.Thread | None = None

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
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
