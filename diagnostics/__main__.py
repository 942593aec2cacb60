"""Entry point: `python -m diagnostics` serves DIAGNOSTICS_DIR on BIND_HOST:DIAGNOSTICS_PORT."""

import sys

from diagnostics.server import main

sys.exit(main())
