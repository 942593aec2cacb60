"""`python -m diagnostics`: the page app under gunicorn on BIND_HOST:DIAGNOSTICS_PORT, serving DIAGNOSTICS_DIR.

A bad setting exits with status 2 and a sentence naming the variable, before gunicorn starts.
"""

import logging
import sys
import time

from gunicorn.app.base import BaseApplication

from diagnostics.app import create_app
from diagnostics.settings import Settings
from stacksettings import SettingsError

log = logging.getLogger("diagnostics")


class Server(BaseApplication):
    def __init__(self, config: Settings):
        self.config = config
        super().__init__()

    def load_config(self) -> None:
        for name, value in {
            "bind": f"{self.config.host}:{self.config.port}",
            # static files and one small page: one worker's threads are plenty; gunicorn restarts it if it dies
            "workers": 1, "worker_class": "gthread", "threads": 4, "timeout": 30, "graceful_timeout": 5,
            "accesslog": None, "errorlog": "-", "proc_name": "diagnostics",
            # the default control socket lives in $HOME and would clash between two stacks on one machine
            "control_socket_disable": True,
            "when_ready": lambda server: log.info("serving folder=%s on http://%s:%s", self.config.folder,
                                                  self.config.host, server.LISTENERS[0].getsockname()[1]),
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
        create_app(config)  # the folder can be made: fail here, with a sentence, not in a worker
    except (SettingsError, OSError) as error:
        print(f"diagnostics: {error}", file=sys.stderr)
        return 2
    Server(config).run()
    return 0


sys.exit(main())
