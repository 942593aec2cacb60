"""The strict interface, for tasks and the webhook: a value or an error naming the item, field and vault.

Every value handed out is remembered for redaction (opconnect.masking), and registered with Airflow's secrets
masker where Airflow is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

from onepasswordconnectsdk.models import Item

from opconnect import fields
from opconnect.client import connect
from opconnect.errors import SecretSpecError
from opconnect.masking import mask
from opconnect.settings import ConnectSettings


def load_dict(required_secrets: Mapping[str, Mapping[str, str]], settings: ConnectSettings) -> dict[str, str]:
    """Return {NAME: value} for {NAME: {"opitem": title, "opfield": "section.field" or ".field"}}."""
    if not isinstance(required_secrets, Mapping):
        raise SecretSpecError(f"required_secrets must be a dict, got {type(required_secrets).__name__}")
    specs = {name: fields.check_spec(name, spec) for name, spec in required_secrets.items()}
    client = connect(settings)
    return {name: mask(fields.find(client.item(title), spec, settings.vault).value or "")
            for name, (title, spec) in specs.items()}


def get_secret(item: str, field: str, settings: ConnectSettings) -> str:
    """One field's value; field is '<section>.<field>', '.<field>' or '<field>' (no section)."""
    name = f"{item}/{field}" if isinstance(item, str) and isinstance(field, str) else "get_secret"
    return load_dict({name: {"opitem": item, "opfield": field}}, settings)[name]


def get_item_by_title(title: str, settings: ConnectSettings) -> Item:
    """The whole item (SDK model); concealed field values are registered with the masker."""
    item = connect(settings).item(fields.check_title("item", title))
    for found in item.fields or []:
        if found.value and (found.type == "CONCEALED" or found.purpose == "PASSWORD"):
            mask(found.value)
    return item


def set_secret(item: str, field: str, value: str, settings: ConnectSettings) -> None:
    """Replace one existing field's value (e.g. rolling the webhook key)."""
    client = connect(settings)
    current = client.item(fields.check_title("secret", item), fresh=True)
    target = fields.find(current, fields.check_field("secret", field), settings.vault)
    client.replace_value(current, target.id, mask(value))
