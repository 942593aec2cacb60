"""`python -m dashboard`: the app under gunicorn on BIND_HOST:DASHBOARD_PORT.

A bad setting exits with status 2 and a sentence naming the variable, before gunicorn starts.
"""

import logging
import sys
import time

from gunicorn.app.base import BaseApplication

from dashboard import create_app
from dashboard.settings import Settings
from stacksettings import SettingsError

log = logging.getLogger("dashboard")


class Server(BaseApplication):
    def __init__(self, config: Settings):
        self.config = config
        super().__init__()

    def load_config(self) -> None:
        for name, value in {
            "bind": f"{self.config.host}:{self.config.port}",
            # a few people and Alertmanager: one worker's threads are plenty; gunicorn restarts it if it dies
            "workers": 1, "worker_class": "gthread", "threads": 4,
            # a page asks its sources with DASHBOARD_SOURCE_TIMEOUT each; the worker may take a few of those
            "timeout": max(30, int(self.config.timeout * 4)), "graceful_timeout": 5,
            "accesslog": None, "errorlog": "-", "proc_name": "dashboard",
            # the default control socket lives in $HOME and would clash between two stacks on one machine
            "control_socket_disable": True,
            "when_ready": lambda server: log.info("serving on http://%s:%s", self.config.host,
                                                  server.LISTENERS[0].getsockname()[1]),
            "on_exit": lambda server: log.info("stopped"),
        }.items():
            self.cfg.set(name, value)

    def load(self):
        return create_app(self.config)


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.Formatter.converter = time.gmtime
    try:
        config = Settings.from_env()
    except SettingsError as error:
        print(f"dashboard: {error}", file=sys.stderr)
        return 2
    Server(config).run()
    return 0


sys.exit(main())
