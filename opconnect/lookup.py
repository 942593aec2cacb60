"""The forgiving interface, without Airflow: connection and variable values that are None instead of an error.

Item layout (the DAG secrets vault): title "<connections_prefix>/<conn_id>" with a section-less field "conn"
(Connection JSON or URI; "uri" also accepted), title "<variables_prefix>/<key>" with a field "value". Anything
else, or Connect not configured or unreachable, returns None (Airflow then tries its next backend).
opconnect.backend.OnePasswordBackend is this class as Airflow's [secrets] backend; `configured_lookup()` is the
one that backend's settings give a process that does not load Airflow (the webhook's Slack messages).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import replace

from opconnect import settings as connect_settings
from opconnect.client import connect
from opconnect.errors import DuplicateItemError, OnePasswordError, SecretNotFoundError
from opconnect.masking import mask
from stacksettings import SettingsError

log = logging.getLogger(__name__)

# backend_kwargs that tune the client, in seconds, with this backend's defaults
TUNING = {"timeout": 3.0, "cache_ttl": 300.0, "miss_ttl": 60.0, "pause_after_failure": 30.0}


def _seconds(tuning: dict[str, object]) -> dict[str, float]:
    unknown = sorted(set(tuning) - set(TUNING))
    if unknown:
        raise ValueError(f"OnePasswordBackend: unknown backend_kwargs {', '.join(unknown)}; known: "
                         f"connections_prefix, variables_prefix, config_prefix, sep, vault, {', '.join(TUNING)}")
    numbers = dict(TUNING)
    for name, value in tuning.items():
        try:
            numbers[name] = float(value)  # per-key env overrides arrive as strings
        except (TypeError, ValueError):
            raise ValueError(f"OnePasswordBackend: backend_kwargs {name} must be a number of seconds, "
                             f"got {value!r}") from None
    return numbers


class OnePasswordLookup:
    """Connections and variables from 1Password items; kwargs are prefixes, vault and timings."""

    def __init__(self, connections_prefix: str | None = "connections", variables_prefix: str | None = "variables",
                 config_prefix: str | None = None, sep: str = "/", vault: str | None = None, **tuning: object):
        super().__init__()  # Airflow's BaseSecretsBackend in OnePasswordBackend
        numbers = _seconds(tuning)
        self.connections_prefix, self.variables_prefix, self.config_prefix = (
            connections_prefix, variables_prefix, config_prefix)
        self.sep = sep
        self.miss_ttl, self.pause_after_failure = numbers["miss_ttl"], numbers["pause_after_failure"]
        self._lock = threading.Lock()
        self._misses: dict[str, float] = {}
        self._paused_until = 0.0
        try:
            base = connect_settings.from_env(vault=vault)
        except SettingsError as exc:  # not configured in this component: Airflow asks the next backend
            log.info("OnePasswordBackend: %s; it will return nothing", exc)
            self.settings = None
        else:
            self.settings = replace(base, attempts=1, timeout=numbers["timeout"], cache_ttl=numbers["cache_ttl"])

    @staticmethod
    def build_path(path_prefix: str, secret_id: str, sep: str = "/") -> str:
        """The item title, as Airflow's BaseSecretsBackend.build_path makes it."""
        return f"{path_prefix}{sep}{secret_id}"

    def _fields(self, prefix: str | None, name: str) -> dict[str, str] | None:
        """The section-less fields of item <prefix>/<name>, or None if absent, unreachable or paused."""
        if not prefix or self.settings is None or not name:
            return None
        title = self.build_path(prefix, name, self.sep)
        now = time.monotonic()
        with self._lock:
            if self._misses.get(title, 0.0) > now or now < self._paused_until:
                return None
        if '"' in title:
            return None
        try:
            item = connect(self.settings).item(title)
        except SecretNotFoundError:
            with self._lock:
                self._misses[title] = now + self.miss_ttl
            return None
        except DuplicateItemError as exc:
            log.warning("1Password: %s; ignoring them until only one is left", exc)
            with self._lock:
                self._misses[title] = now + self.miss_ttl
            return None
        except (OnePasswordError, ValueError) as exc:
            with self._lock:
                self._paused_until = now + self.pause_after_failure
            log.warning("%s; secrets backend answers None for %.0f s", exc, self.pause_after_failure)
            return None
        return {f.label: f.value or "" for f in item.fields or [] if not f.section}

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
        return mask(value)

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
        return mask(fields["value"])


# Airflow's [secrets] backend setting that names OnePasswordBackend (documentation/secrets.md configures it).
BACKEND = "opconnect.backend.OnePasswordBackend"
_configured: dict[tuple[str, str], OnePasswordLookup | None] = {}
_configured_lock = threading.Lock()


def configured_lookup() -> OnePasswordLookup | None:
    """The lookup that AIRFLOW__SECRETS__BACKEND(_KWARGS) give Airflow, built once per process; None when they
    name no backend or another one (a process without Airflow cannot ask that one)."""
    name = os.environ.get("AIRFLOW__SECRETS__BACKEND", "").strip()
    kwargs = os.environ.get("AIRFLOW__SECRETS__BACKEND_KWARGS", "").strip()
    with _configured_lock:
        if (name, kwargs) not in _configured:
            if name and name != BACKEND:
                log.warning("AIRFLOW__SECRETS__BACKEND=%s: only %s is read outside Airflow", name, BACKEND)
            _configured[name, kwargs] = OnePasswordLookup(**json.loads(kwargs or "{}")) if name == BACKEND else None
        return _configured[name, kwargs]
