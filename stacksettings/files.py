"""The stack's configuration files, layered one way: the process environment over `.env` over the generated
secrets file (`$STACK_STATE_DIR/secrets.env`, written by `./stack up` in development).

Only the stack's entry points read the files (`./stack`, compose reads `.env` itself); every program they start
receives its share through its environment, so a program (a task above all) never reads the others' secrets.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from stacksettings.errors import SettingsError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRETS_FILE = "secrets.env"
COMPOSE_DEFAULTS_FILE = PROJECT_DIR / "compose.defaults.env"  # each compose variable's default, once


def read_env_file(path: Path) -> dict[str, str]:
    """A `.env`-style file as python-dotenv (and compose) read it, without `${...}` expansion; {} if absent.

    A line that is not KEY=VALUE is an error naming the file and line (not the line itself: it may hold a secret).
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsError(str(path), f"cannot be read: {error.strerror}") from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise SettingsError(f"{path}:{binding.original.line}", "is not a KEY=VALUE line")
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {name: value for name, value in values.items() if value is not None}


def compose_default(name: str) -> str:
    """The default compose.defaults.env gives NAME (its `DEFAULT_NAME=` line), for a program setting whose default
    is the compose files' own: written there once (issue 10), read here where no compose service passes it."""
    values = read_env_file(COMPOSE_DEFAULTS_FILE)
    if f"DEFAULT_{name}" not in values:
        raise SettingsError(name, f"has no default in {COMPOSE_DEFAULTS_FILE}: set it")
    return values[f"DEFAULT_{name}"]


def env_file(environ: Mapping[str, str]) -> Path | None:
    """The `.env` to read: STACK_ENV_FILE, `.env` in the checkout by default, none when STACK_ENV_FILE=""."""
    named = environ.get("STACK_ENV_FILE")
    if named == "":
        return None
    return Path(named) if named else PROJECT_DIR / ".env"


def state_dir(values: Mapping[str, str]) -> Path:
    """STACK_STATE_DIR (absolute), `.state` in the checkout by default."""
    return Path(values.get("STACK_STATE_DIR") or PROJECT_DIR / ".state").resolve()


def _over_env_file(environ: Mapping[str, str]) -> dict[str, str]:
    path = env_file(environ)
    return {**(read_env_file(path) if path else {}), **{k: v for k, v in environ.items() if v is not None}}


def with_env_file(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment over `.env`, with STACK_ENV_FILE="" so nothing reads the file again (root reads a 0600
    `.env` for the stack's user, which may not)."""
    return {**_over_env_file(environ), "STACK_ENV_FILE": ""}


def layered(environ: Mapping[str, str]) -> dict[str, str]:
    """Every setting, lowest first: the generated secrets file, `.env`, the process environment.

    STACK_STATE_DIR, which says where the secrets file is, may itself come from `.env`.
    """
    values = _over_env_file(environ)
    return {**read_env_file(state_dir(values) / SECRETS_FILE), **values}
