"""Diagnostics server settings from the environment, validated once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from stacksettings import EnvSettings, Port, SettingsError
from stacksettings.variables import BindHost, StateDir


class Settings(EnvSettings):
    """BIND_HOST, DIAGNOSTICS_PORT and DIAGNOSTICS_DIR (default $STACK_STATE_DIR/diagnostics)."""

    host: BindHost
    port: Port = Field(8000, validation_alias="DIAGNOSTICS_PORT")
    state: StateDir
    folder_setting: Path | None = Field(None, validation_alias="DIAGNOSTICS_DIR")

    @property
    def folder(self) -> Path:
        return self.folder_setting or self.state / "diagnostics"

    @model_validator(mode="after")
    def _folder_is_a_folder(self) -> Settings:
        if self.folder.exists() and not self.folder.is_dir():
            raise SettingsError("DIAGNOSTICS_DIR", f"must be a folder, but {self.folder} is a file")
        return self
