"""The diagnostics page as a WSGI app: DIAGNOSTICS_DIR read-only, no listings, no hidden files, the page's age
filled per request, a placeholder before the first run."""

from __future__ import annotations

import logging

from flask import Flask, Response, abort, request, send_from_directory

from diagnostics import age
from diagnostics.settings import Settings

log = logging.getLogger("diagnostics")

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weather checker: no run yet</title></head>
<body><h1>ATX Weather Report</h1>
<p id="placeholder">No weather-checker run has published a page yet. Trigger the <code>weather-checker</code>
DAG in Airflow; this page is replaced when its <code>publish_page</code> task finishes.</p></body></html>
"""
PAGE_PATHS = ("/", "/index.html")
REFRESH_SECONDS = 60  # the browser fetches the page again: a new age, or the next run's page
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
}


def cache_policy(path: str) -> str:
    """Run images never change (one name per run); the page's age is per request; the rest is revalidated."""
    if path.startswith("/images/") and path.endswith(".jpg"):
        return "public, max-age=86400, immutable"
    return "no-store" if path in PAGE_PATHS else "no-cache"


def printable(text: str) -> str:
    """Control characters escaped, so that a request cannot write lines of its own into the log."""
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def create_app(config: Settings | None = None) -> Flask:
    config = config or Settings.from_env()
    folder = config.folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, static_folder=None)

    @app.get("/")
    @app.get("/index.html")
    def page() -> Response:
        try:
            body = age.fill((folder / "index.html").read_text("utf-8"))
        except FileNotFoundError:
            body = PLACEHOLDER
        return Response(body, mimetype="text/html", headers={"Refresh": str(REFRESH_SECONDS)})

    @app.get("/<path:name>")
    def file(name: str) -> Response:
        if "\x00" in name:
            abort(400)
        if any(part.startswith(".") for part in name.split("/")):
            abort(404)  # lock and temporary files stay private; no way up out of the folder
        return send_from_directory(folder, name)  # a folder, or anything missing, is a 404

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = cache_policy(request.path)
        # HAProxy checks GET / every second without a User-Agent; those would drown the real requests.
        if request.path != "/" or request.user_agent.string or response.status_code >= 300:
            log.info("request method=%s path=%s status=%s bytes=%s client=%s", request.method,
                     printable(request.path[:200]), response.status_code, response.content_length or 0,
                     request.remote_addr)
        return response

    return app
