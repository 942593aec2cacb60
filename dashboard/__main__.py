"""`python -m dashboard`: the app under waitress on BIND_HOST:DASHBOARD_PORT.

A bad setting exits with status 2 and a sentence naming the variable, before the server starts.
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
    # a page asks each source with DASHBOARD_SOURCE_TIMEOUT, which bounds how long a request can take
    return serve.run("dashboard", config.host, config.port, create_app(config))


sys.exit(main())
