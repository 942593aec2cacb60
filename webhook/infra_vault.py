"""The infrastructure vault: the webhook key, the deploy key and the relay's channel address.

Only the webhook and the relay can read it, with their own Connect token (OP_INFRA_TOKEN) for their own vault
(OP_INFRA_VAULT_ID). Tasks get OP_API_TOKEN, a token for the DAG secrets vault, and cannot read these items.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from webhook.dagpath import import_dagutils

TOKEN = "OP_INFRA_TOKEN"
VAULT = "OP_INFRA_VAULT_ID"


def configured(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool((env.get("OP_CONNECT") or env.get("OP_CONNECT_HOST")) and env.get(TOKEN) and env.get(VAULT))


def settings(environ: Mapping[str, str] | None = None):
    """Connect settings for the infrastructure vault; the error names whichever variable is missing."""
    env = os.environ if environ is None else environ
    onepassword = import_dagutils("onepassword")
    missing = [name for name in (TOKEN, VAULT) if not env.get(name)]
    if missing:
        raise onepassword.OnePasswordConfigError(
            f"the infrastructure vault is not configured: set {', '.join(missing)}")
    return onepassword.Settings.from_env({
        "OP_CONNECT": env.get("OP_CONNECT") or env.get("OP_CONNECT_HOST") or "",
        "OP_API_TOKEN": env[TOKEN], "OP_VAULT_ID": env[VAULT],
        "OP_CONNECT_CLIENT_REQ_TIMEOUT": env.get("OP_CONNECT_CLIENT_REQ_TIMEOUT", ""),
    })


def get_secret(item: str, field: str) -> str:
    """One field of an infrastructure item; errors name the item and field, never a value."""
    return import_dagutils("onepassword").get_secret(item, field, settings=settings())


def set_secret(item: str, field: str, value: str) -> None:
    import_dagutils("onepassword").set_secret(item, field, value, settings=settings())
