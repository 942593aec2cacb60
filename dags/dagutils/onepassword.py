"""Read DAG secrets from 1Password Connect inside tasks: the DAG-facing API, on the installed `opconnect`.

Call these only inside tasks, never at DAG parse time, and never return a secret from a task (return values
go to XCom, stored in the metadata database and shown in the UI). Every value handed out is masked in logs.
They read only the DAG secrets vault, with OP_API_TOKEN (see documentation/secrets.md); missing or bad OP_*
variables raise stacksettings.SettingsError naming the variable.
"""

from __future__ import annotations

from collections.abc import Mapping

from onepasswordconnectsdk.models import Item

from opconnect import secrets
from opconnect.client import clear_cache
from opconnect.errors import (
    ConnectError,
    DuplicateItemError,
    OnePasswordError,
    SecretNotFoundError,
    SecretSpecError,
)
from opconnect.settings import ConnectSettings, DagVault, from_env

__all__ = ["ConnectError", "DuplicateItemError", "OnePasswordError",
           "SecretNotFoundError", "SecretSpecError", "clear_cache", "get_item_by_title", "get_secret", "load_dict"]


def load_dict(required_secrets: Mapping[str, Mapping[str, str]], *, settings: ConnectSettings | None = None
              ) -> dict[str, str]:
    """Return {NAME: value} for {NAME: {"opitem": title, "opfield": "section.field" or ".field"}}."""
    return secrets.load_dict(required_secrets, settings or from_env(DagVault))


def get_secret(item: str, field: str, *, settings: ConnectSettings | None = None) -> str:
    """One field's value; field is '<section>.<field>', '.<field>' or '<field>' (no section)."""
    return secrets.get_secret(item, field, settings or from_env(DagVault))


def get_item_by_title(title: str, *, settings: ConnectSettings | None = None) -> Item:
    """The whole item (SDK model); concealed field values are masked in logs."""
    return secrets.get_item_by_title(title, settings or from_env(DagVault))
