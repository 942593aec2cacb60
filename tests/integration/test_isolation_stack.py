"""Task isolation on the native stack: a task holds none of the stack's credentials and cannot become admin.

As root the worker runs as the task user (stackctl/task_user.py): a task can then read none of the stack user's
files or process environments either, which the probe tries one by one.
"""

from __future__ import annotations

import os

import psutil
import pytest

from stackctl.privileges import DEFAULT_USER
from stackctl.task_user import DEFAULT_USER as DEFAULT_TASK_USER
from stacktest.isolation import check_a_task_cannot_become_admin
from stacktest.native import processes_under

pytestmark = pytest.mark.integration


def test_a_task_sees_no_stack_credential_and_cannot_mint_an_admin_token(native_stack):
    check_a_task_cannot_become_admin(native_stack, native_stack.settings["AIRFLOW__API_AUTH__JWT_SECRET"])


def the_stack_users_files(state) -> dict[str, str]:
    """What holds the stack's credentials or runs it, by label; each exists (as root we see it), so a task
    that cannot read it is kept out by its permissions."""
    paths = {
        "secrets.env": state / "secrets.env",
        "run/env/airflow-apiserver.json": state / "run" / "env" / "airflow-apiserver.json",
        "run/env (every program's environment file)": state / "run" / "env",
        "the PostgreSQL data folder": state / "postgres" / "data",
        "redis.conf": state / "redis" / "redis.conf",
        "supervisord.conf": state / "run" / "supervisord.conf",
        "supervisord's control socket": state / "run" / "supervisor.sock",
        "airflow.cfg of the stack's Airflow home": state / "airflow" / "airflow.cfg",
        "the 1Password fake's items": state / "onepassword-items.json",
        "supervisord's logs": state / "logs" / "supervisord.log",
        "the webhook's log": state / "logs" / "webhook.log",
    }
    missing = [str(path) for path in paths.values() if not path.exists()]
    assert not missing, missing
    return {label: str(path) for label, path in paths.items()}


def the_stack_users_environments(state, uid: int) -> dict[str, str]:
    """/proc/<pid>/environ of every process of the stack that runs as the stack user (supervisord and all under
    it, by parent links: a program that sets its title, the api-server say, overwrites what /proc shows of its
    environment), labelled with the program it belongs to: the api-server's (the JWT signing secret) among them."""
    supervisord = psutil.Process(int((state / "run" / "supervisord.pid").read_text()))
    processes = {p.pid: p for p in [supervisord, *supervisord.children(recursive=True), *processes_under(state)]}
    programs = {}  # pid -> the program its stackctl.launch runs
    for process in processes.values():
        try:
            command = process.cmdline()
            if command[-2:-1] == ["stackctl.launch"]:
                programs.update({child.pid: command[-1] for child in process.children(recursive=True)})
        except psutil.Error:
            continue
    found = {}
    for process in processes.values():
        try:
            if process.uids().real != uid:
                continue
            name = programs.get(process.pid) or os.path.basename(process.cmdline()[0])
        except (psutil.Error, IndexError):
            continue
        found[f"/proc/{process.pid}/environ ({name})"] = f"/proc/{process.pid}/environ"
    assert any(label.endswith("(airflow-apiserver)") for label in found), sorted(found)
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="tasks run as a user of their own only when `up` runs as root")
def test_a_task_runs_as_the_task_user_and_reads_nothing_of_the_stack_users(native_stack):
    state = native_stack.state_dir
    stack_uid = psutil.Process(int((state / "run" / "supervisord.pid").read_text())).uids().real
    paths = {**the_stack_users_files(state), **the_stack_users_environments(state, stack_uid)}
    own = {"own: its environment file": state / "tasks" / "airflow-worker.json",
           "own: the task logs": state / "logs" / "airflow", "own: the diagnostics page": state / "diagnostics"}
    paths.update({label: str(path) for label, path in own.items()})
    seen = check_a_task_cannot_become_admin(native_stack, native_stack.settings["AIRFLOW__API_AUTH__JWT_SECRET"],
                                            paths)
    assert seen["user"] == native_stack.env.get("STACK_TASK_USER", DEFAULT_TASK_USER) != DEFAULT_USER
    assert len(paths) >= 20, sorted(paths)  # the files above and the stack user's processes
