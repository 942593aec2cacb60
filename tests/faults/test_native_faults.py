"""Faults on the native stack, as an operator's bad day goes: a program dies mid-task, Redis or PostgreSQL
restarts under load. Every run still ends in success (a retry where the task's own process was lost), the next
run works, and nothing the dead program started is left running. Recovery times go to
documentation/reliability.md (measured with benchmarks/faults.py, not asserted here)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.faults.processes import kill, program_pid, task_process_pid, wait_gone

pytestmark = [pytest.mark.integration, pytest.mark.faults]

# Generous bounds: a liveness check (the run ends), not a performance goal.
RUN_BOUND = 300
# Measured recovery times, one JSON line per fault (documentation/reliability.md quotes them).
RECORD = Path(__file__).resolve().parents[2] / "test-artifacts" / "fault-recovery.jsonl"


def record(fault: str, since: float, tries: int) -> None:
    RECORD.parent.mkdir(exist_ok=True)
    with RECORD.open("a") as handle:
        handle.write(json.dumps({"fault": fault, "stack": "native", "seconds_to_success": round(
            time.monotonic() - since, 1), "tries": tries}) + "\n")


def outcome(stack, run_id: str, dag_id: str = "fault-slow") -> tuple[str, int]:
    state = stack.wait_run(dag_id, run_id, timeout=RUN_BOUND)
    [instance] = stack.task_instances(dag_id, run_id)
    return state, instance["try_number"]


def next_run_works(stack) -> None:
    run_id = stack.trigger_dag("fault-short")
    assert stack.wait_run("fault-short", run_id, timeout=RUN_BOUND) == "success"


@pytest.mark.parametrize("name", ["airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                                  "airflow-apiserver"])
def test_a_program_killed_mid_task_loses_nothing_and_leaves_nothing(fault_stack, name):
    run_id = fault_stack.running_task("fault-slow")
    killed, since = kill(program_pid(fault_stack.state_dir, name)), time.monotonic()
    # the task's own process was untouched: it finishes on its first try
    assert outcome(fault_stack, run_id) == ("success", 1)
    record(f"kill -9 {name}", since, 1)
    assert wait_gone(killed) == set(), "processes of the killed program outlived it"
    next_run_works(fault_stack)


def test_the_worker_killed_mid_task_gets_its_task_retried_and_leaves_nothing(fault_stack):
    """It used to leave the task `running` for 5 min or more, and its task process and a helper orphaned."""
    run_id = fault_stack.running_task("fault-slow")
    killed, since = kill(program_pid(fault_stack.state_dir, "airflow-worker")), time.monotonic()
    assert len(killed) > 2, "the worker's pool, the task's supervisor and the task itself were under it"
    assert wait_gone(killed) == set(), "processes of the killed worker outlived it"
    state, tries = outcome(fault_stack, run_id)
    assert (state, tries) == ("success", 2), "the lost try is failed by the heartbeat timeout, then retried"
    record("kill -9 airflow-worker", since, tries)
    next_run_works(fault_stack)


def test_the_task_process_killed_is_retried(fault_stack):
    run_id = fault_stack.running_task("fault-slow")
    since = time.monotonic()
    kill(task_process_pid(fault_stack.state_dir))
    assert outcome(fault_stack, run_id) == ("success", 2)
    record("kill -9 of the task's process", since, 2)


@pytest.mark.parametrize("name", ["redis", "postgres"])
def test_ten_runs_in_flight_survive_a_restart(fault_stack, name):
    run_ids = [fault_stack.trigger_dag("fault-short") for _ in range(10)]
    time.sleep(3)
    since = time.monotonic()
    restarted = fault_stack.run("restart", name, timeout=120)
    assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    states = [fault_stack.wait_run("fault-short", run_id, timeout=RUN_BOUND) for run_id in run_ids]
    assert states == ["success"] * 10
    record(f"./stack restart {name}, 10 runs in flight (time to the last success)", since, 0)
