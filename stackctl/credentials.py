"""The credentials the stack generates in development and production must provide. Standard library only:
`python3 -m stackctl.compose_env` runs without the virtualenv."""

from __future__ import annotations

import base64
import os
import secrets

# Generated on first run in development (stackctl/secrets_file.py) or into compose's .env
# (stackctl/compose_env.py); production must provide them all.
GENERATED_SECRETS = (
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "_AIRFLOW_WWW_USER_PASSWORD",
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "CELERY_RESULTS_PASSWORD",
    "WAREHOUSE_PASSWORD",
    "FLOWER_PASSWORD",
    "HAPROXY_STATS_PASSWORD",
    "DASHBOARD_AIRFLOW_PASSWORD",
    "WEBHOOK_KEY",
)

# Values published in tutorials, the official compose file or the seed system: never acceptable in production.
KNOWN_DEFAULTS = {"", "airflow", "admin", "password", "changeme", "secret", "flower"}


def new_value(name: str) -> str:
    """A fresh random value for the credential `name`, in the form its program expects."""
    if name == "AIRFLOW__CORE__FERNET_KEY":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    if name in ("AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
        return secrets.token_hex(32)  # 64 hex characters: Airflow warns on shorter JWT keys
    return secrets.token_urlsafe(18)
