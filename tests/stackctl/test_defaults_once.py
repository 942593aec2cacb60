"""Each variable's default is written once: in the compose files (`${NAME:-default}`) or in one Python settings
field (`Field(default, validation_alias="NAME")`, stackctl's DEFAULTS), never in both, never twice.

A second copy is how values drifted before (issue 10). Where another program needs the value, it is given it:
a YAML alias of the one interpolation (docker-compose.yaml's x-values), `NAME:` with no value (compose passes it
on only when it is set, and the program's own default applies), a shared field type (stacksettings.variables), or
services.given (the native runner reads compose's default). Inside the compose network ports are fixed numbers,
not variables (stackctl/services.py PORTS). The native runner's port table (stackctl.settings.PORT_DEFAULTS) is
its choice of ports, set for every native program, not a fallback of the programs.

ALLOWED lists the places Compose cannot do better; the test fails when one of them grows, and when an entry is
no longer needed.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from stacksettings import PROJECT_DIR

COMPOSE_FILES = ("docker-compose.yaml", "docker-compose.worker.yaml")
PYTHON_PACKAGES = ("stackctl", "stacksettings", "webhook", "diagnostics", "opconnect", "dashboard", "dags", "devtools")
# `${NAME:-default}` or `${NAME-default}` with a default that is not empty (`${NAME:-}` only says "optional")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-(?!\})")

# stackctl's DEFAULTS also holds the native hosts (loopback), which, like its ports, are the runner's choice
NATIVE_ADDRESSES = ("_HOST", "_BIND")

IN_A_STRING = "also inside a composed string (a URL, JSON, a config file), which Compose cannot build from an alias"
REMOTE_WORKER = ("docker-compose.worker.yaml cannot `extends` docker-compose.yaml: Compose interpolates the whole "
                 "main file, whose other services need secrets a worker host must not hold")
ALLOWED = {
    "POSTGRES_USER": (3, IN_A_STRING),  # the image's, the database URL and postgres-exporter's
    "POSTGRES_DB": (3, IN_A_STRING),
    "FLOWER_USERNAME": (3, IN_A_STRING),  # x-values, Flower's basic auth and Prometheus' (a config file)
    "PUBLIC_AIRFLOW_PORT": (2, IN_A_STRING),  # published, and the base URL's default
    "PUBLIC_MONITORING_PORT": (3, IN_A_STRING),  # published, and Prometheus' and Alertmanager's external URLs
    "DEPLOY_BRANCH": (3, IN_A_STRING + "; the DAG bundle's JSON in both files, and the webhook's"),
    "AIRFLOW_IMAGE_NAME": (2, REMOTE_WORKER),
    "AIRFLOW_PROJ_DIR": (3, REMOTE_WORKER + "; and the monitoring image's context under it"),
    "AIRFLOW_UID": (2, REMOTE_WORKER),
    "WORKER_CONCURRENCY": (2, REMOTE_WORKER),
    "PUBLIC_STATS_PORT": (2, REMOTE_WORKER),
    "PUBLIC_WORKER_API_PORT": (3, REMOTE_WORKER + "; a URL and the variable tasks read there"),
    "PUBLIC_WORKER_POSTGRES_PORT": (3, REMOTE_WORKER + "; a URL and the variable tasks read there"),
    "PUBLIC_WORKER_REDIS_PORT": (3, REMOTE_WORKER + "; a URL and the variable tasks read there"),
    # compose's is the development stand-in (the `dev` profile), the program's the real service
    "NWS_BASE_URL": (2, "development stand-in vs the real service"),
    "CAMERA_URL_PATTERN": (2, "development stand-in vs the real service"),
}


def compose_defaults() -> list[tuple[str, str]]:
    return [(match.group(1), name) for name in COMPOSE_FILES
            for match in INTERPOLATION.finditer((PROJECT_DIR / name).read_text())]


def _is_unset(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value in (None, ""))


def python_defaults() -> list[tuple[str, str]]:
    """(variable, file) for every settings field with a default, and every entry of a DEFAULTS table but the
    native addresses."""
    found = []
    for package in PYTHON_PACKAGES:
        for path in sorted((PROJECT_DIR / package).rglob("*.py")):
            where = str(path.relative_to(PROJECT_DIR))
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Field":
                    keywords = {k.arg: k.value for k in node.keywords}
                    alias = keywords.get("validation_alias")
                    default = node.args[0] if node.args else keywords.get("default", keywords.get("default_factory"))
                    if isinstance(alias, ast.Constant) and not _is_unset(default):
                        found.append((alias.value, where))
                elif (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["DEFAULTS"]
                      and isinstance(node.value, ast.Dict)):
                    found += [(key.value, where) for key in node.value.keys if isinstance(key, ast.Constant)
                              and not key.value.endswith(NATIVE_ADDRESSES)]
    return found


def test_each_default_is_written_once():
    places = compose_defaults() + python_defaults()
    counts = Counter(name for name, _ in places)
    twice = {name: sorted(where for n, where in places if n == name) for name, count in counts.items()
             if count > ALLOWED.get(name, (1, ""))[0]}
    assert not twice, ("a default written twice: keep one and give the value to the others (an x-values alias, "
                       f"`NAME:` passed through, stacksettings.variables, services.given): {twice}")


def test_every_allowed_repetition_is_still_needed():
    counts = Counter(name for name, _ in compose_defaults() + python_defaults())
    stale = {name: counts[name] for name in ALLOWED if counts[name] < 2}
    assert not stale, f"written once now: remove them from ALLOWED: {stale}"


def test_the_scan_sees_both_kinds():
    """The scan itself: it finds a compose default, a settings field's and a DEFAULTS entry."""
    assert ("AIRFLOW_UID", "docker-compose.yaml") in compose_defaults()
    python = python_defaults()
    assert ("WEBHOOK_WORKERS", "webhook/settings.py") in python
    assert ("ENVIRONMENT", "stacksettings/variables.py") in python
    assert not [name for name, where in python if where == "stackctl/settings.py" and name.endswith("_HOST")]
