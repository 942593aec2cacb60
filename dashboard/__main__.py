"""`python -m dashboard`: the app under gunicorn on BIND_HOST:DASHBOARD_PORT.

A bad setting exits with status 2 and a sentence naming the variable, before gunicorn starts.
"""

import gc
import sys

from dashboard import create_app
from dashboard.settings import Settings
from stacksettings import SettingsError
from stackweb import serve


def main() -> int:
    serve.setup_logging()
    try:
        config = Settings.from_env()
    except SettingsError as error:
        print(f"dashboard: {error}", file=sys.stderr)
        return 2
    # a page asks its sources with DASHBOARD_SOURCE_TIMEOUT each; the worker may take a few of those.
    # preload_app: the app's modules are imported once, in the master, and the worker shares those pages instead
    # of importing its own copy (10 MiB PSS less of about 64); gc.freeze() before the fork keeps the collector
    # from writing to them later (Python's gc docs). The app starts nothing at import, so it forks safely.
    serve.run("dashboard", config.host, config.port, lambda: create_app(config),
              {"timeout": max(30, int(config.timeout * 4)), "preload_app": True,
               "pre_fork": lambda server, worker: gc.freeze()})
    return 0


sys.exit(main())
