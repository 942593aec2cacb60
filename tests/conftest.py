"""Fixtures shared by the whole suite; area-specific ones live in each folder's conftest.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Unit tests that import Airflow get a private, throw-away AIRFLOW_HOME (never ~/airflow) and no examples.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest

from tests.native_stack import NativeStack

INTEGRATION_DAGS = Path(__file__).parent / "integration" / "dags"


def new_state_dir() -> Path:
    """A fresh state folder in /tmp, which the stack user can reach (pytest's own temp folders are private to
    root); as root, `up` gives it to the stack user."""
    return Path(tempfile.mkdtemp(prefix="stack-test-"))


@pytest.fixture(scope="session")
def native_stack() -> NativeStack:
    """One native stack for the integration tests, started from nothing in a temporary folder."""
    state_dir = new_state_dir()
    stack = NativeStack.start(state_dir, {"STACK_EXTRA_DAGS_FOLDER": str(INTEGRATION_DAGS)})
    yield stack
    stack.stop()
    shutil.rmtree(state_dir, ignore_errors=True)


def pytest_collection_modifyitems(items):
    """The compose layer runs after the native layers (it is the slowest and needs the most set-up)."""
    items.sort(key=lambda item: item.get_closest_marker("compose") is not None)
