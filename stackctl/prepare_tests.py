"""Install the system packages the test suite drives (the stack's, plus Chromium for the browser tests)."""

import sys

from stackctl import system

if __name__ == "__main__":
    try:
        system.ensure_packages(extra=system.TEST_PACKAGES)
    except system.MissingSystemPackage as error:
        print(f"stack test: {error}", file=sys.stderr)
        sys.exit(2)
