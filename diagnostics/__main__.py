"""`python -m diagnostics`: the page app under gunicorn on BIND_HOST:DIAGNOSTICS_PORT, serving DIAGNOSTICS_DIR.

A bad setting exits with status 2 and a sentence naming the variable, before gunicorn starts.
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
        create_app(config)  # the folder can be made: fail here, with a sentence, not in a worker
    except (SettingsError, OSError) as error:
        print(f"diagnostics: {error}", file=sys.stderr)
        return 2
    serve.run("diagnostics", config.host, config.port, lambda: create_app(config),
              ready=f"serving folder={config.folder}")
    return 0


sys.exit(main())
