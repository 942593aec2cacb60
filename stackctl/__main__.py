"""Entry point: `python -m stackctl ...` (the `./stack` script bootstraps the virtualenv first)."""

import sys

from stackctl.cli import main

sys.exit(main())
