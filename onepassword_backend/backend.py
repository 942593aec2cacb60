"""Airflow secrets backend that serves connections and variables from 1Password Connect items.

Item layout (vault OP_VAULT_ID): title "<connections_prefix>/<conn_id>" with a section-less field "conn"
(Connection JSON or URI; "uri" also accepted), title "<variables_prefix>/<key>" with a field "value".
Anything else, or Connect not configured or unreachable, returns None so Airflow tries the next backend.
"""

from __future__ import annotations

import logging

from airflow.secrets import BaseSecretsBackend

from onepassword_backend.items import ItemReader, ReaderSettings

log = logging.getLogger(__name__)

TUNING = ("timeout", "cache_ttl", "miss_ttl", "pause_after_failure")


def _mask(value: str) -> None:
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # server components without the task SDK mask connections themselves
        return
    mask_secret(value)


class OnePasswordBackend(BaseSecretsBackend):
    """[secrets] backend = onepassword_backend.OnePasswordBackend; kwargs are prefixes, vault and timings."""

    def __init__(
        self,
        connections_prefix: str | None = "connections",
        variables_prefix: str | None = "variables",
        config_prefix: str | None = None,
        sep: str = "/",
        vault: str | None = None,
        **tuning: object,
    ):
        super().__init__()
        unknown = sorted(set(tuning) - set(TUNING))
        if unknown:
            raise ValueError(f"OnePasswordBackend: unknown backend_kwargs {', '.join(unknown)}; "
                             f"known: connections_prefix, variables_prefix, config_prefix, sep, vault, "
                             f"{', '.join(TUNING)}")
        numbers = {}
        for name, value in tuning.items():
            try:
                numbers[name] = float(value)  # per-key env overrides arrive as strings
            except (TypeError, ValueError):
                raise ValueError(f"OnePasswordBackend: backend_kwargs {name} must be a number of seconds, "
                                 f"got {value!r}") from None
        self.connections_prefix = connections_prefix
        self.variables_prefix = variables_prefix
        self.config_prefix = config_prefix
        self.sep = sep
        settings = ReaderSettings.from_env(vault=vault, **numbers)
        if settings is None:
            log.info("OnePasswordBackend: OP_CONNECT, OP_API_TOKEN or OP_VAULT_ID not set here; "
                     "it will return nothing")
        self.reader = ItemReader(settings) if settings else None

    def _fields(self, prefix: str | None, name: str) -> dict[str, str] | None:
        if not prefix or self.reader is None or not name:
            return None
        return self.reader.fields(self.build_path(prefix, name, self.sep))

    def get_conn_value(self, conn_id: str, team_name: str | None = None, **kwargs) -> str | None:
        """Return the "conn" (or "uri") field of item <connections_prefix>/<conn_id>."""
        fields = self._fields(self.connections_prefix, conn_id)
        if fields is None:
            return None
        value = (fields.get("conn") or fields.get("uri") or "").strip()
        if not value:
            log.warning("1Password item %r has no 'conn' or 'uri' field; ignoring it",
                        self.build_path(self.connections_prefix, conn_id, self.sep))
            return None
        _mask(value)
        return value

    def get_variable(self, key: str, team_name: str | None = None, **kwargs) -> str | None:
        """Return the "value" field of item <variables_prefix>/<key>."""
        return self._value(self.variables_prefix, key)

    def get_config(self, key: str) -> str | None:
        """Return the "value" field of item <config_prefix>/<key> (off unless config_prefix is set)."""
        return self._value(self.config_prefix, key)

    def _value(self, prefix: str | None, name: str) -> str | None:
        fields = self._fields(prefix, name)
        if fields is None or "value" not in fields:
            return None
        _mask(fields["value"])
        return fields["value"]
