"""Diagnostics server settings from the environment, validated once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """A setting is invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    folder: Path = Path(".state/diagnostics")


def from_env(env: dict[str, str] | None = None) -> Settings:
    """BIND_HOST, DIAGNOSTICS_PORT and DIAGNOSTICS_DIR (default $STACK_STATE_DIR/diagnostics)."""
    env = dict(os.environ if env is None else env)
    raw_port = env.get("DIAGNOSTICS_PORT", "").strip() or "8000"
    if not raw_port.isdigit() or not 1 <= int(raw_port) <= 65535:
        raise SettingsError(f"DIAGNOSTICS_PORT must be a port number between 1 and 65535, got {raw_port!r}")
    state = env.get("STACK_STATE_DIR", "").strip() or ".state"
    folder = Path(env.get("DIAGNOSTICS_DIR", "").strip() or Path(state) / "diagnostics")
    if folder.exists() and not folder.is_dir():
        raise SettingsError(f"DIAGNOSTICS_DIR must be a folder, but {folder} is a file")
    return Settings(host=env.get("BIND_HOST", "").strip() or "127.0.0.1", port=int(raw_port), folder=folder)
