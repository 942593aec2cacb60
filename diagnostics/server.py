"""Serve DIAGNOSTICS_DIR read-only: no listings, no hidden files, a placeholder page before the first run."""

from __future__ import annotations

import functools
import io
import logging
import os
import signal
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from diagnostics import age, settings

log = logging.getLogger("diagnostics")

PLACEHOLDER = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weather checker: no run yet</title></head>
<body><h1>ATX Weather Report</h1>
<p id="placeholder">No weather-checker run has published a page yet. Trigger the <code>weather-checker</code>
DAG in Airflow; this page is replaced when its <code>publish_page</code> task finishes.</p></body></html>
"""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
}


def cache_policy(path: str) -> str:
    """Run images never change (one name per run); everything else must be revalidated."""
    if path.startswith("/images/") and path.endswith(".jpg"):
        return "public, max-age=86400, immutable"
    if path in ("/", "/index.html"):
        return "no-store"  # the age on it is computed per request
    return "no-cache"


class Handler(SimpleHTTPRequestHandler):
    server_version = "diagnostics/1.0"
    sys_version = ""
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript; charset=utf-8",
                      ".css": "text/css; charset=utf-8", ".json": "application/json",
                      ".html": "text/html; charset=utf-8"}

    def _path(self) -> str:
        return unquote(urlsplit(self.path).path)

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", cache_policy(self._path()))
        super().end_headers()

    def list_directory(self, path):
        """Never list a folder."""
        self.send_error(HTTPStatus.NOT_FOUND, "Not found")
        return None

    def send_head(self):
        path = self._path()
        if "\x00" in path:  # open() would raise ValueError: a 400, not a dropped connection (HAProxy's 502)
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request")
            return None
        if any(part.startswith(".") for part in path.split("/")):
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")  # lock and temporary files stay private
            return None
        if path in ("/", "/index.html"):
            return self._index()
        return super().send_head()

    def _index(self):
        """The page with its age recomputed now, or the placeholder before the first run."""
        try:
            body = age.rewrite(Path(self.directory, "index.html").read_text("utf-8")).encode("utf-8")
        except FileNotFoundError:
            body = PLACEHOLDER
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_request(self, code="-", size="-") -> None:
        # HAProxy probes GET / every second without a User-Agent; those would drown the real requests.
        if self._path() == "/" and not self.headers.get("User-Agent") and str(code).startswith("2"):
            return
        log.info("request method=%s path=%s status=%s bytes=%s client=%s", self.command,
                 printable(self._path()[:200]), code, size, self.client_address[0])

    def log_message(self, format: str, *args) -> None:
        log.warning("%s client=%s", printable(format % args), self.client_address[0])


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """One line per failed request, none for a dropped connection (the default prints a traceback)."""
        error = sys.exception()
        if isinstance(error, ConnectionError):  # reset, broken pipe: HAProxy ends every health check so
            return
        where = traceback.extract_tb(error.__traceback__)[-1] if error and error.__traceback__ else None
        log.error("event=request_failed error=%s at=%s client=%s", printable(repr(error)[:200]),
                  f"{where.filename}:{where.lineno}" if where else "-", client_address[0])


def printable(text: str) -> str:
    """Control characters escaped, so that a request cannot write lines of its own into the log."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def make_server(config: settings.Settings) -> ThreadingHTTPServer:
    config.folder.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(Handler, directory=str(config.folder))
    return Server((config.host, config.port), handler)


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.Formatter.converter = time.gmtime
    try:
        config = settings.from_env()
        server = make_server(config)
    except (settings.SettingsError, OSError) as error:
        print(f"diagnostics: {error}", file=sys.stderr)
        return 2
    # SIGTERM (supervisord, docker stop) ends serve_forever cleanly; shutdown() must come from another thread.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.info("serving folder=%s on http://%s:%s pid=%s", config.folder.resolve(), config.host,
             server.server_address[1], os.getpid())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    log.info("stopped")
    return 0
