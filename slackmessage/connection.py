"""The Slack connection without Airflow, found where Airflow would find it and read as Airflow reads it.

Airflow outside a task asks its configured [secrets] backend first, then AIRFLOW_CONN_<ID>; so does `find`,
through opconnect.lookup (the same 1Password item and fields as opconnect.backend.OnePasswordBackend). The
value is Airflow's Connection JSON or URI. Its password (webhook URL or token) is registered for redaction.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from opconnect.lookup import configured_lookup
from opconnect.masking import mask

EXTRA_KEY = "__extra__"  # Airflow's query parameter holding the whole extra as JSON in a connection URI


@dataclass(frozen=True)
class Connection:
    """The fields of an Airflow connection that the Slack hooks read."""

    conn_type: str
    host: str | None = None
    schema: str | None = None
    password: str | None = field(default=None, repr=False)
    extra: dict = field(default_factory=dict, repr=False)

    def option(self, name: str):
        """An extra field, under its name or the old prefixed one (as the provider's ConnectionExtraConfig)."""
        return self.extra.get(name, self.extra.get(f"extra__{self.conn_type}__{name}"))


def _extra(value) -> dict:
    if not value:
        return {}
    return value if isinstance(value, dict) else json.loads(value)


def from_json(value: str) -> Connection:
    data = json.loads(value)
    return Connection(conn_type=str(data.get("conn_type") or "").replace("-", "_"), host=data.get("host"),
                      schema=data.get("schema"), password=data.get("password"), extra=_extra(data.get("extra")))


def from_uri(uri: str) -> Connection:
    """As Airflow's Connection.from_uri: type://login:password@host:port/schema?extra, host may carry a scheme."""
    if uri.count("://") > 2:
        raise ValueError("invalid connection URI (more than two '://')")
    conn_type = urlsplit(uri).scheme
    with_protocol = uri.count("://") == 2
    parts = urlsplit(uri.replace(f"{conn_type}://", "" if with_protocol else "//"))
    host = unquote(parts.hostname or "") if parts.hostname else None
    if with_protocol and parts.scheme:
        host = f"{parts.scheme}://{host or ''}"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    extra = query.get(EXTRA_KEY) if EXTRA_KEY in query else query
    return Connection(conn_type=conn_type.replace("-", "_"), host=host, schema=unquote(parts.path[1:]) or None,
                      password=unquote(parts.password) if parts.password else None, extra=_extra(extra))


def parse(value: str) -> Connection:
    """A connection from Airflow's serialised form, JSON or URI (as BaseSecretsBackend.deserialize_connection)."""
    value = value.strip()
    return from_json(value) if value.startswith("{") else from_uri(value)


def find(conn_id: str) -> Connection | None:
    """The connection from the 1Password backend, then AIRFLOW_CONN_<ID>; None if neither has it."""
    lookup = configured_lookup()
    value = lookup.get_conn_value(conn_id) if lookup else None
    value = value or os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not value:
        return None
    conn = parse(value)
    if conn.password:
        mask(conn.password)
    return conn
