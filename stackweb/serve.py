"""Run a Flask app under waitress in this process: one process, 4 threads (a few people, a few probes), logs on
stderr in UTC, SIGTERM stops it. Nothing inside restarts it: if the process dies, natively supervisord
(autorestart, from the service's compose restart policy) and under compose `restart: unless-stopped` start it
again. One process, not gunicorn's master and worker: the master cost about 26 MiB PSS for that restart alone
(issue 13)."""

from __future__ import annotations

import logging
import signal
import sys
import time

from flask import Flask
from waitress import create_server

THREADS = 4
# Bounds on slow or large clients (waitress cannot bound the app's own time: the apps bound what they wait for).
SETTINGS = {
    "threads": THREADS,
    "channel_timeout": 30,  # an idle connection, or a client that stopped sending, is closed after 30 s
    "cleanup_interval": 10,  # how often that is checked
    "connection_limit": 100,  # connections beyond it wait in the listen backlog
    "max_request_header_size": 64 * 1024,
    "max_request_body_size": 1024 * 1024,  # the largest body is an Alertmanager notification (dashboard)
    # X-Forwarded-For reaches the app untouched, as under gunicorn: the dashboard refuses /hooks/ requests
    # that came through HAProxy by it (dashboard/alerts.py). waitress would otherwise delete it.
    "clear_untrusted_proxy_headers": False,
}


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.Formatter.converter = time.gmtime


def _urls(server) -> str:
    """The addresses really bound (port 0 included), as URLs."""
    listen = getattr(server, "effective_listen", None) or [(server.effective_host, server.effective_port)]
    return " ".join(f"http://{f'[{host}]' if ':' in host else host}:{port}" for host, port in listen)


def _stop(signum, frame) -> None:
    raise SystemExit  # waitress's loop catches it, closes and lets the threads finish (up to 5 s)


def run(name: str, host: str, port: int, app: Flask, ready: str = "serving") -> int:
    """Serve `app` on host:port until SIGTERM or SIGINT; the exit status (1: the address cannot be bound)."""
    log = logging.getLogger(name)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server = create_server(app, host=host, port=port, **SETTINGS)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", host, port, error.strerror or error)
        return 1
    log.info("%s on %s", ready, _urls(server))
    try:
        server.run()
    finally:
        server.close()
    log.info("stopped")
    return 0
