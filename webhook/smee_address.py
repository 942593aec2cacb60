"""Print the smee channel URL from 1Password (the infrastructure vault's webhook item, section smee, field address).

Used by relay/run when SMEE_URL is not set: `python -m webhook.smee_address`. Exit 1 with a reason
(never the value) when it cannot be read.
"""

from __future__ import annotations

import sys

from webhook import infra_vault

ITEM = infra_vault.WEBHOOK_ITEM
FIELD = "smee.address"


def main() -> int:
    try:
        address = infra_vault.get_secret(ITEM, FIELD)
    except Exception as exc:  # the reason is safe: opconnect never puts values in messages
        print(f"smee address unavailable: {exc}", file=sys.stderr)
        return 1
    if not address.startswith(("https://", "http://")):
        print(f"the {FIELD} field of {ITEM!r} is not an http(s) URL", file=sys.stderr)
        return 1
    print(address)
    return 0


if __name__ == "__main__":
    sys.exit(main())
