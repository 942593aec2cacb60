"""Decide whether deployed changes outside the DAG code need a stack restart (never applied live)."""

from __future__ import annotations

import os
from functools import lru_cache

from webhook.deploy import policy
from webhook.deploy.git import GitError
from webhook.deploy.mirror import Mirror
from webhook.deploy.state import Database

# Code that Airflow reads from the bundle on every parse and run; everything else is stack code.
LIVE_PREFIXES = ("dags/",)
# Files that never affect a running stack.
IGNORED_PREFIXES = ("documentation/", "tests/", ".github/", "benchmarks/")
# The deploy policy is read by each deploy's validation, so it takes effect with the commit itself.
IGNORED_FILES = ("README.md", policy.FILE_NAME)


def outside_dags(paths: list[str]) -> list[str]:
    """Changed paths that only take effect after a restart (compose, HAProxy, Dockerfile, requirements...)."""
    return sorted(
        p for p in paths
        if not p.startswith(LIVE_PREFIXES) and not p.startswith(IGNORED_PREFIXES) and p not in IGNORED_FILES
    )


def baseline(db: Database) -> str | None:
    """The commit the running stack was started from: STACK_COMMIT, else recorded at runner start."""
    return os.environ.get("STACK_COMMIT") or db.fact("baseline")


@lru_cache(maxsize=64)
def _diff(mirror_path: str, old: str, new: str) -> tuple[str, ...]:
    mirror = Mirror(mirror_path, "", "")
    return tuple(outside_dags(mirror.changed_paths(old, new)))


def status(db: Database, mirror: Mirror, deployed: str | None) -> dict:
    """{"required": bool, "paths": [...], "since": baseline} for the status page."""
    base = baseline(db)
    if not base or not deployed or base == deployed:
        return {"required": False, "paths": [], "since": base}
    try:
        paths = list(_diff(str(mirror.path), base, deployed))
    except GitError:
        # The baseline is not in the mirror (e.g. STACK_COMMIT from another clone): say so, do not guess.
        return {"required": None, "paths": [], "since": base, "error": "baseline commit not in the mirror"}
    return {"required": bool(paths), "paths": paths, "since": base}
