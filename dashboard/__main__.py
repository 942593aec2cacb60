"""`python -m dashboard`: the app under gunicorn on BIND_HOST:DASHBOARD_PORT.

A bad setting exits with status 2 and a sentence naming the variable, before gunicorn starts.
"""

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
    # a page asks its sources with DASHBOARD_SOURCE_TIMEOUT each; the worker may take a few of those
    serve.run("dashboard", config.host, config.port, lambda: create_app(config),
              {"timeout": max(30, int(config.timeout * 4))})
    return 0


sys.exit(main())
