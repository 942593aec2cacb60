"""A native stack of its own for the fault tests (they kill its programs), with the fault DAGs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import new_state_dir
from tests.native_stack import NativeStack

FAULT_DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def fault_stack() -> NativeStack:
    state_dir = new_state_dir()
    stack = NativeStack.start(state_dir, {"STACK_EXTRA_DAGS_FOLDER": str(FAULT_DAGS)})
    yield stack
    stack.stop()
    shutil.rmtree(state_dir, ignore_errors=True)
