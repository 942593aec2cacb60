"""Read a reference's value from the DAG secrets vault (OP_CONNECT, OP_API_TOKEN, OP_VAULT_ID) with opconnect."""

from __future__ import annotations

from bootstrapfile.spec import Reference


def field_reader(environ: dict[str, str] | None = None):
    """read(reference) -> value; each error names the item, field and vault (never a value)."""
    from opconnect import settings as op_settings
    from opconnect.secrets import get_secret

    connect = None

    def read(reference: Reference) -> str:
        nonlocal connect
        if connect is None:
            connect = op_settings.from_env(op_settings.DagVault, environ)  # SettingsError names the variable
        return get_secret(reference.item, reference.field or "conn", connect)

    return read
