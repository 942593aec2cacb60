"""The infrastructure vault: the webhook key, the deploy key and the relay's channel address.

Only the webhook, the relay and init (its first deploy) read it, with their own Connect token (OP_INFRA_TOKEN)
for their own vault (OP_INFRA_VAULT_ID). Tasks get OP_API_TOKEN, a token for the DAG secrets vault, and cannot
read these items.
"""

from __future__ import annotations

from opconnect import secrets, settings
from opconnect.client import clear_cache

__all__ = ["WEBHOOK_ITEM", "clear_cache", "configured", "get_secret", "set_secret"]

# The webhook key (field "password", during a rotation "previous") and the relay's channel (section "smee").
WEBHOOK_ITEM = "Airflow Webhook"


def configured() -> bool:
    return settings.configured(settings.InfraVault)


def get_secret(item: str, field: str) -> str:
    """One field of an infrastructure item; errors name the item and field, never a value."""
    return secrets.get_secret(item, field, settings.from_env(settings.InfraVault))


def set_secret(item: str, field: str, value: str) -> None:
    secrets.set_secret(item, field, value, settings.from_env(settings.InfraVault))
