"""The one settings layer: files layered one way (files.py), typed settings on pydantic-settings (base.py),
one error naming the variable (errors.py)."""

from stacksettings.base import EnvSettings, Port, settings_error
from stacksettings.errors import SettingsError
from stacksettings.files import (
    PROJECT_DIR,
    SECRETS_FILE,
    compose_default,
    env_file,
    layered,
    read_env_file,
    state_dir,
    with_env_file,
)

__all__ = ["PROJECT_DIR", "SECRETS_FILE", "EnvSettings", "Port", "SettingsError", "compose_default", "env_file",
           "layered", "read_env_file", "settings_error", "state_dir", "with_env_file"]
