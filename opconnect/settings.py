"""Where Connect is, which token reads which vault, and how patiently to ask: the OP_* variables, read once.

Two accesses, each a settings class on the stack's one settings layer (a bad or missing variable raises
stacksettings.SettingsError naming it, never showing a token): tasks hold OP_API_TOKEN for the DAG secrets vault
(DagVault); only the webhook, the relay and init hold OP_INFRA_TOKEN for the infrastructure vault (InfraVault).
The SDK's own names (OP_CONNECT_HOST, OP_CONNECT_TOKEN, OP_VAULT) are accepted after ours.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import AliasChoices, Field, field_validator

from stacksettings import EnvSettings, SettingsError


@dataclass(frozen=True)
class ConnectSettings:
    """What the client needs: one token for one vault on one Connect server, and its patience."""

    url: str
    token: str = field(repr=False)
    vault: str
    timeout: float = 5.0
    attempts: int = 3
    backoff: float = 0.5
    cache_ttl: float = 60.0


class _Access(EnvSettings):
    url: str = Field(validation_alias=AliasChoices("OP_CONNECT", "OP_CONNECT_HOST"))
    timeout: float = Field(ConnectSettings.timeout, gt=0, validation_alias="OP_CONNECT_CLIENT_REQ_TIMEOUT")
    token: str
    vault: str

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")


class DagVault(_Access):
    """The DAG secrets vault, as tasks and the Airflow secrets backend read it."""

    token: str = Field(validation_alias=AliasChoices("OP_API_TOKEN", "OP_CONNECT_TOKEN"), repr=False)
    vault: str = Field(validation_alias=AliasChoices("OP_VAULT_ID", "OP_VAULT"))


class InfraVault(_Access):
    """The infrastructure vault (webhook key, deploy key, relay channel): never given to tasks."""

    token: str = Field(validation_alias="OP_INFRA_TOKEN", repr=False)
    vault: str = Field(validation_alias="OP_INFRA_VAULT_ID")


def _variables(access: type[_Access], name: str) -> list[str]:
    """A field's variables, the documented one first."""
    alias = access.model_fields[name].validation_alias
    return list(alias.choices) if isinstance(alias, AliasChoices) else [alias]


def variables(access: type[_Access]) -> tuple[str, str]:
    """The documented names of an access's token and vault variables (the fake Connect scopes tokens by them)."""
    return _variables(access, "token")[0], _variables(access, "vault")[0]


def from_env(access: type[_Access] = DagVault, environ: Mapping[str, str] | None = None, *,
             vault: str | None = None) -> ConnectSettings:
    """The client settings of one access (`vault` replaces its vault variable); raises SettingsError."""
    env = dict(os.environ if environ is None else environ)
    if vault:
        env[_variables(access, "vault")[0]] = vault
    missing = [names[0] for names in (_variables(access, f) for f in ("url", "token", "vault"))
               if not any(env.get(name) for name in names)]
    if missing:  # all of them at once: a new host usually lacks more than one
        raise SettingsError(", ".join(missing), "is not set" if len(missing) == 1 else "are not set")
    read = access.from_env(env)
    return ConnectSettings(url=read.url, token=read.token, vault=read.vault, timeout=read.timeout)


def configured(access: type[_Access] = DagVault, environ: Mapping[str, str] | None = None) -> bool:
    """Whether this access's variables are all set and valid."""
    try:
        from_env(access, environ)
    except SettingsError:
        return False
    return True
