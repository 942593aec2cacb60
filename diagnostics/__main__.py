"""`python -m diagnostics`: the page app under waitress on BIND_HOST:DIAGNOSTICS_PORT, serving DIAGNOSTICS_DIR.

A bad setting exits with status 2 and a sentence naming the variable, before the server starts.
"""

import sys

from diagnostics.app import create_app
from diagnostics.settings import Settings
from stacksettings import SettingsError
from stackweb import serve


def main() -> int:
    serve.setup_logging()
    try:
        config = Settings.from_env()
        app = create_app(config)  # makes the folder: fails here, with a sentence
    except (SettingsError, OSError) as error:
        print(f"diagnostics: {error}", file=sys.stderr)
        return 2
    return serve.run("diagnostics", config.host, config.port, app, ready=f"serving folder={config.folder}")


sys.exit(main())
