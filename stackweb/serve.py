"""Run a Flask app under gunicorn in this process: one worker's threads (a few people, a few probes; gunicorn
restarts the worker if it dies), logs on stderr in UTC, no control socket (its default lives in $HOME and
would clash between two stacks on one machine)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, name: str, bind: str, load: Callable, options: dict, ready: str):
        self._name, self._bind, self._load, self._options, self._ready = name, bind, load, options, ready
        super().__init__()

    def load_config(self) -> None:
        log = logging.getLogger(self._name)
        for name, value in {
            "bind": self._bind, "workers": 1, "worker_class": "gthread", "threads": 4, "timeout": 30,
            "graceful_timeout": 5, "accesslog": None, "errorlog": "-", "proc_name": self._name,
            "control_socket_disable": True,
            "when_ready": lambda server: log.info("%s on http://%s:%s", self._ready, self._bind.rpartition(":")[0],
                                                  server.LISTENERS[0].getsockname()[1]),
            "on_exit": lambda server: log.info("stopped"),
            **self._options,
        }.items():
            self.cfg.set(name, value)

    def load(self):
        return self._load()


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.Formatter.converter = time.gmtime


def run(name: str, host: str, port: int, load: Callable, options: dict | None = None,
        ready: str = "serving") -> None:
    """Serve `load()`'s WSGI app on host:port until stopped; `options` override gunicorn settings."""
    _Server(name, f"{host}:{port}", load, options or {}, ready).run()
