"""Native stacks of their own for the fault tests (they kill its programs), with the fault DAGs."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from stacktest.deploys import StackOrigin
from stacktest.fake_smee import FakeSmee
from stacktest.gitrepo import good_dag
from stacktest.native import NativeStack, new_state_dir

FAULT_DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def fault_stack() -> NativeStack:
    with NativeStack.running({"STACK_EXTRA_DAGS_FOLDER": str(FAULT_DAGS)}) as stack:
        yield stack


@pytest.fixture(scope="module")
def fake_smee() -> FakeSmee:
    """A local smee.io channel (the real one is on the internet) for the stack's relay to listen to."""
    with FakeSmee() as server:
        yield server


@pytest.fixture(scope="module")
def gitops_fault_stack(fake_smee, tmp_path_factory) -> NativeStack:
    """A stack in GitOps mode, as production runs: Airflow reads the webhook's mirror of a local bare origin
    (`stack.origin`, a StackOrigin to push to), the smee relay listens to `fake_smee`, and the fault DAGs are
    there too."""
    state_dir = new_state_dir()
    origin = StackOrigin(state_dir / "origin.git", tmp_path_factory.mktemp("clone"))
    origin.commit({"dags/gitops_hello.py": good_dag("gitops_hello")}, "Initial DAGs (#1)")
    env = {"DAG_SOURCE": "gitops", "DEPLOY_REPO_URL": str(origin.bare), "STACK_EXTRA_DAGS_FOLDER": str(FAULT_DAGS),
           "SMEE_URL": fake_smee.channel}
    with NativeStack.running(env, state_dir) as stack:
        stack.origin = origin
        yield stack


@pytest.fixture
def hold() -> Path:
    """A file that a held DAG (held_dag.py) waits on, in /tmp where the stack's user can see it."""
    path = Path(f"/tmp/fault-hold-{uuid.uuid4().hex}")
    path.touch()
    yield path
    path.unlink(missing_ok=True)
