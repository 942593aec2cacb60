"""The typed base: a bad variable is named, with what is wrong, and a secret's value is never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field, field_validator

from stacksettings import EnvSettings, Port, SettingsError


class Example(EnvSettings):
    environment: Literal["development", "production"] = Field("development", validation_alias="ENVIRONMENT")
    port: Port = Field(8000, validation_alias="EXAMPLE_PORT")
    runner: bool = Field(True, validation_alias="EXAMPLE_RUNNER")
    timeout: float = Field(60.0, ge=1, validation_alias="EXAMPLE_TIMEOUT")
    password: str = Field("", validation_alias="EXAMPLE_PASSWORD", repr=False)
    folder: Path = Field(Path("state"), validation_alias="EXAMPLE_DIR")

    @field_validator("password")
    @classmethod
    def _long(cls, value: str) -> str:
        if value and len(value) < 16:
            raise ValueError("must be at least 16 characters long")
        return value


def test_defaults_and_empty_values_mean_unset():
    assert Example.from_env({}) == Example.from_env({"EXAMPLE_PORT": "", "ENVIRONMENT": ""})
    settings = Example.from_env({"EXAMPLE_PORT": "81", "EXAMPLE_RUNNER": "no", "UNRELATED": "x"})
    assert (settings.port, settings.runner, settings.environment) == (81, False, "development")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("EXAMPLE_PORT", "eighty", "EXAMPLE_PORT must be a whole number, got 'eighty'"),
    ("EXAMPLE_PORT", "70000", "EXAMPLE_PORT must be at most 65535, got '70000'"),
    ("EXAMPLE_TIMEOUT", "0", "EXAMPLE_TIMEOUT must be at least 1, got '0'"),
    ("EXAMPLE_RUNNER", "maybe", "EXAMPLE_RUNNER must be true or false, got 'maybe'"),
    ("ENVIRONMENT", "staging", "ENVIRONMENT must be one of 'development' or 'production', got 'staging'"),
])
def test_a_bad_value_is_named_with_the_problem(name, value, message):
    with pytest.raises(SettingsError) as caught:
        Example.from_env({name: value})
    assert str(caught.value) == message
    assert caught.value.variable == name


def test_a_secret_is_named_but_never_shown():
    with pytest.raises(SettingsError) as caught:
        Example.from_env({"EXAMPLE_PASSWORD": "short-secret"})
    assert str(caught.value) == "EXAMPLE_PASSWORD must be at least 16 characters long"
    assert "short-secret" not in repr(Example.from_env({"EXAMPLE_PASSWORD": "a-long-enough-secret"}))


def test_overrides_replace_their_variable_and_are_checked_like_it():
    assert Example.from_env({"EXAMPLE_PORT": "81"}, port=82).port == 82
    assert Example.from_env({}).replace(timeout=5).timeout == 5
    with pytest.raises(SettingsError, match="EXAMPLE_PORT must be a whole number"):
        Example.from_env({}, port="x")
    with pytest.raises(SettingsError, match="no_such_setting is not a setting of Example"):
        Example.from_env({}, no_such_setting=1)


def test_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("EXAMPLE_PORT", "8123")
    assert Example.from_env().port == 8123


def test_a_check_across_fields_names_the_variable_it_raises_for():
    from pydantic import model_validator

    class Pair(EnvSettings):
        low: int = Field(1, validation_alias="LOW")
        high: int = Field(2, validation_alias="HIGH")

        @model_validator(mode="after")
        def _ordered(self):
            if self.high < self.low:
                raise SettingsError("HIGH", f"must be at least LOW ({self.low})")
            return self

    with pytest.raises(SettingsError, match=r"^HIGH must be at least LOW \(5\)$"):
        Pair.from_env({"LOW": "5"})
