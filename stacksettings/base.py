"""The base of every typed settings class: pydantic-settings fields named by their variable, read from one
mapping (the process environment by default), every validation failure turned into one SettingsError.

    class Settings(EnvSettings):
        port: Port = Field(8000, validation_alias="EXAMPLE_PORT")
        token: str = Field("", validation_alias="EXAMPLE_TOKEN", repr=False)   # repr=False: never echoed

    Settings.from_env()                      # os.environ
    Settings.from_env({"EXAMPLE_PORT": "x"})  # SettingsError: EXAMPLE_PORT must be a whole number, got 'x'

An empty variable counts as unset (its default applies), as in compose's `${NAME:-default}`. A validator that
checks several fields raises SettingsError itself, naming the variable to change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

from stacksettings.errors import SettingsError

Port = Annotated[int, Field(ge=1, le=65535)]

# pydantic's error types, said as the rest of a sentence that starts with the variable's name
_SENTENCES = {
    "missing": "is not set",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "literal_error": "must be one of {expected}",
    "string_pattern_mismatch": "must match {pattern}",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must be at most {max_length} characters long",
}


class _Environ(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping it is given instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class EnvSettings(BaseSettings):
    """Frozen settings whose fields name their variable (validation_alias); see the module's docstring."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore", frozen=True,
                                      validate_by_name=True, validate_by_alias=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **others: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # from_env hands over the variables it read, so nothing reads os.environ behind it

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Read the variables (os.environ by default); `overrides` by field name win. Raises SettingsError."""
        values = _Environ(cls, os.environ if environ is None else environ)()
        return cls.validated(values, **overrides)

    @classmethod
    def validated(cls, values: Mapping[str, Any], **overrides: Any) -> Self:
        """Build from values keyed by variable or field name; a bad one raises SettingsError naming it."""
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            verb = "is not a setting" if len(unknown) == 1 else "are not settings"
            raise SettingsError(", ".join(sorted(unknown)), f"{verb} of {cls.__name__}")
        replaced = set(overrides) | {cls.model_fields[name].validation_alias for name in overrides}
        values = {**{k: v for k, v in values.items() if k not in replaced}, **overrides}  # overrides win
        try:
            return cls(**values)
        except ValidationError as error:
            raise settings_error(cls, error) from None

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed, validated again."""
        return type(self).validated(self.model_dump(), **changes)


def settings_error(cls: type[BaseSettings], error: ValidationError) -> SettingsError:
    """The first failure of a validation as a SettingsError naming its variable."""
    first = error.errors(include_url=False)[0]
    raised = first.get("ctx", {}).get("error")
    if isinstance(raised, SettingsError):
        return raised  # a validator across fields names its variable itself
    name = str(first["loc"][0]) if first["loc"] else cls.__name__
    field = next((f for key, f in cls.model_fields.items() if name in (key, f.validation_alias)), None)
    if field is not None and isinstance(field.validation_alias, str):
        name = field.validation_alias  # the variable, also when a test override by field name was bad
    if first["type"] in ("value_error", "assertion_error"):
        problem = str(first["ctx"]["error"])
    else:
        template = _SENTENCES.get(first["type"])
        ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in first.get("ctx", {}).items()}
        problem = template.format(**ctx) if template else first["msg"][:1].lower() + first["msg"][1:]
    if first["type"] != "missing" and (field is None or field.repr):
        problem += f", got {first['input']!r}"
    return SettingsError(name, problem)
