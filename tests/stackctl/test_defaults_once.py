"""Each variable's default is written once: in compose.defaults.env (`DEFAULT_NAME=default`, which the compose
files read as `${NAME:-${DEFAULT_NAME}}`) or in one Python settings field (`Field(default, validation_alias="NAME")`,
stackctl's DEFAULTS), never in both, never twice.

A second copy is how values drifted before (issue 10). Where another program needs the value, it is given it:
the one default of compose.defaults.env, also inside a composed string (a URL, JSON, a config file) and in both
the main and the remote worker's file (docker-compose.yaml and docker-compose.worker.yaml include their services
with it); `NAME:` with no value (compose passes it on only when it is set, and the program's own default
applies), a shared field type (stacksettings.variables), or services.given (the native runner reads compose's
default). Inside the compose network ports are fixed numbers, not variables (stackctl/services.py PORTS). The
native runner's port table (stackctl.settings.PORT_DEFAULTS) is its choice of ports, set for every native program,
not a fallback of the programs.

`.env.example` (what `python3 -m stackctl.compose_env` turns into a newcomer's .env) counts as a place too: a value
set there overrides the default in every .env made from it, so it sets only the choices a newcomer makes, and
shows the others as `# NAME=` with where their default lives.

ALLOWED lists the places that cannot do better; the test fails when one of them grows, and when an entry is no
longer needed.
"""

from __future__ import annotations

import ast
import re
from collections import Counter

from stacksettings import PROJECT_DIR

COMPOSE_FILES = ("docker-compose.yaml", "docker-compose.worker.yaml", "compose.services.yaml", "compose.worker.yaml")
DEFAULTS_FILE = "compose.defaults.env"
DEFAULT_LINE = re.compile(r"^DEFAULT_([A-Za-z_][A-Za-z0-9_]*)=", re.M)
PYTHON_PACKAGES = ("stackctl", "stacksettings", "webhook", "diagnostics", "opconnect", "dashboard", "dags", "devtools")
# `${NAME:-default}` or `${NAME-default}` with a default that is not empty (`${NAME:-}` only says "optional") and
# not compose.defaults.env's (`${NAME:-${DEFAULT_NAME}}`)
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-(?!\}|\$\{DEFAULT_\1\})")
FROM_DEFAULTS = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?-\$\{DEFAULT_([A-Za-z_][A-Za-z0-9_]*)\}\}")

# stackctl's DEFAULTS also holds the native hosts (loopback), which, like its ports, are the runner's choice
NATIVE_ADDRESSES = ("_HOST", "_BIND")

# Two values, not one twice: compose's is the `dev` profile's stand-in, the program's the real service, which
# applies wherever it is unset: the remote worker (docker-compose.worker.yaml passes them unset) and a native
# production stack (stackctl/settings.py sets the stand-in only in development).
STAND_IN = "compose.defaults.env: the dev stand-in; dags/weather_checker/settings.py: the real service"
ALLOWED = {
    "NWS_BASE_URL": (2, STAND_IN),
    "CAMERA_URL_PATTERN": (2, STAND_IN),
}
ENV_EXAMPLE = ".env.example"
SET_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=.", re.M)


def env_example_values() -> list[tuple[str, str]]:
    """(variable, .env.example) for each variable it sets to a value (not `# NAME=`)."""
    return [(name, ENV_EXAMPLE) for name in SET_LINE.findall((PROJECT_DIR / ENV_EXAMPLE).read_text())]


def compose_defaults() -> list[tuple[str, str]]:
    """(variable, file) for compose.defaults.env's entries and every default written in a compose file."""
    return [(match.group(1), name) for name in COMPOSE_FILES
            for match in INTERPOLATION.finditer((PROJECT_DIR / name).read_text())] + [
        (name, DEFAULTS_FILE) for name in DEFAULT_LINE.findall((PROJECT_DIR / DEFAULTS_FILE).read_text())]


def _is_unset(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value in (None, ""))


def _reads_compose(node: ast.expr) -> bool:
    """`default_factory=lambda: compose_default("NAME")`: compose.defaults.env's default, not a copy."""
    return (isinstance(node, ast.Lambda) and isinstance(node.body, ast.Call)
            and getattr(node.body.func, "id", None) == "compose_default")


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
                    if isinstance(alias, ast.Constant) and not _is_unset(default) and not _reads_compose(default):
                        found.append((alias.value, where))
                elif (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["DEFAULTS"]
                      and isinstance(node.value, ast.Dict)):
                    found += [(key.value, where) for key in node.value.keys if isinstance(key, ast.Constant)
                              and not key.value.endswith(NATIVE_ADDRESSES)]
    return found


def all_places() -> list[tuple[str, str]]:
    places = compose_defaults() + python_defaults()
    defaulted = {name for name, _ in places}
    return places + [(name, where) for name, where in env_example_values() if name in defaulted]


def test_each_default_is_written_once():
    places = all_places()
    counts = Counter(name for name, _ in places)
    twice = {name: sorted(where for n, where in places if n == name) for name, count in counts.items()
             if count > ALLOWED.get(name, (1, ""))[0]}
    assert not twice, ("a default written twice: keep one and give the value to the others (an x-values alias, "
                       f"`NAME:` passed through, stacksettings.variables, services.given): {twice}")


def test_every_allowed_repetition_is_still_needed():
    counts = Counter(name for name, _ in all_places())
    stale = {name: counts[name] for name in ALLOWED if counts[name] < 2}
    assert not stale, f"written once now: remove them from ALLOWED: {stale}"


def test_compose_reads_each_default_of_the_defaults_file_as_its_variable_s():
    """`${NAME:-${DEFAULT_NAME}}`, never another name's default; every entry is read, and holds only defaults."""
    text = "\n".join(line for name in COMPOSE_FILES for line in (PROJECT_DIR / name).read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    read = FROM_DEFAULTS.findall(text)
    assert [(name, other) for name, other in read if name != other] == []
    assert "${DEFAULT_" not in FROM_DEFAULTS.sub("", text), "a DEFAULT_ name read other than as its variable's"
    lines = [line for line in (PROJECT_DIR / DEFAULTS_FILE).read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    written = DEFAULT_LINE.findall("\n".join(lines))
    assert len(written) == len(lines) == len(set(written)), "compose.defaults.env: one DEFAULT_NAME= a line"
    assert set(written) == {name for name, _ in read}, "an entry no compose file reads, or one it lacks"


def test_the_scan_sees_both_kinds():
    """The scan itself: it finds a compose default, a settings field's and a DEFAULTS entry."""
    assert ("AIRFLOW_UID", DEFAULTS_FILE) in compose_defaults()
    assert ("AIRFLOW__API__BASE_URL", "compose.services.yaml") in compose_defaults()  # composed from a port
    python = python_defaults()
    assert ("WEBHOOK_WORKERS", "webhook/settings.py") in python
    assert ("ENVIRONMENT", "stacksettings/variables.py") in python
    assert not [name for name, where in python if where == "stackctl/settings.py" and name.endswith("_HOST")]
    assert ("COMPOSE_PROFILES", ENV_EXAMPLE) in env_example_values()  # a choice, defaulted nowhere else
    assert ("AIRFLOW_UID", ENV_EXAMPLE) not in env_example_values()  # `# AIRFLOW_UID=`: unset


def test_the_webhook_deploys_the_branch_the_bundle_tracks_by_default():
    """The webhook's DEPLOY_BRANCH, unset, is compose.defaults.env's: the branch the DAG bundle's JSON tracks."""
    from webhook.settings import Settings

    defaults = dict(line.split("=", 1) for line in (PROJECT_DIR / DEFAULTS_FILE).read_text().splitlines()
                    if line.startswith("DEFAULT_"))
    assert Settings.model_fields["branch"].default_factory() == defaults["DEFAULT_DEPLOY_BRANCH"]
    assert ("DEPLOY_BRANCH", "webhook/settings.py") not in python_defaults()
